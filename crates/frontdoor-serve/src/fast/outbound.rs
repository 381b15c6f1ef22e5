//! The fast path's response writer: the head as hyper's server writes it (status
//! line, the headers in map order with lowercase names, a `date`, `connection:
//! close` when the connection ends after the answer), the body framed as hyper
//! frames it (`Content-Length` when the answer or its body's exact size says it,
//! chunked otherwise; none for `HEAD`, 1xx, 204 and 304), and trailers sent only
//! when the answer announced them in `Trailer`.

use std::{cell::RefCell, fmt::Write as _, io::Write as _, time::SystemTime};

use http::{header, response::Parts, HeaderMap, HeaderValue, StatusCode};
use http_body::SizeHint;

use crate::strict::scan::last_coding_is_chunked;

/// How the body of an answer is framed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body is written (HEAD, 1xx, 204, 304).
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked.
    Chunked,
    /// As the body comes, ended by closing the connection (an HTTP/1.0 client and
    /// a body of unknown length).
    Close,
}

/// Writes the head of `parts` into `dst`: the framing its body takes. `hint` is the
/// body's size hint; `keep_alive` false adds `connection: close` (HTTP/1.1), true
/// adds `connection: keep-alive` for an HTTP/1.0 client (`http10`), as hyper does.
pub(super) fn encode_head(
    parts: &mut Parts,
    hint: &SizeHint,
    head_request: bool,
    keep_alive: bool,
    http10: bool,
    dst: &mut Vec<u8>,
) -> Framing {
    let status = parts.status;
    dst.extend_from_slice(if http10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
    dst.extend_from_slice(status.as_str().as_bytes());
    dst.push(b' ');
    dst.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
    dst.extend_from_slice(b"\r\n");

    let headers = &mut parts.headers;
    let bodiless_status = status.is_informational() || status == StatusCode::NO_CONTENT;
    if bodiless_status {
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(header::TRANSFER_ENCODING);
    }
    if http10 {
        headers.remove(header::TRANSFER_ENCODING);
        headers.remove(header::TRAILER);
    }
    // The framing field the answer lacks, written after its own fields as hyper
    // writes it.
    let mut added = None;
    let mut framing = if bodiless_status {
        Framing::None
    } else if let Some(te) = headers.get(header::TRANSFER_ENCODING) {
        if !last_coding_is_chunked(te.as_bytes()) {
            let mut value = te.as_bytes().to_vec();
            value.extend_from_slice(b", chunked");
            if let Ok(v) = HeaderValue::from_bytes(&value) {
                headers.insert(header::TRANSFER_ENCODING, v);
            }
        }
        headers.remove(header::CONTENT_LENGTH);
        Framing::Chunked
    } else if let Some(n) = content_length(headers) {
        Framing::Length(n)
    } else if let Some(n) = hint.exact() {
        added = Some(Added::Length(n));
        Framing::Length(n)
    } else if head_request || status == StatusCode::NOT_MODIFIED {
        Framing::None
    } else if http10 {
        Framing::Close
    } else {
        added = Some(Added::Chunked);
        Framing::Chunked
    };
    if head_request || status == StatusCode::NOT_MODIFIED {
        framing = Framing::None;
    }
    let mut date = false;
    let mut connection = false;
    for (name, value) in headers.iter() {
        date |= name == header::DATE;
        connection |= name == header::CONNECTION;
        write_field(dst, name.as_str().as_bytes(), value.as_bytes());
    }
    // An HTTP/1.0 client that asked to keep the connection is told so, as hyper
    // tells it, even when a body of unknown length then ends by closing it.
    if keep_alive && !connection && http10 {
        write_field(dst, b"connection", b"keep-alive");
    }
    let keep_alive = keep_alive && framing != Framing::Close;
    if !keep_alive && !connection && !http10 {
        write_field(dst, b"connection", b"close");
    }
    match added {
        Some(Added::Length(n)) => write_field(dst, b"content-length", itoa(n).as_bytes()),
        Some(Added::Chunked) => write_field(dst, b"transfer-encoding", b"chunked"),
        None => {}
    }
    if !date {
        DATE.with(|d| write_field(dst, b"date", d.borrow_mut().now()));
    }
    dst.extend_from_slice(b"\r\n");
    framing
}

/// A framing field the answer did not carry.
enum Added {
    Length(u64),
    Chunked,
}

/// Writes one `name: value` line.
fn write_field(dst: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    dst.extend_from_slice(name);
    dst.extend_from_slice(b": ");
    dst.extend_from_slice(value);
    dst.extend_from_slice(b"\r\n");
}

/// The answer's `Content-Length` when it has exactly one valid one.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(header::CONTENT_LENGTH).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()?.parse().ok()
}

fn itoa(n: u64) -> String {
    let mut s = String::with_capacity(20);
    let _ = write!(s, "{n}");
    s
}

/// The line that starts a chunk of `len` bytes.
pub(super) fn chunk_size(len: usize, dst: &mut Vec<u8>) {
    let _ = write!(dst, "{len:x}\r\n");
}

/// The end of a chunked body: the last chunk, the trailer fields the answer
/// announced in `Trailer` (`announced`), the empty line.
pub(super) fn chunked_end(
    trailers: Option<&HeaderMap>,
    announced: &[HeaderValue],
    dst: &mut Vec<u8>,
) {
    dst.extend_from_slice(b"0\r\n");
    if let Some(trailers) = trailers {
        for (name, value) in trailers {
            let listed = announced.iter().any(|v| {
                v.as_bytes().split(|&b| b == b',').any(|n| {
                    n.trim_ascii()
                        .eq_ignore_ascii_case(name.as_str().as_bytes())
                })
            });
            if listed {
                write_field(dst, name.as_str().as_bytes(), value.as_bytes());
            }
        }
    }
    dst.extend_from_slice(b"\r\n");
}

/// The `date` value, formatted once a second per thread.
struct CachedDate {
    second: u64,
    text: [u8; 29],
}

impl CachedDate {
    fn now(&mut self) -> &[u8] {
        let now = SystemTime::now();
        let second = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if second != self.second {
            self.second = second;
            let mut text = &mut self.text[..];
            let _ = write!(text, "{}", httpdate::HttpDate::from(now));
        }
        &self.text
    }
}

thread_local! {
    static DATE: RefCell<CachedDate> = const {
        RefCell::new(CachedDate { second: 0, text: [b' '; 29] })
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Response;

    fn head(
        res: Response<()>,
        hint: SizeHint,
        head_req: bool,
        keep_alive: bool,
    ) -> (String, Framing) {
        let (mut parts, ()) = res.into_parts();
        let mut out = Vec::new();
        let framing = encode_head(&mut parts, &hint, head_req, keep_alive, false, &mut out);
        let text = String::from_utf8(out).unwrap();
        // The date changes: cut it.
        let text = text
            .lines()
            .filter(|l| !l.starts_with("date: "))
            .collect::<Vec<_>>()
            .join("|");
        (text, framing)
    }

    #[test]
    fn heads_are_framed_as_hyper_frames_them() {
        let ok = || Response::builder().header("x", "1").body(()).unwrap();
        assert_eq!(
            head(ok(), SizeHint::with_exact(13), false, true),
            (
                "HTTP/1.1 200 OK|x: 1|content-length: 13|".into(),
                Framing::Length(13)
            )
        );
        assert_eq!(
            head(ok(), SizeHint::default(), false, false),
            (
                "HTTP/1.1 200 OK|x: 1|connection: close|transfer-encoding: chunked|".into(),
                Framing::Chunked
            )
        );
        let cl = Response::builder()
            .header("content-length", "5")
            .body(())
            .unwrap();
        assert_eq!(
            head(cl, SizeHint::default(), true, true),
            ("HTTP/1.1 200 OK|content-length: 5|".into(), Framing::None)
        );
        let nc = Response::builder()
            .status(204)
            .header("content-length", "5")
            .body(())
            .unwrap();
        assert_eq!(
            head(nc, SizeHint::with_exact(0), false, true),
            ("HTTP/1.1 204 No Content|".into(), Framing::None)
        );
    }

    #[test]
    fn the_date_is_an_http_date() {
        let mut out = Vec::new();
        let (mut parts, ()) = Response::new(()).into_parts();
        encode_head(
            &mut parts,
            &SizeHint::with_exact(0),
            false,
            true,
            false,
            &mut out,
        );
        let text = String::from_utf8(out).unwrap();
        let date = text.lines().find_map(|l| l.strip_prefix("date: ")).unwrap();
        assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
    }

    #[test]
    fn chunked_ends_with_announced_trailers_only() {
        let mut t = HeaderMap::new();
        t.insert("grpc-status", HeaderValue::from_static("0"));
        t.insert("other", HeaderValue::from_static("x"));
        let mut out = Vec::new();
        chunked_end(
            Some(&t),
            &[HeaderValue::from_static("Grpc-Status")],
            &mut out,
        );
        assert_eq!(out, b"0\r\ngrpc-status: 0\r\n\r\n");
    }
}
