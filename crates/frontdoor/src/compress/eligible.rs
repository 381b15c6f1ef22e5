//! Which answers are compressed: the predicate tower-http's `CompressionLayer` asks,
//! and the media ranges of `types`.

use std::{fmt, str::FromStr, sync::Arc};

use http::{header, HeaderMap, Response, StatusCode};
use http_body::Body;
use tower_http::compression::Predicate;

/// The default `types`: text, JSON, JavaScript, XML, SVG and WebAssembly.
pub(super) const DEFAULT_TYPES: [&str; 10] = [
    "text/*",
    "application/json",
    "*/*+json",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/xml",
    "*/*+xml",
    "image/svg+xml",
    "application/wasm",
];

/// A pattern of media types in `types`: `type/subtype` (that type), `type/*` (every
/// subtype of `type`), `*/*+suffix` (every type with that structured-syntax suffix,
/// as `application/ld+json` is `+json`) or `*/*`. Parsed with [`FromStr`],
/// case-insensitively; parameters (`; charset=..`) are not part of a pattern.
///
/// ```
/// use frontdoor::compress::MediaRange;
///
/// let json: MediaRange = "*/*+json".parse().unwrap();
/// assert!(json.matches("application/problem+json"));
/// assert!(!json.matches("application/json"));
/// assert!("text/*".parse::<MediaRange>().unwrap().matches("TEXT/HTML"));
/// assert!("text".parse::<MediaRange>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MediaRange {
    /// The type, lowercase; `None` for `*`.
    kind: Option<Box<str>>,
    /// The subtype pattern.
    sub: Sub,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Sub {
    Any,
    Exact(Box<str>),
    /// `*+suffix`: the suffix, lowercase, with its `+`.
    Suffix(Box<str>),
}

impl MediaRange {
    /// Whether the media type `essence` (`type/subtype`, without parameters) is in
    /// this range.
    #[must_use]
    pub fn matches(&self, essence: &str) -> bool {
        let Some((kind, sub)) = essence.split_once('/') else {
            return false;
        };
        let kind_ok = self
            .kind
            .as_deref()
            .is_none_or(|k| k.eq_ignore_ascii_case(kind));
        kind_ok
            && match &self.sub {
                Sub::Any => true,
                Sub::Exact(s) => s.eq_ignore_ascii_case(sub),
                Sub::Suffix(suffix) => {
                    sub.len() > suffix.len()
                        && sub.is_char_boundary(sub.len() - suffix.len())
                        && sub[sub.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                }
            }
    }
}

impl FromStr for MediaRange {
    type Err = MediaRangeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || MediaRangeError {
            input: text.to_owned(),
        };
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        let (kind, sub) = text.trim().split_once('/').ok_or_else(err)?;
        let kind = match kind {
            "*" => None,
            k if token(k) => Some(k.to_ascii_lowercase().into()),
            _ => return Err(err()),
        };
        let sub = match sub {
            "*" => Sub::Any,
            s if s.starts_with("*+") && token(&s[2..]) && kind.is_none() => {
                Sub::Suffix(s[1..].to_ascii_lowercase().into())
            }
            s if token(s) => Sub::Exact(s.to_ascii_lowercase().into()),
            _ => return Err(err()),
        };
        if kind.is_none() && matches!(sub, Sub::Exact(_)) {
            return Err(err());
        }
        Ok(Self { kind, sub })
    }
}

impl fmt::Display for MediaRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_deref().unwrap_or("*"))?;
        match &self.sub {
            Sub::Any => f.write_str("/*"),
            Sub::Exact(s) => write!(f, "/{s}"),
            Sub::Suffix(s) => write!(f, "/*{s}"),
        }
    }
}

/// The error of parsing a [`MediaRange`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaRangeError {
    input: String,
}

impl fmt::Display for MediaRangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a media type pattern: {:?} (expected type/subtype, type/*, */*+suffix or */*)",
            self.input
        )
    }
}

impl std::error::Error for MediaRangeError {}

// === Eligible ===

/// Whether an answer may be compressed: the rules of the [module docs](super), as a
/// tower-http predicate (tower-http itself also skips answers with `Content-Encoding`
/// or `Content-Range`).
#[derive(Clone, Debug)]
pub(super) struct Eligible {
    pub(super) min_size: u64,
    pub(super) types: Arc<[MediaRange]>,
}

impl Eligible {
    fn allows(&self, status: StatusCode, headers: &HeaderMap, exact: Option<u64>) -> bool {
        let status_ok = !(status.is_informational()
            || matches!(
                status,
                StatusCode::NO_CONTENT | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
            ));
        let coded = headers.contains_key(header::CONTENT_ENCODING)
            || headers.contains_key(header::CONTENT_RANGE);
        let no_transform = headers
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|d| d.trim().eq_ignore_ascii_case("no-transform"));
        let length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .or(exact);
        status_ok
            && !coded
            && !no_transform
            && length.is_none_or(|n| n >= self.min_size)
            && self.type_ok(headers)
    }

    /// A `Content-Type` in `types`; never `text/event-stream`, whose events must
    /// reach the client as they come.
    fn type_ok(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let essence = value.split(';').next().unwrap_or_default().trim();
        !essence.eq_ignore_ascii_case("text/event-stream")
            && self.types.iter().any(|t| t.matches(essence))
    }
}

impl Predicate for Eligible {
    fn should_compress<B>(&self, response: &Response<B>) -> bool
    where
        B: Body,
    {
        self.allows(
            response.status(),
            response.headers(),
            response.body().size_hint().exact(),
        )
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn eligible() -> Eligible {
        Eligible {
            min_size: 1024,
            types: DEFAULT_TYPES.iter().map(|t| t.parse().unwrap()).collect(),
        }
    }

    fn allows(status: u16, headers: &[(&str, &str)], exact: Option<u64>) -> bool {
        let mut map = HeaderMap::new();
        for (n, v) in headers {
            map.append(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        eligible().allows(StatusCode::from_u16(status).unwrap(), &map, exact)
    }

    #[test]
    fn types_by_default() {
        for ty in [
            "text/html; charset=utf-8",
            "text/css",
            "application/json",
            "application/problem+json",
            "application/javascript",
            "application/xml",
            "application/xhtml+xml",
            "image/svg+xml",
            "application/wasm",
        ] {
            assert!(allows(200, &[("content-type", ty)], None), "{ty}");
        }
        for ty in [
            "image/png",
            "application/octet-stream",
            "video/mp4",
            "text/event-stream",
        ] {
            assert!(!allows(200, &[("content-type", ty)], None), "{ty}");
        }
        assert!(!allows(200, &[], None), "no Content-Type");
    }

    #[test]
    fn exclusions() {
        let html = ("content-type", "text/html");
        assert!(allows(404, &[html], None));
        for status in [101, 204, 206, 304] {
            assert!(!allows(status, &[html], None), "{status}");
        }
        assert!(!allows(200, &[html, ("content-encoding", "gzip")], None));
        assert!(!allows(
            200,
            &[html, ("content-range", "bytes 0-1/2")],
            None
        ));
        assert!(!allows(
            200,
            &[html, ("cache-control", "public, No-Transform")],
            None
        ));
        assert!(allows(200, &[html, ("cache-control", "no-cache")], None));
        // Below min_size only when the length is known.
        assert!(!allows(200, &[html, ("content-length", "1023")], None));
        assert!(allows(200, &[html, ("content-length", "1024")], None));
        assert!(!allows(200, &[html], Some(10)));
        assert!(allows(200, &[html], None));
    }

    #[test]
    fn ranges() {
        for bad in [
            "",
            "text",
            "*/html",
            "text/*+json",
            "te xt/html",
            "*/*+",
            "/json",
        ] {
            assert!(bad.parse::<MediaRange>().is_err(), "{bad:?}");
        }
        for good in ["text/*", "*/*", "*/*+json", "application/json"] {
            assert_eq!(good.parse::<MediaRange>().unwrap().to_string(), good);
        }
        let any: MediaRange = "*/*".parse().unwrap();
        assert!(any.matches("image/png"));
        assert!(!any.matches("nonsense"));
        let suffix: MediaRange = "*/*+xml".parse().unwrap();
        assert!(!suffix.matches("application/+xml"));
    }
}
