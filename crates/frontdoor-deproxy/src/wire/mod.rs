//! A small, lenient HTTP/1.x reader and writer over raw byte streams.
//!
//! This is what lets the harness misbehave on purpose: the fault connectors
//! write exactly the bytes they are told to, and the client side reads
//! whatever a proxy answers, including close-delimited and truncated bodies.
//! Head parsing is done by [`httparse`]; only framing is handled here.
//!
//! Never use this in a production proxy: it is deliberately tolerant.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version};
use tokio::io::{AsyncRead, AsyncReadExt};

mod body;
mod write;

use body::{content_length, decode_chunked_buffered, is_chunked, read_body, Framing};
pub use write::response_head;
pub(crate) use write::{chunk, request_head_bytes, response_head_bytes};

/// Maximum number of header fields parsed in one head.
const MAX_HEADERS: usize = 256;

/// Errors while reading a head.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The peer closed before sending any byte.
    Eof,
    /// The peer closed after a partial head.
    Truncated,
    /// The head does not parse.
    Invalid(String),
    /// The head exceeded the configured cap.
    TooLarge,
    /// An I/O error.
    Io(io::Error),
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Eof => f.write_str("connection closed before any byte"),
            Self::Truncated => f.write_str("connection closed in the middle of the head"),
            Self::Invalid(e) => write!(f, "invalid head: {e}"),
            Self::TooLarge => f.write_str("head too large"),
            Self::Io(e) => write!(f, "i/o error: {e}"),
        }
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    // Accept CRLF CRLF as well as bare LF LF (and mixes), like httparse does.
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            let rest = &buf[i + 1..];
            if rest.first() == Some(&b'\n') {
                return Some(i + 2);
            }
            if rest.starts_with(b"\r\n") {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

/// Reads until a full head is buffered; returns its length.
async fn fill_head<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
    cap: usize,
) -> Result<usize, HeadError> {
    loop {
        if let Some(end) = find_head_end(buf) {
            return Ok(end);
        }
        if buf.len() > cap {
            return Err(HeadError::TooLarge);
        }
        let n = r.read_buf(buf).await.map_err(HeadError::Io)?;
        if n == 0 {
            return Err(if buf.is_empty() {
                HeadError::Eof
            } else {
                HeadError::Truncated
            });
        }
    }
}

fn to_headers(parsed: &[httparse::Header<'_>]) -> Result<HeaderMap, HeadError> {
    let mut map = HeaderMap::with_capacity(parsed.len());
    for h in parsed {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|e| HeadError::Invalid(format!("header name {:?}: {e}", h.name)))?;
        let value = HeaderValue::from_bytes(h.value)
            .map_err(|e| HeadError::Invalid(format!("header value of {:?}: {e}", h.name)))?;
        map.append(name, value);
    }
    Ok(map)
}

fn version_of(minor: Option<u8>) -> Version {
    match minor {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    }
}

/// Reads one request (head and body) as an origin would.
///
/// Returns `Ok(None)` on a clean close before any byte.
pub(crate) async fn read_request<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
    head_cap: usize,
    body_cap: usize,
) -> Result<Option<Request<Bytes>>, HeadError> {
    let end = match fill_head(r, buf, head_cap).await {
        Ok(end) => end,
        Err(HeadError::Eof) => return Ok(None),
        Err(e) => return Err(e),
    };
    let head = buf.split_to(end).freeze();
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut storage);
    match parsed.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError::Truncated),
        Err(e) => return Err(HeadError::Invalid(e.to_string())),
    }
    let method = Method::from_bytes(parsed.method.unwrap_or("GET").as_bytes())
        .map_err(|e| HeadError::Invalid(e.to_string()))?;
    let target = parsed.path.unwrap_or("/");
    let uri: http::Uri = target
        .parse()
        .map_err(|e| HeadError::Invalid(format!("target {target:?}: {e}")))?;
    let headers = to_headers(parsed.headers)?;
    let framing = if is_chunked(&headers) {
        Framing::Chunked
    } else {
        content_length(&headers).map_or(Framing::None, Framing::Length)
    };
    let body = read_body(r, buf, framing, body_cap)
        .await
        .map_err(|e| HeadError::Invalid(format!("request body: {}", e.error)))?;
    let mut req = Request::new(body);
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.version_mut() = version_of(parsed.version);
    *req.headers_mut() = headers;
    Ok(Some(req))
}

/// The head of a response, parsed.
#[derive(Debug)]
pub(crate) struct ResponseHead {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
}

/// Parses a response head at the start of `bytes`; returns it and its length.
fn parse_response_head(bytes: &[u8]) -> Result<Option<(ResponseHead, usize)>, HeadError> {
    let Some(end) = find_head_end(bytes) else {
        return Ok(None);
    };
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut storage);
    let mut config = httparse::ParserConfig::default();
    config
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_spaces_after_header_name_in_responses(true)
        .allow_multiple_spaces_in_response_status_delimiters(true);
    match config.parse_response(&mut parsed, &bytes[..end]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError::Truncated),
        Err(e) => return Err(HeadError::Invalid(e.to_string())),
    }
    let status = StatusCode::from_u16(parsed.code.unwrap_or(0))
        .map_err(|e| HeadError::Invalid(e.to_string()))?;
    let headers = to_headers(parsed.headers)?;
    Ok(Some((
        ResponseHead {
            status,
            version: version_of(parsed.version),
            headers,
        },
        end,
    )))
}

fn response_framing(head: &ResponseHead, request_method: &Method) -> Framing {
    if request_method == Method::HEAD
        || head.status.is_informational()
        || head.status == StatusCode::NO_CONTENT
        || head.status == StatusCode::NOT_MODIFIED
    {
        Framing::None
    } else if is_chunked(&head.headers) {
        Framing::Chunked
    } else {
        content_length(&head.headers).map_or(Framing::Close, Framing::Length)
    }
}

/// Reads one response from a live stream.
pub(crate) async fn read_response<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
    request_method: &Method,
    head_cap: usize,
    body_cap: usize,
) -> Result<Result<Response<Bytes>, (Response<Bytes>, io::Error)>, HeadError> {
    let end = fill_head(r, buf, head_cap).await?;
    let (head, _) = parse_response_head(&buf[..end])?.ok_or(HeadError::Truncated)?;
    buf.advance(end);
    let framing = response_framing(&head, request_method);
    let (body, err) = match read_body(r, buf, framing, body_cap).await {
        Ok(b) => (b, None),
        Err(e) => (e.partial, Some(e.error)),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = head.status;
    *resp.version_mut() = head.version;
    *resp.headers_mut() = head.headers;
    Ok(match err {
        None => Ok(resp),
        Some(e) => Err((resp, e)),
    })
}

/// Parses every complete response found in `bytes`, in order.
///
/// Useful on the raw bytes a proxy sent back to pipelined or smuggled
/// requests. Parsing stops at the first incomplete or invalid response.
/// Responses to `HEAD` requests cannot be told apart here; they are assumed
/// not to occur.
#[must_use]
pub fn parse_responses(bytes: &[u8]) -> Vec<Response<Bytes>> {
    let mut out = Vec::new();
    let mut rest = Bytes::copy_from_slice(bytes);
    while !rest.is_empty() {
        let Ok(Some((head, end))) = parse_response_head(&rest) else {
            break;
        };
        let mut tail = BytesMut::from(&rest[end..]);
        let framing = response_framing(&head, &Method::GET);
        let body = match framing {
            Framing::None => Bytes::new(),
            Framing::Close => tail.split().freeze(),
            Framing::Length(n) => {
                let Ok(n) = usize::try_from(n) else { break };
                if tail.len() < n {
                    break;
                }
                tail.split_to(n).freeze()
            }
            Framing::Chunked => match decode_chunked_buffered(&mut tail) {
                Some(b) => b,
                None => break,
            },
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = head.status;
        *resp.version_mut() = head.version;
        *resp.headers_mut() = head.headers;
        out.push(resp);
        rest = tail.freeze();
    }
    out
}

/// Best-effort parse of raw request bytes into a request, for the record.
pub(crate) fn parse_request_lenient(bytes: &[u8]) -> Option<Request<Bytes>> {
    let end = find_head_end(bytes)?;
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut storage);
    parsed.parse(&bytes[..end]).ok()?;
    let mut req = Request::new(Bytes::copy_from_slice(&bytes[end..]));
    *req.method_mut() = Method::from_bytes(parsed.method?.as_bytes()).ok()?;
    *req.uri_mut() = parsed.path?.parse().ok()?;
    *req.version_mut() = version_of(parsed.version);
    *req.headers_mut() = to_headers(parsed.headers).ok()?;
    Some(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pipelined_responses() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 500 X\r\n";
        let all = parse_responses(raw);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].status(), 200);
        assert_eq!(all[0].body(), "ok");
        assert_eq!(all[1].status(), 404);
        assert_eq!(all[1].body(), "abc");
    }

    #[test]
    fn bare_lf_heads_parse() {
        let all = parse_responses(b"HTTP/1.1 204 No Content\nx: y\n\n");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].headers()["x"], "y");
    }
}
