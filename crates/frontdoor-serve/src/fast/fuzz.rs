//! The fast path's head parser and body decoder as the fuzz targets drive them
//! (re-exported by [`__fuzz`](crate::__fuzz)): not part of the API.

use bytes::{Bytes, BytesMut};
use frontdoor_core::proto::framing::Refusal;
use http::{HeaderMap, Method, Uri, Version};

use super::head::{self, BodyFraming, Head, HeadLimits, Parsed};
use crate::{
    config::{DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEADER_BYTES},
    strict::scan::{
        chunked::{Chunked, Decoded},
        framing, Framing,
    },
};

/// How a request body is framed on the wire (the fast path's `BodyFraming`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    None,
    /// A `Content-Length` body of this many bytes.
    Length(u64),
    /// A chunked body.
    Chunked,
}

/// A request head the fast path serves.
#[derive(Debug)]
pub struct RequestHead {
    /// The request's method.
    pub method: Method,
    /// The request's target.
    pub uri: Uri,
    /// The request's version.
    pub version: Version,
    /// The request's headers, in order.
    pub headers: HeaderMap,
    /// How its body is framed.
    pub body: BodyKind,
    /// Whether the connection may carry another request after it.
    pub keep_alive: bool,
}

/// What the fast path's parser made of the start of a buffer.
#[derive(Debug)]
pub enum ParsedHead {
    /// A request the fast path serves; its head has left the buffer.
    Request(RequestHead),
    /// A request refused for its framing.
    Refused(Refusal),
    /// No complete head yet.
    Partial,
    /// The hyper path takes the connection over with these bytes.
    Handoff(Bytes),
}

/// Parses the head at the start of `buf` as the fast path's connection loop does,
/// with the server's default limits (`detect_h2`: whether the connection may still
/// open with the HTTP/2 preface).
pub fn parse_head(buf: &mut BytesMut, detect_h2: bool) -> ParsedHead {
    let limits = HeadLimits {
        max_headers: DEFAULT_MAX_HEADERS,
        max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        detect_h2,
    };
    match head::parse(buf, limits) {
        Head::Request(Parsed {
            req,
            framing,
            keep_alive,
        }) => {
            let (parts, ()) = req.into_parts();
            ParsedHead::Request(RequestHead {
                method: parts.method,
                uri: parts.uri,
                version: parts.version,
                headers: parts.headers,
                body: kind(framing),
                keep_alive,
            })
        }
        Head::Refused(refusal) => ParsedHead::Refused(refusal),
        Head::Partial => ParsedHead::Partial,
        Head::Handoff(bytes) => ParsedHead::Handoff(bytes),
    }
}

const fn kind(framing: BodyFraming) -> BodyKind {
    match framing {
        BodyFraming::None => BodyKind::None,
        BodyFraming::Length(n) => BodyKind::Length(n),
        BodyFraming::Chunked => BodyKind::Chunked,
    }
}

/// The body framing the wire scanner's rules give `headers` (`None`: the head is
/// refused or left to hyper's answer).
pub fn body_kind(http11: bool, headers: &[httparse::Header<'_>]) -> Option<BodyKind> {
    match framing(http11, headers) {
        Framing::None | Framing::Length(0) => Some(BodyKind::None),
        Framing::Length(n) => Some(BodyKind::Length(n)),
        Framing::Chunked => Some(BodyKind::Chunked),
        Framing::Ambiguous(_) | Framing::Invalid => None,
    }
}

/// Where a request body ends, by [`decode_body`].
#[derive(Debug, PartialEq, Eq)]
pub enum BodyEnd {
    /// The body ends after `len` bytes; `data` is its content (chunked framing
    /// removed).
    Complete {
        /// The body's length on the wire.
        len: usize,
        /// Its content.
        data: Vec<u8>,
    },
    /// The bytes end before the body does.
    Incomplete,
    /// The framing does not parse.
    Invalid,
}

/// Decodes the body framed as `body` at the start of `bytes` with the fast path's
/// decoder, in the pieces `split` cuts the bytes into (each piece's length, cycled;
/// a 0 is taken as 1), as the connection's reads deliver them.
pub fn decode_body(body: BodyKind, bytes: &[u8], split: &[usize]) -> BodyEnd {
    match body {
        BodyKind::None => BodyEnd::Complete {
            len: 0,
            data: Vec::new(),
        },
        BodyKind::Length(n) => match usize::try_from(n) {
            Ok(n) if n <= bytes.len() => BodyEnd::Complete {
                len: n,
                data: bytes[..n].to_vec(),
            },
            _ => BodyEnd::Incomplete,
        },
        BodyKind::Chunked => decode_chunked(bytes, split),
    }
}

/// Drives the chunked decoder as the request body does: over a buffer that grows
/// by one piece per read, used bytes taken off its front.
fn decode_chunked(bytes: &[u8], split: &[usize]) -> BodyEnd {
    let mut chunked = Chunked::new(DEFAULT_MAX_HEADERS);
    let mut data = Vec::new();
    // The buffer is `bytes[start..filled]`.
    let mut start = 0;
    let mut filled = 0;
    let mut pieces = split.iter().copied().cycle();
    loop {
        let buf = &bytes[start..filled];
        match chunked.decode(buf) {
            Decoded::Data { start: from, end } => {
                data.extend_from_slice(&buf[from..end]);
                start += end;
                continue;
            }
            Decoded::End { used, .. } => {
                return BodyEnd::Complete {
                    len: start + used,
                    data,
                }
            }
            Decoded::More { used, .. } => start += used,
            Decoded::Invalid => return BodyEnd::Invalid,
        }
        if filled == bytes.len() {
            return BodyEnd::Incomplete;
        }
        let piece = pieces.next().unwrap_or(usize::MAX).max(1);
        filled = filled.saturating_add(piece).min(bytes.len());
    }
}
