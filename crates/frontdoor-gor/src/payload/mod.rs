//! HTTP/1.x helpers over a message payload, the API of GoReplay's Node and Python
//! libraries with their quirks fixed: bytes throughout (binary bodies survive),
//! header names matched case-insensitively and only in the head, `Content-Length`
//! counted in bytes, cookies editable whether or not a `Cookie` header exists.
//!
//! Getters borrow from the payload; setters return a new payload.
//!
//! ```
//! use frontdoor_gor::payload;
//!
//! let req = b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\nCookie: a=1; b=2\r\n\r\n";
//! assert_eq!(payload::method(req), Some("GET"));
//! assert_eq!(payload::header_str(req, "HOST"), Some("h"));
//! assert_eq!(payload::cookie(req, "b"), Some("2"));
//! let req = payload::set_path(req, "/b?x=2");
//! let req = payload::set_body(&req, "héllo".as_bytes());
//! assert_eq!(payload::path(&req), Some("/b?x=2"));
//! assert_eq!(payload::header_str(&req, "content-length"), Some("6")); // bytes, not chars
//! ```

mod error;

use std::borrow::Cow;

use bytes::Bytes;
use frontdoor_mirror::compare::{BodyState, CapturedResponse};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

pub use self::error::PayloadError;

// === structure ===

/// The payload split at the blank line: the head (without the final `\r\n\r\n`) and
/// the body (`None` when there is no blank line).
fn split(p: &[u8]) -> (&[u8], Option<&[u8]>) {
    match p.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => (&p[..at], Some(&p[at + 4..])),
        None => (p, None),
    }
}

/// The head's lines, split on `\r\n`.
fn head_lines(head: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut rest = head;
    while let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
        lines.push(&rest[..at]);
        rest = &rest[at + 2..];
    }
    lines.push(rest);
    lines
}

/// Rebuilds a payload from a start line, header lines and an optional body.
fn assemble<'a>(
    start: &[u8],
    lines: impl IntoIterator<Item = Cow<'a, [u8]>>,
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(start.len() + body.map_or(0, <[u8]>::len) + 64);
    out.extend_from_slice(start);
    for line in lines {
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&line);
    }
    if let Some(body) = body {
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body);
    }
    out
}

/// A header line's name and value (value trimmed of spaces and tabs).
fn parse_header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    let value = &line[colon + 1..];
    let start = value
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |e| e + 1);
    Some((&line[..colon], &value[start..end.max(start)]))
}

fn name_is(line: &[u8], name: &str) -> bool {
    parse_header(line).is_some_and(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
}

// === start line ===

/// The start line (`GET /a HTTP/1.1`, `HTTP/1.1 200 OK`).
#[must_use]
pub fn start_line(p: &[u8]) -> &[u8] {
    let (head, _) = split(p);
    head_lines(head)[0]
}

fn start_token(p: &[u8], n: usize) -> Option<&str> {
    let token = start_line(p).split(|&b| b == b' ').nth(n)?;
    std::str::from_utf8(token).ok().filter(|t| !t.is_empty())
}

fn set_start_token(p: &[u8], n: usize, value: &str) -> Vec<u8> {
    let (head, body) = split(p);
    let lines = head_lines(head);
    let start: Vec<&[u8]> = lines[0].split(|&b| b == b' ').collect();
    let mut new_start = Vec::new();
    for (i, tok) in start.iter().enumerate() {
        if i > 0 {
            new_start.push(b' ');
        }
        new_start.extend_from_slice(if i == n { value.as_bytes() } else { tok });
    }
    assemble(
        &new_start,
        lines[1..].iter().map(|l| Cow::Borrowed(*l)),
        body,
    )
}

/// A request's method.
#[must_use]
pub fn method(p: &[u8]) -> Option<&str> {
    start_token(p, 0)
}

/// A request's target (path and query).
#[must_use]
pub fn path(p: &[u8]) -> Option<&str> {
    start_token(p, 1)
}

/// The request with its target replaced.
#[must_use]
pub fn set_path(p: &[u8], path: &str) -> Vec<u8> {
    set_start_token(p, 1, path)
}

/// A response's status code.
#[must_use]
pub fn status(p: &[u8]) -> Option<u16> {
    start_token(p, 1)?.parse().ok()
}

/// The response with its status code replaced (the reason phrase is kept).
#[must_use]
pub fn set_status(p: &[u8], status: u16) -> Vec<u8> {
    set_start_token(p, 1, &status.to_string())
}

// === headers ===

/// Every header of the head, in order, duplicates kept (names as written).
#[must_use]
pub fn headers(p: &[u8]) -> Vec<(&str, &[u8])> {
    let (head, _) = split(p);
    head_lines(head)[1..]
        .iter()
        .filter_map(|l| parse_header(l))
        .filter_map(|(n, v)| Some((std::str::from_utf8(n).ok()?, v)))
        .collect()
}

/// The first value of header `name` (case-insensitive; the head only).
#[must_use]
pub fn header<'a>(p: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let (head, _) = split(p);
    head_lines(head)[1..]
        .iter()
        .filter_map(|l| parse_header(l))
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v)
}

/// As [`header`], when the value is UTF-8.
#[must_use]
pub fn header_str<'a>(p: &'a [u8], name: &str) -> Option<&'a str> {
    std::str::from_utf8(header(p, name)?).ok()
}

/// Whether the payload has a head to edit: a start line, and the blank line
/// that ends the head.
#[must_use]
pub fn has_head(p: &[u8]) -> bool {
    let (head, body) = split(p);
    body.is_some() && !head_lines(head)[0].is_empty()
}

/// The payload with header `name` set to `value`: the first occurrence is replaced,
/// later ones removed; a missing header is added at the end of the head.
///
/// A payload without a head ([`has_head`]) is returned unchanged, and a line on
/// stderr (the middleware's log: stdout is GoReplay's) says so; use
/// [`try_set_header`] to handle that case yourself.
#[must_use]
pub fn set_header(p: &[u8], name: &str, value: &[u8]) -> Vec<u8> {
    try_set_header(p, name, value).unwrap_or_else(|e| {
        eprintln!("frontdoor-gor: set_header {name}: {e}; payload left unchanged");
        p.to_vec()
    })
}

/// As [`set_header`], with the payload's lack of a head an error.
///
/// # Errors
/// [`PayloadError::NoHead`] when the payload has no head ([`has_head`]).
pub fn try_set_header(p: &[u8], name: &str, value: &[u8]) -> Result<Vec<u8>, PayloadError> {
    if !has_head(p) {
        return Err(PayloadError::NoHead);
    }
    let (head, body) = split(p);
    let lines = head_lines(head);
    let mut line = Vec::with_capacity(name.len() + 2 + value.len());
    line.extend_from_slice(name.as_bytes());
    line.extend_from_slice(b": ");
    line.extend_from_slice(value);
    let mut new = Some(line);
    let mut out: Vec<Cow<'_, [u8]>> = Vec::with_capacity(lines.len());
    for l in &lines[1..] {
        if name_is(l, name) {
            if let Some(n) = new.take() {
                out.push(Cow::Owned(n));
            }
        } else {
            out.push(Cow::Borrowed(*l));
        }
    }
    out.extend(new.map(Cow::Owned));
    Ok(assemble(lines[0], out, body))
}

/// The payload without any `name` header.
#[must_use]
pub fn delete_header(p: &[u8], name: &str) -> Vec<u8> {
    let (head, body) = split(p);
    let lines = head_lines(head);
    let kept = lines[1..]
        .iter()
        .filter(|l| !name_is(l, name))
        .map(|l| Cow::Borrowed(*l));
    assemble(lines[0], kept, body)
}

// === body ===

/// The bytes after the blank line, as on the wire (empty when there is none).
#[must_use]
pub fn body(p: &[u8]) -> &[u8] {
    split(p).1.unwrap_or_default()
}

/// The payload with its body replaced: `Content-Length` set to the byte length and
/// `Transfer-Encoding` removed. A payload without a head is returned unchanged, as
/// by [`set_header`].
#[must_use]
pub fn set_body(p: &[u8], body: &[u8]) -> Vec<u8> {
    if !has_head(p) {
        return set_header(p, "Content-Length", body.len().to_string().as_bytes());
    }
    let without = delete_header(p, "transfer-encoding");
    let with_len = set_header(
        &without,
        "Content-Length",
        body.len().to_string().as_bytes(),
    );
    let (head, _) = split(&with_len);
    let mut out = Vec::with_capacity(head.len() + 4 + body.len());
    out.extend_from_slice(head);
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// The body with chunked transfer coding removed (as captured otherwise; content
/// codings such as gzip are not undone). A malformed chunked body is returned as is.
#[must_use]
pub fn decoded_body(p: &[u8]) -> Cow<'_, [u8]> {
    let raw = body(p);
    let chunked = header(p, "transfer-encoding").is_some_and(|v| {
        v.split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"))
    });
    if !chunked {
        return Cow::Borrowed(raw);
    }
    dechunk(raw).map_or(Cow::Borrowed(raw), Cow::Owned)
}

fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    loop {
        let eol = raw.windows(2).position(|w| w == b"\r\n")?;
        let size_text = raw[..eol].split(|&b| b == b';').next()?;
        let size = usize::from_str_radix(std::str::from_utf8(size_text).ok()?.trim(), 16).ok()?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size..)?.strip_prefix(b"\r\n")?;
    }
}

// === query parameters ===

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if let Some(byte) = b.get(i + 1..i + 3).and_then(hex_pair) {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_pair(pair: &[u8]) -> Option<u8> {
    if !pair.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The first value of query parameter `name` (exact name, percent- and
/// `+`-decoded).
#[must_use]
pub fn path_param(p: &[u8], name: &str) -> Option<String> {
    let (_, query) = path(p)?.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

/// The request with query parameter `name` set to `value` (both percent-encoded): the
/// first occurrence is replaced, or the parameter appended.
#[must_use]
pub fn set_path_param(p: &[u8], name: &str, value: &str) -> Vec<u8> {
    let Some(target) = path(p) else {
        return p.to_vec();
    };
    let (path_part, query) = target.split_once('?').unwrap_or((target, ""));
    let new_pair = format!("{}={}", percent_encode(name), percent_encode(value));
    let mut replaced = false;
    let mut pairs: Vec<String> = Vec::new();
    for pair in query.split('&').filter(|q| !q.is_empty()) {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        if !replaced && percent_decode(key) == name {
            pairs.push(new_pair.clone());
            replaced = true;
        } else {
            pairs.push(pair.to_owned());
        }
    }
    if !replaced {
        pairs.push(new_pair);
    }
    set_path(p, &format!("{path_part}?{}", pairs.join("&")))
}

// === cookies ===

fn cookie_pairs(p: &[u8]) -> Vec<(&str, &str)> {
    header_str(p, "cookie")
        .map(|v| {
            v.split(';')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| c.split_once('=').unwrap_or((c, "")))
                .collect()
        })
        .unwrap_or_default()
}

/// The value of cookie `name` in the `Cookie` header.
#[must_use]
pub fn cookie<'a>(p: &'a [u8], name: &str) -> Option<&'a str> {
    cookie_pairs(p)
        .into_iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The request with cookie `name` set to `value` (any old value removed; the
/// `Cookie` header is created when missing).
#[must_use]
pub fn set_cookie(p: &[u8], name: &str, value: &str) -> Vec<u8> {
    let mut pairs: Vec<String> = cookie_pairs(p)
        .into_iter()
        .filter(|(k, _)| *k != name)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pairs.push(format!("{name}={value}"));
    set_header(p, "Cookie", pairs.join("; ").as_bytes())
}

/// The request without cookie `name`; the `Cookie` header goes when it empties.
#[must_use]
pub fn delete_cookie(p: &[u8], name: &str) -> Vec<u8> {
    let pairs: Vec<String> = cookie_pairs(p)
        .into_iter()
        .filter(|(k, _)| *k != name)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if pairs.is_empty() {
        delete_header(p, "cookie")
    } else {
        set_header(p, "Cookie", pairs.join("; ").as_bytes())
    }
}

// === comparison ===

/// A response payload as the comparators of `frontdoor-mirror` see it: status,
/// headers, and the de-chunked body (marked truncated when shorter than its
/// `Content-Length`, as GoReplay's buffer caps make it). `None` when the start line
/// has no valid status.
#[must_use]
pub fn to_captured(p: &[u8]) -> Option<CapturedResponse> {
    let status = StatusCode::from_u16(status(p)?).ok()?;
    let mut map = HeaderMap::new();
    for (name, value) in headers(p) {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            map.append(n, v);
        }
    }
    let body = decoded_body(p);
    let declared = header_str(p, "content-length").and_then(|v| v.parse::<usize>().ok());
    let state = match declared {
        Some(len) if body.len() < len => BodyState::Truncated,
        _ => BodyState::Complete,
    };
    Some(CapturedResponse::new(status, map).with_body(Bytes::copy_from_slice(&body), state))
}

#[cfg(test)]
mod tests;
