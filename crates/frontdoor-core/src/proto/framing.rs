//! The request framing a proxy refuses instead of forwarding (RFC 9112 sections 3.2,
//! 6.1 and 6.3), as far as a parsed request head shows it.
//!
//! [`check_head`] is what `frontdoor::serve` (and `frontdoor::ingress`, for servers
//! of your own) applies to every request before any layer sees it:
//!
//! | request | answer |
//! |---|---|
//! | more than one `Host`, or none on HTTP/1.1 | 400 |
//! | a `Content-Length` that is not plain digits | 400 |
//! | `Content-Length` together with `Transfer-Encoding` | 400 |
//! | a `Transfer-Encoding` that does not end in `chunked`, applies it twice, or is on HTTP/1.0 | 400 |
//! | a transfer coding other than `chunked` (`gzip, chunked`) | 501 |
//!
//! Every refusal closes the connection: after a framing error the rest of the byte
//! stream cannot be trusted. Some framing is visible only in the raw bytes (hyper
//! drops a `Content-Length` sent with `Transfer-Encoding`, and the `http` crate drops
//! a `#fragment` from the target, an HTTP/1 one or an HTTP/2 `:path`);
//! `frontdoor::serve` checks those on the wire and
//! answers them with the same [`Refusal`]s ([`Refusal::CONTENT_LENGTH_WITH_TRANSFER_ENCODING`],
//! [`Refusal::FRAGMENT`]).
//!
//! What hyper's parser *repairs* rather than refuses is forwarded repaired, which RFC
//! 9112 allows a recipient that re-serialises the message: bare-LF line ends in the
//! head, identical duplicate `Content-Length` values (collapsed into one), an empty
//! chunk extension (`5;`), and whitespace around header values.
//!
//! ```
//! use frontdoor_core::proto::framing::{check_head, Refusal};
//! use http::Request;
//!
//! let ok = Request::post("/").header("host", "h").header("transfer-encoding", "chunked");
//! assert_eq!(check_head(&ok.body(())?), Ok(()));
//! let gzip = Request::post("/").header("host", "h").header("transfer-encoding", "gzip, chunked");
//! let refusal = check_head(&gzip.body(())?).unwrap_err();
//! assert_eq!(refusal.status(), 501);
//! assert_eq!(refusal, Refusal::UNSUPPORTED_TRANSFER_CODING);
//! # Ok::<(), http::Error>(())
//! ```

use http::{header, HeaderValue, Request, Response, StatusCode, Version};

use super::hop_by_hop::tokens;
use crate::{text_response, Body};

/// Why a request cannot be forwarded, and the status it is answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    status: StatusCode,
    reason: &'static str,
}

impl Refusal {
    /// More than one `Host` header.
    pub const DUPLICATE_HOST: Self = Self::bad("more than one host header");
    /// An HTTP/1.1 request without `Host`.
    pub const MISSING_HOST: Self = Self::bad("missing host header");
    /// A `Content-Length` that is not plain digits.
    pub const INVALID_CONTENT_LENGTH: Self = Self::bad("invalid content-length");
    /// `Content-Length` and `Transfer-Encoding` together (RFC 9112 section 6.3: "ought
    /// to be handled as an error"; the classic smuggling shape).
    pub const CONTENT_LENGTH_WITH_TRANSFER_ENCODING: Self =
        Self::bad("content-length with transfer-encoding");
    /// A `Transfer-Encoding` whose last coding is not `chunked`, or that applies
    /// `chunked` more than once: the body length cannot be determined.
    pub const INVALID_TRANSFER_ENCODING: Self = Self::bad("invalid transfer-encoding");
    /// A transfer coding other than `chunked` (RFC 9112 section 6.1: 501).
    pub const UNSUPPORTED_TRANSFER_CODING: Self = Self {
        status: StatusCode::NOT_IMPLEMENTED,
        reason: "unsupported transfer coding",
    };
    /// A `#fragment` in the request target: a client never sends one (RFC 9112
    /// section 3.2), and dropping it would forward another request (litmus
    /// `basic/delete_fragment`: `DELETE /coll/#frag` would delete `/coll/`).
    pub const FRAGMENT: Self = Self::bad("fragment in request target");
    /// A server that follows each message's framing on the wire could not match the
    /// request its HTTP parser produced to the bytes it saw (the two would disagree
    /// about where messages start): refused rather than forwarded.
    pub const UNVERIFIED_FRAMING: Self = Self::bad("request framing could not be verified");

    const fn bad(reason: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            reason,
        }
    }

    /// The status the request is answered with: 400, or 501 for a transfer coding
    /// frontdoor does not implement.
    #[must_use]
    pub const fn status(&self) -> StatusCode {
        self.status
    }

    /// A short lowercase reason, sent as the answer's body and logged.
    #[must_use]
    pub const fn reason(&self) -> &'static str {
        self.reason
    }

    /// The answer: [`status`](Self::status), the reason as a `text/plain` body, and
    /// `Connection: close`.
    #[must_use]
    pub fn response(&self) -> Response<Body> {
        let mut res = text_response(self.status, self.reason);
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        res
    }
}

/// Checks a parsed request head for framing a proxy must not forward. See the
/// [module docs](self) for the table.
///
/// # Errors
///
/// The first [`Refusal`] that applies.
pub fn check_head<B>(req: &Request<B>) -> Result<(), Refusal> {
    let headers = req.headers();
    let mut hosts = headers.get_all(header::HOST).iter();
    let first_host = hosts.next();
    if hosts.next().is_some() {
        return Err(Refusal::DUPLICATE_HOST);
    }
    if first_host.is_none() && req.version() == Version::HTTP_11 {
        return Err(Refusal::MISSING_HOST);
    }
    for cl in &headers.get_all(header::CONTENT_LENGTH) {
        let digits = cl.as_bytes();
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(Refusal::INVALID_CONTENT_LENGTH);
        }
    }
    if !headers.contains_key(header::TRANSFER_ENCODING) {
        return Ok(());
    }
    if headers.contains_key(header::CONTENT_LENGTH) {
        return Err(Refusal::CONTENT_LENGTH_WITH_TRANSFER_ENCODING);
    }
    if req.version() < Version::HTTP_11 {
        // HTTP/1.0 has no transfer codings (RFC 9112 section 6.1).
        return Err(Refusal::INVALID_TRANSFER_ENCODING);
    }
    transfer_codings(headers.get_all(header::TRANSFER_ENCODING).iter())
}

/// The transfer codings, in order over every `Transfer-Encoding` line: exactly one
/// `chunked`, last, and nothing else.
fn transfer_codings<'a>(lines: impl Iterator<Item = &'a HeaderValue>) -> Result<(), Refusal> {
    let mut chunked = 0usize;
    let mut last_chunked = false;
    let mut other = false;
    for coding in lines.flat_map(tokens) {
        // A coding's parameters (`gzip;q=1`) do not change its name.
        let name = coding
            .split(|b| *b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        last_chunked = name.eq_ignore_ascii_case(b"chunked");
        if last_chunked {
            chunked += 1;
        } else {
            other = true;
        }
    }
    if !last_chunked || chunked > 1 {
        Err(Refusal::INVALID_TRANSFER_ENCODING)
    } else if other {
        Err(Refusal::UNSUPPORTED_TRANSFER_CODING)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(req: http::request::Builder) -> Result<(), Refusal> {
        check_head(&req.body(()).unwrap())
    }

    #[test]
    fn framing_a_proxy_must_not_forward_is_named() {
        let get = || Request::get("/").header("host", "h");
        assert_eq!(verdict(get()), Ok(()));
        assert_eq!(verdict(get().header("content-length", "12")), Ok(()));
        assert_eq!(
            verdict(get().header("transfer-encoding", "Chunked")),
            Ok(())
        );
        assert_eq!(
            verdict(get().header("transfer-encoding", ", chunked")),
            Ok(())
        );
        assert_eq!(verdict(Request::get("/")), Err(Refusal::MISSING_HOST));
        assert_eq!(verdict(Request::get("/").version(Version::HTTP_10)), Ok(()));
        assert_eq!(
            verdict(get().header("host", "h2")),
            Err(Refusal::DUPLICATE_HOST)
        );
        for cl in ["", "+1", "1,1", " 1"] {
            assert_eq!(
                verdict(get().header("content-length", cl)),
                Err(Refusal::INVALID_CONTENT_LENGTH),
                "{cl:?}"
            );
        }
        assert_eq!(
            verdict(
                get()
                    .header("content-length", "3")
                    .header("transfer-encoding", "chunked")
            ),
            Err(Refusal::CONTENT_LENGTH_WITH_TRANSFER_ENCODING)
        );
    }

    #[test]
    fn transfer_codings_other_than_chunked_are_501_and_bad_lists_400() {
        let te = |values: &[&str]| {
            let mut req = Request::post("/").header("host", "h");
            for v in values {
                req = req.header("transfer-encoding", *v);
            }
            verdict(req).map_err(|r| r.status().as_u16())
        };
        assert_eq!(te(&["chunked"]), Ok(()));
        assert_eq!(te(&["gzip, chunked"]), Err(501));
        assert_eq!(te(&["gzip;q=1, chunked"]), Err(501));
        assert_eq!(te(&["identity", "chunked"]), Err(501));
        assert_eq!(te(&["chunked, gzip"]), Err(400));
        assert_eq!(te(&["gzip"]), Err(400));
        assert_eq!(te(&["\"chunked\""]), Err(400));
        assert_eq!(te(&["chunked, chunked"]), Err(400));
        assert_eq!(te(&["chunked", "chunked"]), Err(400));
        assert_eq!(te(&[""]), Err(400));
        let http10 = Request::post("/")
            .version(Version::HTTP_10)
            .header("transfer-encoding", "chunked");
        assert_eq!(verdict(http10), Err(Refusal::INVALID_TRANSFER_ENCODING));
    }

    #[test]
    fn refusals_close_the_connection() {
        let res = Refusal::UNSUPPORTED_TRANSFER_CODING.response();
        assert_eq!(res.status(), 501);
        assert_eq!(res.headers()["connection"], "close");
        assert_eq!(Refusal::FRAGMENT.reason(), "fragment in request target");
    }
}
