//! Serialising heads and chunks exactly as given.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response};

/// A response's head as a server writes it: `HTTP/1.1`, the status code and its
/// canonical reason, then every header as `name: value` in order, each line
/// ended by `\r\n`, and the blank line. For custom
/// [`Connector`](crate::Connector)s.
#[must_use]
pub fn response_head(resp: &Response<Bytes>) -> Vec<u8> {
    response_head_bytes(resp, b"\r\n")
}

/// Serialises a response head exactly as given (status line plus headers).
pub(crate) fn response_head_bytes(resp: &Response<Bytes>, line_end: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(resp.status().as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(
        resp.status()
            .canonical_reason()
            .unwrap_or("Unknown")
            .as_bytes(),
    );
    out.extend_from_slice(line_end);
    for (name, value) in resp.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(line_end);
    }
    out.extend_from_slice(line_end);
    out
}

/// Serialises a request head for the client side.
pub(crate) fn request_head_bytes(
    method: &str,
    target: &str,
    headers: &[(HeaderName, HeaderValue)],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Encodes `body` as a single chunk followed by the last chunk.
pub(crate) fn chunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 16);
    if !body.is_empty() {
        out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}
