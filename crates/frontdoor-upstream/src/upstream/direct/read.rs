//! The response side of the direct client: the head, read with `httparse` from the
//! connection's read buffer (at most [`MAX_HEAD`] bytes and [`MAX_HEADERS`] fields,
//! as hyper's client), 1xx answers other than `101` skipped, and the body's framing
//! by RFC 9112 §6.3.

use std::{
    io,
    mem::MaybeUninit,
    ops::Range,
    task::{ready, Context, Poll},
};

use bytes::BytesMut;
use frontdoor_core::BoxError;
use http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Version};

use super::conn::Conn;
use crate::hop_by_hop;

/// The largest response head (status line, fields and the empty line).
pub(super) const MAX_HEAD: usize = 64 * 1024;
/// The most fields a response head may carry.
pub(super) const MAX_HEADERS: usize = 100;

/// A parsed response head.
#[derive(Debug)]
pub(super) struct Head {
    pub(super) status: StatusCode,
    pub(super) version: Version,
    pub(super) headers: HeaderMap,
}

/// Why no response head arrived.
#[derive(Debug)]
pub(super) enum HeadError {
    /// The bytes are not a valid response head (or too large).
    Protocol(BoxError),
    /// The socket failed.
    Io(io::Error),
    /// The upstream closed the connection first.
    Eof,
}

/// How the response body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BodyFraming {
    /// No body: an answer to `HEAD`, a `204`, a `304`, or `Content-Length: 0`.
    Empty,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding` ending in `chunked`.
    Chunked,
    /// Neither: the body runs to the end of the connection.
    Close,
}

/// Reads until a final response head is parsed. `got_bytes` is set once any byte of
/// an answer arrived.
pub(super) fn poll_head(
    cx: &mut Context<'_>,
    conn: &mut Conn,
    got_bytes: &mut bool,
) -> Poll<Result<Head, HeadError>> {
    loop {
        if !conn.read.is_empty() {
            match parse_head(&mut conn.read) {
                Err(e) => return Poll::Ready(Err(HeadError::Protocol(e))),
                Ok(Some(head))
                    if head.status.is_informational()
                        && head.status != StatusCode::SWITCHING_PROTOCOLS =>
                {
                    tracing::trace!(status = %head.status, "informational answer skipped");
                    continue;
                }
                Ok(Some(head)) => return Poll::Ready(Ok(head)),
                Ok(None) => {}
            }
        }
        match ready!(conn.poll_fill(cx, u64::MAX)) {
            Ok(0) => return Poll::Ready(Err(HeadError::Eof)),
            Ok(_) => *got_bytes = true,
            Err(e) => return Poll::Ready(Err(HeadError::Io(e))),
        }
    }
}

/// Parses the head at the start of `buf` and removes it from there; `None` while it
/// is incomplete. Field values share the buffer's memory.
fn parse_head(buf: &mut BytesMut) -> Result<Option<Head>, BoxError> {
    // Left uninitialised, as hyper leaves them: filling 100 slots costs more than
    // parsing a small head.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut res, buf, &mut slots);
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => len,
        Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => return Ok(None),
        Ok(_) => return Err("upstream response head too large".into()),
        Err(e) => return Err(e.into()),
    };
    let version = match res.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let status = StatusCode::from_u16(res.code.unwrap_or_default())?;
    let base = buf.as_ptr() as usize;
    let fields = res.headers.len();
    let ranges: Vec<_> = res
        .headers
        .iter()
        .map(|h| (offset(base, h.name.as_bytes()), offset(base, h.value)))
        .collect();
    let head = buf.split_to(len).freeze();
    let mut headers = HeaderMap::with_capacity(fields);
    for &(name, value) in &ranges {
        let name = HeaderName::from_bytes(&head[range(name)])?;
        let value = HeaderValue::from_maybe_shared(head.slice(range(value)))?;
        headers.append(name, value);
    }
    Ok(Some(Head {
        status,
        version,
        headers,
    }))
}

/// Where `part` lies in the buffer starting at address `base`: start and length.
fn offset(base: usize, part: &[u8]) -> (usize, usize) {
    ((part.as_ptr() as usize).wrapping_sub(base), part.len())
}

fn range((start, len): (usize, usize)) -> Range<usize> {
    start..start + len
}

// === impl Head ===

impl Head {
    /// The body's framing for an answer to a request (`HEAD` when `head_request`).
    ///
    /// # Errors
    ///
    /// Both `Content-Length` and `Transfer-Encoding` (ambiguous), or an invalid
    /// `Content-Length`.
    pub(super) fn framing(&self, head_request: bool) -> Result<BodyFraming, BoxError> {
        let te = self.headers.contains_key(header::TRANSFER_ENCODING);
        if te && self.headers.contains_key(header::CONTENT_LENGTH) {
            return Err("upstream response has both content-length and transfer-encoding".into());
        }
        if head_request
            || self.status.is_informational()
            || self.status == StatusCode::NO_CONTENT
            || self.status == StatusCode::NOT_MODIFIED
        {
            return Ok(BodyFraming::Empty);
        }
        if te {
            let chunked = self
                .headers
                .get_all(header::TRANSFER_ENCODING)
                .iter()
                .flat_map(hop_by_hop::tokens)
                .last()
                .is_some_and(|t| t.eq_ignore_ascii_case(b"chunked"));
            return Ok(if chunked {
                BodyFraming::Chunked
            } else {
                BodyFraming::Close
            });
        }
        match content_length(&self.headers) {
            Ok(Some(0)) => Ok(BodyFraming::Empty),
            Ok(Some(n)) => Ok(BodyFraming::Length(n)),
            Ok(None) => Ok(BodyFraming::Close),
            Err(()) => Err("invalid upstream content-length".into()),
        }
    }

    /// Whether the connection may carry another request after this answer: HTTP/1.1
    /// without `Connection: close`.
    pub(super) fn keeps_alive(&self) -> bool {
        self.version == Version::HTTP_11
            && !hop_by_hop::has_token(&self.headers, &header::CONNECTION, "close")
    }
}

/// The `Content-Length` of `headers`: `None` when absent, an error unless every
/// value (and every comma-separated element) is the same decimal number.
pub(super) fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ()> {
    let mut found = None;
    for value in headers.get_all(header::CONTENT_LENGTH) {
        let value = value.to_str().map_err(|_| ())?;
        for part in value.split(',') {
            let part = part.trim_matches([' ', '\t']);
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(());
            }
            let n: u64 = part.parse().map_err(|_| ())?;
            if found.is_some_and(|f| f != n) {
                return Err(());
            }
            found = Some(n);
        }
    }
    Ok(found)
}
