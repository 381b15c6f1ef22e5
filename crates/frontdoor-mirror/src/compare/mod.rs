//! Comparators of an original response and its replay: status, selected headers, body
//! bytes, JSON-equal bodies.
//!
//! They work on [`CapturedResponse`], a transport-neutral snapshot, so the tower layer
//! and the GoReplay middleware (`frontdoor-gor`) run the very same code.
//!
//! The body comparators decode a side's `Content-Encoding` (gzip, deflate, br, zstd)
//! first, so an answer gzipped by one side and sent as identity (or br) by the other
//! compares equal when the content is; a coding they do not know is compared as
//! captured ([`compare_all_within`]).
//!
//! ```
//! use bytes::Bytes;
//! use frontdoor_mirror::compare::{compare_all, BodyState, CapturedResponse, Comparator, DiffKind};
//! use http::{HeaderMap, StatusCode};
//!
//! let json = |s: &'static str| {
//!     CapturedResponse::new(StatusCode::OK, HeaderMap::new())
//!         .with_body(Bytes::from_static(s.as_bytes()), BodyState::Complete)
//! };
//! let comparators: Vec<Comparator> = vec!["status".parse()?, "json".parse()?];
//! // Key order and whitespace do not matter to the JSON comparator.
//! assert!(compare_all(&comparators, &json(r#"{"a":1,"b":[2]}"#), &json(r#"{ "b":[2], "a":1 }"#)).is_empty());
//! let diffs = compare_all(&comparators, &json(r#"{"a":1}"#), &json(r#"{"a":2}"#));
//! assert_eq!(diffs[0].kind(), DiffKind::Json);
//! assert_eq!(diffs[0].to_string(), "replay body differs from response body as json at $.a");
//! # Ok::<(), frontdoor_mirror::compare::ParseComparatorError>(())
//! ```

mod decode;

use std::{fmt, str::FromStr, sync::Arc};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::Value;

// === CapturedResponse ===

/// How much of a response body a [`CapturedResponse`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodyState {
    /// The body was not captured (only the head was).
    NotCaptured,
    /// The whole body.
    Complete,
    /// The first bytes, up to the capture cap; the rest was not kept.
    Truncated,
    /// The stream failed or was dropped before its end; the bytes seen so far.
    Incomplete,
}

/// One side's response as the comparators see it: status, headers and (possibly)
/// the body. See the [module docs](self).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CapturedResponse {
    /// The status code.
    pub status: StatusCode,
    /// The header fields.
    pub headers: HeaderMap,
    /// The captured body bytes (see [`CapturedResponse::body_state`]).
    pub body: Bytes,
    /// How much of the body [`CapturedResponse::body`] holds.
    pub body_state: BodyState,
}

impl CapturedResponse {
    /// A response head without a captured body.
    #[must_use]
    pub fn new(status: StatusCode, headers: HeaderMap) -> Self {
        Self {
            status,
            headers,
            body: Bytes::new(),
            body_state: BodyState::NotCaptured,
        }
    }

    /// Sets the captured body and how complete it is.
    #[must_use]
    pub fn with_body(mut self, body: Bytes, state: BodyState) -> Self {
        self.body = body;
        self.body_state = state;
        self
    }
}

// === Comparator ===

/// A built-in comparison of an original response with its replay.
///
/// Parsed from configuration text with [`FromStr`]: `status`, `body`, `json`, or
/// `headers:name1,name2` (names are case-insensitive, as header names are).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Comparator {
    /// The status codes are equal.
    Status,
    /// Every value of each named header is equal, in order (absent equals absent).
    Headers(Arc<[HeaderName]>),
    /// The body bytes are equal. Bodies not captured on both sides are not compared;
    /// when a side is truncated or incomplete, only the common prefix is compared.
    /// A side with a `Content-Encoding` of gzip, deflate, br or zstd is decoded first
    /// (see [`compare_all_within`]), so the same content in two codings is equal.
    Body,
    /// Both bodies parse as JSON and the values are equal (object key order and
    /// whitespace ignored; `1` and `1.0` differ, as in `serde_json`). Compared only
    /// when both bodies are complete; decoded first, as for [`Comparator::Body`].
    Json,
}

impl Comparator {
    /// [`Comparator::Headers`] over `names`.
    pub fn headers(names: impl IntoIterator<Item = HeaderName>) -> Self {
        Self::Headers(names.into_iter().collect())
    }

    /// Whether this comparator looks at bodies (so bodies must be captured).
    #[must_use]
    pub const fn needs_body(&self) -> bool {
        matches!(self, Self::Body | Self::Json)
    }

    /// Compares `original` with `replay`, pushing what differs onto `out`; a body
    /// decodes to at most [`DEFAULT_DECODED_BODY`] bytes.
    pub fn compare(
        &self,
        original: &CapturedResponse,
        replay: &CapturedResponse,
        out: &mut Vec<Diff>,
    ) {
        self.compare_within(original, replay, DEFAULT_DECODED_BODY, out);
    }

    /// [`Comparator::compare`], a body decoding to at most `limit` bytes (past it,
    /// only that prefix is compared).
    pub fn compare_within(
        &self,
        original: &CapturedResponse,
        replay: &CapturedResponse,
        limit: usize,
        out: &mut Vec<Diff>,
    ) {
        let content = |side| decode::content(side, limit);
        match self {
            Self::Status => {
                if original.status != replay.status {
                    out.push(Diff::Status {
                        original: original.status,
                        replay: replay.status,
                    });
                }
            }
            Self::Headers(names) => compare_headers(names, original, replay, out),
            Self::Body => out.extend(compare_body(&content(original), &content(replay))),
            Self::Json => out.extend(compare_json(&content(original), &content(replay))),
        }
    }
}

/// What a body decodes to at most in [`compare_all`] and [`Comparator::compare`]:
/// 256 KiB, the mirror's default capture cap.
pub const DEFAULT_DECODED_BODY: usize = 256 * 1024;

/// Runs every comparator in order and returns all differences found; a body decodes
/// to at most [`DEFAULT_DECODED_BODY`] bytes.
#[must_use]
pub fn compare_all(
    comparators: &[Comparator],
    original: &CapturedResponse,
    replay: &CapturedResponse,
) -> Vec<Diff> {
    compare_all_within(comparators, original, replay, DEFAULT_DECODED_BODY)
}

/// Runs every comparator in order and returns all differences found. The body
/// comparators first decode a side whose `Content-Encoding` is gzip (or `x-gzip`),
/// deflate, br or zstd, to at most `limit` bytes (the mirror passes its capture cap;
/// past it a side counts as truncated, so only the common prefix is compared). A side
/// in another coding, in several codings, or that does not decode is compared as
/// captured; a truncated or incomplete side decodes as far as it goes. [`Diff::Body`]
/// offsets and lengths are then those of the decoded bodies.
#[must_use]
pub fn compare_all_within(
    comparators: &[Comparator],
    original: &CapturedResponse,
    replay: &CapturedResponse,
    limit: usize,
) -> Vec<Diff> {
    let mut out = Vec::new();
    for c in comparators {
        c.compare_within(original, replay, limit, &mut out);
    }
    out
}

fn compare_headers(
    names: &[HeaderName],
    original: &CapturedResponse,
    replay: &CapturedResponse,
    out: &mut Vec<Diff>,
) {
    for name in names {
        let a: Vec<HeaderValue> = original.headers.get_all(name).iter().cloned().collect();
        let b: Vec<HeaderValue> = replay.headers.get_all(name).iter().cloned().collect();
        if a != b {
            out.push(Diff::Header {
                name: name.clone(),
                original: a,
                replay: b,
            });
        }
    }
}

/// A body as compared: its bytes (decoded) and how complete they are.
type Content = (Bytes, BodyState);

fn compare_body((a, a_state): &Content, (b, b_state): &Content) -> Option<Diff> {
    if *a_state == BodyState::NotCaptured || *b_state == BodyState::NotCaptured {
        return None;
    }
    let both_complete = *a_state == BodyState::Complete && *b_state == BodyState::Complete;
    let common = a.len().min(b.len());
    let offset = a[..common]
        .iter()
        .zip(&b[..common])
        .position(|(x, y)| x != y);
    let offset = match offset {
        Some(at) => at,
        None if both_complete && a.len() != b.len() => common,
        None => return None,
    };
    Some(Diff::Body {
        offset,
        original_len: a.len(),
        replay_len: b.len(),
    })
}

fn compare_json((a, a_state): &Content, (b, b_state): &Content) -> Option<Diff> {
    if *a_state != BodyState::Complete || *b_state != BodyState::Complete {
        return None;
    }
    let parse = |b: &Bytes| serde_json::from_slice::<Value>(b).ok();
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => first_json_difference(&a, &b, "$".to_owned())
            .map(|path| Diff::Json { path: Some(path) }),
        (None, None) if a == b => None,
        _ => Some(Diff::Json { path: None }),
    }
}

/// The path of the first place where `a` and `b` differ, in `$.key[index]` form.
fn first_json_difference(a: &Value, b: &Value, path: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() || x.keys().any(|k| !y.contains_key(k)) {
                return Some(path);
            }
            x.iter()
                .find_map(|(k, v)| first_json_difference(v, &y[k.as_str()], format!("{path}.{k}")))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(path);
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (v, w))| first_json_difference(v, w, format!("{path}[{i}]")))
        }
        _ if a == b => None,
        _ => Some(path),
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status => f.write_str("status"),
            Self::Body => f.write_str("body"),
            Self::Json => f.write_str("json"),
            Self::Headers(names) => {
                f.write_str("headers:")?;
                for (i, n) in names.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    f.write_str(n.as_str())?;
                }
                Ok(())
            }
        }
    }
}

/// The error of parsing a [`Comparator`] from text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseComparatorError {
    input: String,
}

impl fmt::Display for ParseComparatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown comparator {:?} (expected status, body, json or headers:name,..)",
            self.input
        )
    }
}

impl std::error::Error for ParseComparatorError {}

impl FromStr for Comparator {
    type Err = ParseComparatorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseComparatorError {
            input: s.to_owned(),
        };
        match s.trim() {
            "status" => Ok(Self::Status),
            "body" => Ok(Self::Body),
            "json" => Ok(Self::Json),
            other => {
                let list = other
                    .strip_prefix("headers:")
                    .or_else(|| other.strip_prefix("header:"))
                    .ok_or_else(err)?;
                let names = list
                    .split(',')
                    .map(|n| HeaderName::from_bytes(n.trim().as_bytes()).map_err(|_| err()))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Self::headers(names))
            }
        }
    }
}

// === Diff ===

/// The kind of a [`Diff`], for counters and labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DiffKind {
    /// [`Diff::Status`].
    Status,
    /// [`Diff::Header`].
    Header,
    /// [`Diff::Body`].
    Body,
    /// [`Diff::Json`].
    Json,
}

impl DiffKind {
    /// Every kind, in a fixed order (for exporting counters).
    pub const ALL: [Self; 4] = [Self::Status, Self::Header, Self::Body, Self::Json];

    /// A short lowercase label.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Header => "header",
            Self::Body => "body",
            Self::Json => "json",
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

/// One difference between an original response and its replay.
///
/// `Display` reads as a sentence about the replay, e.g. `replay status 500 differs
/// from response status 200`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Diff {
    /// The status codes differ.
    Status {
        /// The original response's status.
        original: StatusCode,
        /// The replay's status.
        replay: StatusCode,
    },
    /// A selected header differs.
    Header {
        /// The header's name.
        name: HeaderName,
        /// The original's values, in order.
        original: Vec<HeaderValue>,
        /// The replay's values, in order.
        replay: Vec<HeaderValue>,
    },
    /// The bodies differ at a byte offset.
    Body {
        /// The first differing byte (the shorter length when one is a prefix).
        offset: usize,
        /// The original's captured length.
        original_len: usize,
        /// The replay's captured length.
        replay_len: usize,
    },
    /// The bodies are not equal as JSON.
    Json {
        /// Where the values first differ (`$`, `$.a[2]`); `None` when a body is not
        /// JSON.
        path: Option<String>,
    },
}

impl Diff {
    /// The kind of this difference.
    #[must_use]
    pub const fn kind(&self) -> DiffKind {
        match self {
            Self::Status { .. } => DiffKind::Status,
            Self::Header { .. } => DiffKind::Header,
            Self::Body { .. } => DiffKind::Body,
            Self::Json { .. } => DiffKind::Json,
        }
    }
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status { original, replay } => write!(
                f,
                "replay status {} differs from response status {}",
                replay.as_u16(),
                original.as_u16()
            ),
            Self::Header {
                name,
                original,
                replay,
            } => write!(
                f,
                "replay header {name} {replay:?} differs from response {original:?}"
            ),
            Self::Body {
                offset,
                original_len,
                replay_len,
            } => write!(
                f,
                "replay body ({replay_len} bytes) differs from response body ({original_len} bytes) at byte {offset}"
            ),
            Self::Json { path: Some(path) } => {
                write!(f, "replay body differs from response body as json at {path}")
            }
            Self::Json { path: None } => f.write_str("replay or response body is not json"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)], body: Option<&'static str>) -> CapturedResponse {
        let mut map = HeaderMap::new();
        for (n, v) in headers {
            map.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let r = CapturedResponse::new(StatusCode::from_u16(status).unwrap(), map);
        match body {
            Some(b) => r.with_body(Bytes::from_static(b.as_bytes()), BodyState::Complete),
            None => r,
        }
    }

    #[test]
    fn status_and_headers() {
        let cs: Vec<Comparator> = ["status", "headers:Content-Type, etag"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(cs[1].to_string(), "headers:content-type,etag");
        let a = resp(200, &[("content-type", "text/plain"), ("date", "x")], None);
        let b = resp(200, &[("Content-Type", "text/plain"), ("date", "y")], None);
        assert!(compare_all(&cs, &a, &b).is_empty());
        let c = resp(500, &[("etag", "\"1\"")], None);
        let diffs = compare_all(&cs, &a, &c);
        let kinds: Vec<_> = diffs.iter().map(Diff::kind).collect();
        assert_eq!(
            kinds,
            [DiffKind::Status, DiffKind::Header, DiffKind::Header]
        );
        assert_eq!(
            diffs[0].to_string(),
            "replay status 500 differs from response status 200"
        );
    }

    #[test]
    fn body_bytes_and_prefixes() {
        let c = [Comparator::Body];
        let a = resp(200, &[], Some("hello"));
        assert!(compare_all(&c, &a, &resp(200, &[], Some("hello"))).is_empty());
        let d = compare_all(&c, &a, &resp(200, &[], Some("help!")));
        assert_eq!(
            d,
            [Diff::Body {
                offset: 3,
                original_len: 5,
                replay_len: 5
            }]
        );
        let d = compare_all(&c, &a, &resp(200, &[], Some("hello world")));
        assert_eq!(
            d[0],
            Diff::Body {
                offset: 5,
                original_len: 5,
                replay_len: 11
            }
        );
        // A truncated side compares only the common prefix.
        let mut t = resp(200, &[], Some("hello world"));
        t.body_state = BodyState::Truncated;
        assert!(compare_all(&c, &a, &t).is_empty());
        // Not captured: nothing to compare.
        assert!(compare_all(&c, &a, &resp(200, &[], None)).is_empty());
    }

    #[test]
    fn json_equality_and_paths() {
        let c = [Comparator::Json];
        let a = resp(200, &[], Some(r#"{"a":[1,{"b":true}],"c":null}"#));
        let same = resp(200, &[], Some(" {\"c\":null, \"a\":[1,{\"b\":true}]}\n"));
        assert!(compare_all(&c, &a, &same).is_empty());
        let other = resp(200, &[], Some(r#"{"a":[1,{"b":false}],"c":null}"#));
        assert_eq!(
            compare_all(&c, &a, &other),
            [Diff::Json {
                path: Some("$.a[1].b".to_owned())
            }]
        );
        let not_json = resp(200, &[], Some("<html>"));
        assert_eq!(compare_all(&c, &a, &not_json), [Diff::Json { path: None }]);
        assert!(compare_all(&c, &not_json, &not_json).is_empty());
    }

    #[test]
    fn parse_errors() {
        for bad in ["", "statuses", "headers:", "headers:a b"] {
            assert!(bad.parse::<Comparator>().is_err(), "{bad:?}");
        }
        assert!(Comparator::Json.needs_body());
        assert!(!Comparator::Status.needs_body());
    }
}
