//! The fast path's request-head parser: the wire scanner's rules (`strict/scan.rs`:
//! the same `httparse` configuration, leading empty lines, hyper's body-length rules
//! and the refusals only the raw bytes show), producing the `http::Request` the
//! service sees in the same pass. Whatever the fast path does not serve itself
//! (upgrades, `CONNECT`, `Expect`, the HTTP/2 preface, and every head
//! hyper would answer with an error of its own: malformed, too large) is handed to
//! the hyper path unparsed, so those answers are hyper's, as before.

use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use frontdoor_core::proto::framing::Refusal;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

use crate::strict::scan::{empty_lines, framing, Framing, Lines, DEFAULT_MAX_HEADERS};

/// hyper's longest request target (`MAX_URI_LEN`); past it hyper answers `414`.
const MAX_URI_LEN: usize = (u16::MAX - 1) as usize;

/// How a request body is framed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BodyFraming {
    /// No body (no `Content-Length` or `Transfer-Encoding`, or a length of 0).
    None,
    /// A `Content-Length` body of this many bytes.
    Length(u64),
    /// A chunked body.
    Chunked,
}

/// A parsed request head.
#[derive(Debug)]
pub(super) struct Parsed {
    pub(super) req: Request<()>,
    pub(super) framing: BodyFraming,
    /// Whether the connection may carry another request after this one.
    pub(super) keep_alive: bool,
}

/// What [`parse`] made of the start of the buffer.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "the request is the common case; boxing it would allocate per request"
)]
pub(super) enum Head {
    /// A request the fast path serves; its head has left the buffer.
    Request(Parsed),
    /// A request refused for its framing, as the wire scanner refuses it; the
    /// connection closes after the answer.
    Refused(Refusal),
    /// No complete head yet.
    Partial,
    /// The connection goes to the hyper path from here: these bytes (the head and
    /// what followed it) are its first.
    Handoff(Bytes),
}

/// The limits the hyper path applies to a head.
#[derive(Clone, Copy, Debug)]
pub(super) struct HeadLimits {
    pub(super) max_headers: usize,
    pub(super) max_header_bytes: usize,
    /// Whether a connection that may still open with the HTTP/2 preface is read.
    pub(super) detect_h2: bool,
}

/// Parses the head at the start of `buf`. See [`Head`].
pub(super) fn parse(buf: &mut BytesMut, limits: HeadLimits) -> Head {
    let skip = match empty_lines(buf) {
        Lines::Skip(n) => n,
        Lines::Partial if buf.len() <= limits.max_header_bytes => return Head::Partial,
        Lines::Partial | Lines::Invalid => return handoff(buf),
    };
    if limits.detect_h2 && buf[skip..].starts_with(b"PRI ") {
        return handoff(buf);
    }
    // hyper's array of header slots, left uninitialised as hyper leaves it (filling
    // it would cost more than the parse); a larger configured limit allocates.
    let mut stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; DEFAULT_MAX_HEADERS];
    let mut heap;
    let slots: &mut [MaybeUninit<httparse::Header<'_>>] =
        if limits.max_headers <= DEFAULT_MAX_HEADERS {
            &mut stack[..limits.max_headers]
        } else {
            heap = vec![MaybeUninit::uninit(); limits.max_headers];
            &mut heap
        };
    let mut req = httparse::Request::new(&mut []);
    let parsed = req.parse_with_uninit_headers(&buf[skip..], slots);
    let len = match parsed {
        Ok(httparse::Status::Complete(n)) if skip + n <= limits.max_header_bytes => skip + n,
        Ok(httparse::Status::Partial) if buf.len() <= limits.max_header_bytes => {
            return Head::Partial
        }
        // Too large (431), or malformed (400): hyper's answers.
        _ => return handoff(buf),
    };
    let Some(fields) = Fields::of(&req, buf.as_ptr() as usize) else {
        return handoff(buf);
    };
    if let Some(refusal) = fields.refusal {
        // What follows cannot be framed: the connection closes after the answer.
        return Head::Refused(refusal);
    }
    let head = buf.split_to(len).freeze();
    match fields.request(&head) {
        Some(parsed) => Head::Request(parsed),
        None => {
            let mut all = BytesMut::with_capacity(head.len() + buf.len());
            all.extend_from_slice(&head);
            all.extend_from_slice(&buf.split());
            Head::Handoff(all.freeze())
        }
    }
}

/// The hyper path takes over with what is in `buf`.
fn handoff(buf: &mut BytesMut) -> Head {
    Head::Handoff(buf.split().freeze())
}

/// What a parsed head says, with its target and field values as positions in the
/// buffer, read while `httparse` still borrows it.
struct Fields {
    method: Method,
    http11: bool,
    target: (usize, usize),
    headers: Vec<(HeaderName, (usize, usize))>,
    framing: BodyFraming,
    refusal: Option<Refusal>,
    close: bool,
    keep: bool,
}

impl Fields {
    /// The fields of `req`, parsed from a buffer starting at address `base`; `None`
    /// for what the hyper path serves or answers.
    fn of(req: &httparse::Request<'_, '_>, base: usize) -> Option<Self> {
        let http11 = match req.version {
            Some(1) => true,
            Some(0) => false,
            _ => return None,
        };
        let method = Method::from_bytes(req.method?.as_bytes()).ok()?;
        let target = req.path?;
        if target.len() > MAX_URI_LEN {
            return None;
        }
        let mut fields = Self {
            method,
            http11,
            target: span(base, target.as_bytes()),
            headers: Vec::new(),
            framing: BodyFraming::None,
            refusal: None,
            close: false,
            keep: false,
        };
        if target.as_bytes().contains(&b'#') {
            fields.refusal = Some(Refusal::FRAGMENT);
            return Some(fields);
        }
        fields.framing = match framing(http11, req.headers) {
            Framing::None | Framing::Length(0) => BodyFraming::None,
            Framing::Length(n) => BodyFraming::Length(n),
            Framing::Chunked => BodyFraming::Chunked,
            Framing::Ambiguous(_) => {
                fields.refusal = Some(Refusal::CONTENT_LENGTH_WITH_TRANSFER_ENCODING);
                return Some(fields);
            }
            Framing::Invalid => return None,
        };
        if fields.method == Method::CONNECT {
            return None;
        }
        fields.headers.reserve_exact(req.headers.len());
        for h in req.headers.iter() {
            let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
            if name == header::UPGRADE || name == header::EXPECT {
                return None;
            }
            if name == header::CONNECTION {
                fields.close |= contains_token(h.value, b"close");
                fields.keep |= contains_token(h.value, b"keep-alive");
            }
            fields.headers.push((name, span(base, h.value)));
        }
        Some(fields)
    }

    /// The request, its target and field values sharing `head`'s memory; `None`
    /// when one does not convert (hyper answers it).
    fn request(self, head: &Bytes) -> Option<Parsed> {
        let uri = Uri::from_maybe_shared(head.slice(self.target.0..self.target.1)).ok()?;
        let mut headers = HeaderMap::with_capacity(self.headers.len());
        for (name, (from, to)) in self.headers {
            let value = HeaderValue::from_maybe_shared(head.slice(from..to)).ok()?;
            headers.append(name, value);
        }
        let mut out = Request::new(());
        *out.method_mut() = self.method;
        *out.uri_mut() = uri;
        *out.version_mut() = if self.http11 {
            Version::HTTP_11
        } else {
            Version::HTTP_10
        };
        *out.headers_mut() = headers;
        // HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked.
        Some(Parsed {
            req: out,
            framing: self.framing,
            keep_alive: !self.close && (self.http11 || self.keep),
        })
    }
}

/// Where `part` (a slice of the buffer at address `base`) lies in it.
fn span(base: usize, part: &[u8]) -> (usize, usize) {
    let from = (part.as_ptr() as usize).saturating_sub(base);
    (from, from + part.len())
}

/// Whether a `Connection` value lists `token`.
fn contains_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits {
        max_headers: 100,
        max_header_bytes: 8192,
        detect_h2: true,
    };

    fn run(bytes: &[u8]) -> (Head, BytesMut) {
        let mut buf = BytesMut::from(bytes);
        let head = parse(&mut buf, LIMITS);
        (head, buf)
    }

    #[test]
    fn a_request_is_parsed_and_leaves_the_buffer() {
        let (head, rest) = run(
            b"\r\nPOST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nX: 1\r\nx: 2\r\n\r\nabcGET",
        );
        let Head::Request(p) = head else {
            panic!("{head:?}")
        };
        assert_eq!(p.req.method(), Method::POST);
        assert_eq!(p.req.uri(), "/a?b");
        assert_eq!(p.req.headers()["host"], "x");
        let xs: Vec<_> = p.req.headers().get_all("x").iter().collect();
        assert_eq!(xs, ["1", "2"]);
        assert_eq!(p.framing, BodyFraming::Length(3));
        assert!(p.keep_alive);
        assert_eq!(&rest[..], b"abcGET");
    }

    #[test]
    fn framing_and_keep_alive() {
        let req = |h: &str| {
            let (head, _) = run(format!("GET / HTTP/1.1\r\nHost: x\r\n{h}\r\n").as_bytes());
            match head {
                Head::Request(p) => Some((p.framing, p.keep_alive)),
                _ => None,
            }
        };
        assert_eq!(req(""), Some((BodyFraming::None, true)));
        assert_eq!(
            req("Content-Length: 0\r\n"),
            Some((BodyFraming::None, true))
        );
        assert_eq!(
            req("Transfer-Encoding: chunked\r\n"),
            Some((BodyFraming::Chunked, true))
        );
        assert_eq!(
            req("Connection: keep-alive, Close\r\n"),
            Some((BodyFraming::None, false))
        );
        // hyper's own answers: handed over.
        assert_eq!(req("Content-Length: 1x\r\n"), None);
        assert_eq!(req("Transfer-Encoding: gzip\r\n"), None);
        assert_eq!(req("Upgrade: websocket\r\n"), None);
        assert_eq!(req("Expect: 100-continue\r\n"), None);
        let http10 = |h: &str| match run(format!("GET / HTTP/1.0\r\n{h}\r\n").as_bytes()).0 {
            Head::Request(p) => Some((p.req.version(), p.keep_alive)),
            _ => None,
        };
        assert_eq!(http10(""), Some((Version::HTTP_10, false)));
        assert_eq!(
            http10("Connection: Keep-Alive\r\n"),
            Some((Version::HTTP_10, true))
        );
    }

    #[test]
    fn refusals_match_the_wire_scanner() {
        let (head, _) = run(b"GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(matches!(head, Head::Refused(r) if r == Refusal::FRAGMENT));
        let (head, _) =
            run(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(
            matches!(head, Head::Refused(r) if r == Refusal::CONTENT_LENGTH_WITH_TRANSFER_ENCODING)
        );
    }

    #[test]
    fn what_hyper_answers_is_handed_over_whole() {
        for raw in [
            &b"GET / HTTP/1.2\r\n\r\n"[..],
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\nrest",
            b"G@T / HTTP/1.1\r\n\r\n",
            b"\rX",
        ] {
            let (head, rest) = run(raw);
            let Head::Handoff(bytes) = head else {
                panic!("{raw:?}: {head:?}")
            };
            assert_eq!(&bytes[..], raw);
            assert!(rest.is_empty());
        }
        let (head, _) = run(b"GET / HTTP/1.1\r\nHost: x\r\n");
        assert!(matches!(head, Head::Partial));
        let big = vec![b'a'; 9000];
        let (head, _) = run(&big);
        assert!(matches!(head, Head::Handoff(b) if b.len() == 9000));
    }
}
