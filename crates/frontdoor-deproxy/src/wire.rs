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

/// Maximum number of header fields parsed in one head.
const MAX_HEADERS: usize = 256;

/// How the body of a message is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body at all.
    None,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Read until the peer closes (responses only).
    Close,
}

/// A body that stopped before its framing said it was complete.
#[derive(Debug)]
pub(crate) struct BodyError {
    /// What was read before the failure.
    pub(crate) partial: Bytes,
    /// Why it stopped.
    pub(crate) error: io::Error,
}

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

/// Whether the `Transfer-Encoding` header ends in `chunked`.
pub(crate) fn is_chunked(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
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

fn decode_chunked_buffered(buf: &mut BytesMut) -> Option<Bytes> {
    let mut body = BytesMut::new();
    loop {
        let Ok(httparse::Status::Complete((used, size))) = httparse::parse_chunk_size(buf) else {
            return None;
        };
        let size = usize::try_from(size).ok()?;
        if size == 0 {
            buf.advance(used);
            // trailers up to the empty line
            loop {
                let pos = buf.iter().position(|&b| b == b'\n')?;
                let line = buf.split_to(pos + 1);
                if line.len() <= 2 {
                    return Some(body.freeze());
                }
            }
        }
        if buf.len() < used + size {
            return None;
        }
        buf.advance(used);
        body.extend_from_slice(&buf.split_to(size));
        skip_line_end(buf)?;
    }
}

fn skip_line_end(buf: &mut BytesMut) -> Option<()> {
    if buf.starts_with(b"\r\n") {
        buf.advance(2);
    } else if buf.starts_with(b"\n") {
        buf.advance(1);
    } else {
        return None;
    }
    Some(())
}

async fn more<R: AsyncRead + Unpin>(r: &mut R, buf: &mut BytesMut) -> io::Result<()> {
    let n = r.read_buf(buf).await?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before the end of the body",
        ));
    }
    Ok(())
}

fn too_large() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "body exceeds the configured cap",
    )
}

/// Reads a body with the given framing; on failure returns what was read.
pub(crate) async fn read_body<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
    framing: Framing,
    cap: usize,
) -> Result<Bytes, BodyError> {
    let mut body = BytesMut::new();
    let result = read_body_into(r, buf, framing, cap, &mut body).await;
    match result {
        Ok(()) => Ok(body.freeze()),
        Err(error) => Err(BodyError {
            partial: body.freeze(),
            error,
        }),
    }
}

async fn read_body_into<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
    framing: Framing,
    cap: usize,
    body: &mut BytesMut,
) -> io::Result<()> {
    match framing {
        Framing::None => Ok(()),
        Framing::Length(n) => {
            let n = usize::try_from(n).map_err(|_| too_large())?;
            if n > cap {
                return Err(too_large());
            }
            while body.len() < n {
                if buf.is_empty() {
                    more(r, buf).await?;
                }
                let take = (n - body.len()).min(buf.len());
                body.extend_from_slice(&buf.split_to(take));
            }
            Ok(())
        }
        Framing::Close => loop {
            body.extend_from_slice(&buf.split());
            if body.len() > cap {
                return Err(too_large());
            }
            if r.read_buf(buf).await? == 0 {
                return Ok(());
            }
        },
        Framing::Chunked => loop {
            let (used, size) = loop {
                match httparse::parse_chunk_size(buf) {
                    Ok(httparse::Status::Complete(x)) => break x,
                    Ok(httparse::Status::Partial) => more(r, buf).await?,
                    Err(_) => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "invalid chunk size line",
                        ))
                    }
                }
            };
            buf.advance(used);
            let size = usize::try_from(size).map_err(|_| too_large())?;
            if size == 0 {
                loop {
                    let pos = loop {
                        if let Some(p) = buf.iter().position(|&b| b == b'\n') {
                            break p;
                        }
                        more(r, buf).await?;
                    };
                    let line = buf.split_to(pos + 1);
                    if line.len() <= 2 {
                        return Ok(());
                    }
                }
            }
            if body.len() + size > cap {
                return Err(too_large());
            }
            let mut left = size;
            while left > 0 {
                if buf.is_empty() {
                    more(r, buf).await?;
                }
                let take = left.min(buf.len());
                body.extend_from_slice(&buf.split_to(take));
                left -= take;
            }
            while buf.len() < 2 && !buf.starts_with(b"\n") {
                more(r, buf).await?;
            }
            if skip_line_end(buf).is_none() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "chunk data not followed by a line end",
                ));
            }
        },
    }
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

    #[tokio::test]
    async fn chunked_body_with_extensions_and_trailers() {
        let mut r: &[u8] = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\nrest";
        let mut buf = BytesMut::new();
        let body = read_body(&mut r, &mut buf, Framing::Chunked, 1024)
            .await
            .unwrap();
        assert_eq!(body, "Wikipedia");
        assert_eq!(&buf[..], b"rest");
    }

    #[tokio::test]
    async fn truncated_length_body_keeps_partial() {
        let mut r: &[u8] = b"abc";
        let mut buf = BytesMut::new();
        let err = read_body(&mut r, &mut buf, Framing::Length(10), 1024)
            .await
            .unwrap_err();
        assert_eq!(err.partial, "abc");
        assert_eq!(err.error.kind(), io::ErrorKind::UnexpectedEof);
    }
}
