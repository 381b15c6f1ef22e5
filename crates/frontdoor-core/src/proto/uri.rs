//! The one URI path rewrite (replacing a path and moving a path between roots), and
//! the one split of a URI reference into its parts.

use http::{uri::PathAndQuery, Uri};

use crate::Error;

/// `uri` with its path replaced by `path`; scheme, authority and the query (byte for
/// byte) are kept.
///
/// ```
/// use frontdoor_core::proto::with_path;
///
/// let uri: http::Uri = "http://h/a/../b?x=%20".parse()?;
/// assert_eq!(with_path(&uri, "/b")?, "http://h/b?x=%20");
/// # Ok::<(), frontdoor_core::BoxError>(())
/// ```
///
/// # Errors
///
/// A bad-request [`Error`] when `path` is not valid in a URI.
pub fn with_path(uri: &Uri, path: &str) -> Result<Uri, Error> {
    let pq = match uri.query() {
        Some(q) => {
            let mut s = String::with_capacity(path.len() + 1 + q.len());
            s.push_str(path);
            s.push('?');
            s.push_str(q);
            PathAndQuery::try_from(s)
        }
        None => PathAndQuery::try_from(path),
    }
    .map_err(|e| Error::bad_request("path is not a valid uri path").with_source(e))?;
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(pq);
    Uri::from_parts(parts).map_err(|e| Error::bad_request("cannot rebuild uri").with_source(e))
}

/// A root as [`rebase`] takes it: `/` and an empty root are both `""`, and one
/// trailing `/` is dropped (`/api/` is `/api`).
///
/// ```
/// use frontdoor_core::proto::normalize_root;
///
/// assert_eq!(normalize_root("/"), "");
/// assert_eq!(normalize_root("/api/"), "/api");
/// assert_eq!(normalize_root("/api"), "/api");
/// ```
#[must_use]
pub fn normalize_root(root: &str) -> &str {
    root.strip_suffix('/').unwrap_or(root)
}

/// The part of `target` after `root`, when `target` lies under `root` on a segment
/// boundary: `target` equals `root`, or continues with `/`, `?` or `#`.
///
/// `root` is normalised ([`normalize_root`]); the empty root matches every target that
/// is empty or starts with `/`, `?` or `#`. This is the one match used by every layer
/// that moves paths between roots, so matching and rewriting cannot disagree.
///
/// ```
/// use frontdoor_core::proto::strip_root;
///
/// assert_eq!(strip_root("/dav/a?x", "/dav"), Some("/a?x"));
/// assert_eq!(strip_root("/dav", "/dav/"), Some(""));
/// assert_eq!(strip_root("/davx", "/dav"), None);
/// assert_eq!(strip_root("/x", "/"), Some("/x"));
/// ```
#[must_use]
pub fn strip_root<'a>(target: &'a str, root: &str) -> Option<&'a str> {
    let root = normalize_root(root);
    let rest = target.strip_prefix(root)?;
    match rest.as_bytes().first() {
        None | Some(b'/' | b'?' | b'#') => Some(rest),
        Some(_) => None,
    }
}

/// Moves `target` (a path, possibly with a query and fragment) from under `from_root`
/// to under `to_root`: `to_root + rest` where `rest` is what [`strip_root`] leaves,
/// joined without a doubled `/`. `None` when `target` is not under `from_root` (on a
/// segment boundary).
///
/// The upstream's base-path join is `rebase(path, "/", base)`; relocation maps
/// requests with `rebase(path, local, remote)` and responses with
/// `rebase(path, remote, local)`. An empty result is `/`.
///
/// ```
/// use frontdoor_core::proto::rebase;
///
/// assert_eq!(rebase("/x?y", "/", "/api").as_deref(), Some("/api/x?y"));
/// assert_eq!(rebase("/", "/", "/api/").as_deref(), Some("/api/"));
/// assert_eq!(rebase("/webdav/a/b", "/webdav", "/dav").as_deref(), Some("/dav/a/b"));
/// assert_eq!(rebase("/webdav", "/webdav/", "/").as_deref(), Some("/"));
/// assert_eq!(rebase("/webdavx", "/webdav", "/dav"), None);
/// ```
#[must_use]
pub fn rebase(target: &str, from_root: &str, to_root: &str) -> Option<String> {
    let rest = strip_root(target, from_root)?;
    let to_root = normalize_root(to_root);
    let mut out = String::with_capacity(to_root.len() + rest.len() + 1);
    out.push_str(to_root);
    out.push_str(rest);
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    Some(out)
}

/// A URI reference split into its parts (RFC 3986 section 4.1, as its appendix B
/// splits one), without validating them: `scheme:`, `//authority`, the path, and the
/// query and fragment.
///
/// A scheme is recognised only when it is well formed (a letter, then letters, digits,
/// `+`, `-` or `.`) and ends before the first `/`, `?` or `#`; an authority only right
/// after `//`, up to the next `/`, `?` or `#`. The relocation layer classifies the URLs
/// it moves with it, and the resolver finds the path of a WebDAV `Destination` with
/// it, so the two never disagree about where a path starts.
///
/// ```
/// use frontdoor_core::proto::Reference;
///
/// let r = Reference::split("http://h:8080/dav/a%2Fb?x=1#f");
/// assert_eq!((r.scheme(), r.authority()), (Some("http"), Some("h:8080")));
/// assert_eq!((r.head(), r.path(), r.tail()), ("http://h:8080", "/dav/a%2Fb", "?x=1#f"));
/// assert_eq!(r.rest(), "/dav/a%2Fb?x=1#f");
///
/// let r = Reference::split("/dav/b?q");
/// assert_eq!((r.scheme(), r.authority(), r.path()), (None, None, "/dav/b"));
/// let r = Reference::split("//h/x");
/// assert_eq!((r.scheme(), r.authority(), r.path()), (None, Some("h"), "/x"));
/// let r = Reference::split("mailto:a@b");
/// assert_eq!((r.scheme(), r.authority(), r.path()), (Some("mailto"), None, "a@b"));
/// let r = Reference::split("a/b:c");
/// assert_eq!((r.scheme(), r.path()), (None, "a/b:c"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reference<'a> {
    text: &'a str,
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    /// Where the path starts and ends in `text`.
    path: (usize, usize),
}

impl<'a> Reference<'a> {
    /// Splits `text`.
    #[must_use]
    pub fn split(text: &'a str) -> Self {
        let scheme = scheme_of(text);
        let after_scheme = scheme.map_or(text, |s| &text[s.len() + 1..]);
        let (authority, rest) = match after_scheme.strip_prefix("//") {
            Some(hier) => {
                let end = hier
                    .bytes()
                    .position(|b| matches!(b, b'/' | b'?' | b'#'))
                    .unwrap_or(hier.len());
                (Some(&hier[..end]), &hier[end..])
            }
            None => (None, after_scheme),
        };
        let start = text.len() - rest.len();
        let end = start + split_path(rest).0.len();
        Self {
            text,
            scheme,
            authority,
            path: (start, end),
        }
    }

    /// The scheme, without its `:`.
    #[must_use]
    pub const fn scheme(&self) -> Option<&'a str> {
        self.scheme
    }

    /// The authority, without its `//`.
    #[must_use]
    pub const fn authority(&self) -> Option<&'a str> {
        self.authority
    }

    /// Everything before the path: `scheme://authority`, `//authority`, `scheme:` or
    /// nothing.
    #[must_use]
    pub fn head(&self) -> &'a str {
        &self.text[..self.path.0]
    }

    /// The path: empty, absolute (`/a`) or not (`a/b`, `a@b` after `mailto:`).
    #[must_use]
    pub fn path(&self) -> &'a str {
        &self.text[self.path.0..self.path.1]
    }

    /// The query and fragment, with their `?` and `#`, or nothing.
    #[must_use]
    pub fn tail(&self) -> &'a str {
        &self.text[self.path.1..]
    }

    /// The path with the query and fragment: everything after the head.
    #[must_use]
    pub fn rest(&self) -> &'a str {
        &self.text[self.path.0..]
    }
}

/// The scheme of `text`, when it starts with a well-formed one followed by `:`.
fn scheme_of(text: &str) -> Option<&str> {
    let colon = text
        .bytes()
        .position(|b| matches!(b, b':' | b'/' | b'?' | b'#'))?;
    if text.as_bytes().get(colon) != Some(&b':') {
        return None;
    }
    let scheme = &text[..colon];
    let mut bytes = scheme.bytes();
    let first_alpha = bytes.next().is_some_and(|b| b.is_ascii_alphabetic());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    (first_alpha && rest_ok).then_some(scheme)
}

/// Splits a path from its query and fragment (`/a?b#c` into `/a` and `?b#c`).
///
/// ```
/// use frontdoor_core::proto::split_path;
///
/// assert_eq!(split_path("/a?b#c"), ("/a", "?b#c"));
/// assert_eq!(split_path("/a#b?c"), ("/a", "#b?c"));
/// assert_eq!(split_path("/a"), ("/a", ""));
/// ```
#[must_use]
pub fn split_path(s: &str) -> (&str, &str) {
    let end = s
        .bytes()
        .position(|b| matches!(b, b'?' | b'#'))
        .unwrap_or(s.len());
    s.split_at(end)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn splits_references() {
        type Parts<'a> = (Option<&'a str>, Option<&'a str>, &'a str, &'a str, &'a str);
        let table: &[(&str, Parts<'_>)] = &[
            (
                "http://h/x?y#z",
                (Some("http"), Some("h"), "http://h", "/x", "?y#z"),
            ),
            ("HTTPS://h", (Some("HTTPS"), Some("h"), "HTTPS://h", "", "")),
            (
                "http://h?q",
                (Some("http"), Some("h"), "http://h", "", "?q"),
            ),
            (
                "http://u@h:1/a:b",
                (Some("http"), Some("u@h:1"), "http://u@h:1", "/a:b", ""),
            ),
            ("mailto:a@b", (Some("mailto"), None, "mailto:", "a@b", "")),
            ("http:/x", (Some("http"), None, "http:", "/x", "")),
            ("//evil/x", (None, Some("evil"), "//evil", "/x", "")),
            ("///x", (None, Some(""), "//", "/x", "")),
            ("/a:b?c", (None, None, "", "/a:b", "?c")),
            ("a/b:c", (None, None, "", "a/b:c", "")),
            ("1a:b", (None, None, "", "1a:b", "")),
            (":b", (None, None, "", ":b", "")),
            ("?q#f", (None, None, "", "", "?q#f")),
            ("", (None, None, "", "", "")),
        ];
        for (input, want) in table {
            let r = Reference::split(input);
            assert_eq!(
                (r.scheme(), r.authority(), r.head(), r.path(), r.tail()),
                *want,
                "{input:?}"
            );
            assert_eq!(format!("{}{}", r.head(), r.rest()), *input);
        }
    }

    #[test]
    fn rebase_table() {
        let table: &[(&str, &str, &str, Option<&str>)] = &[
            ("/a", "", "", Some("/a")),
            ("/", "/", "/", Some("/")),
            ("", "/", "/", Some("/")),
            ("/dav", "/dav", "/webdav", Some("/webdav")),
            ("/dav/", "/dav", "/webdav", Some("/webdav/")),
            ("/dav?x", "/dav", "/webdav", Some("/webdav?x")),
            ("/dav#f", "/dav", "/webdav", Some("/webdav#f")),
            ("/dav", "/dav", "/", Some("/")),
            ("/dav?x", "/dav", "/", Some("/?x")),
            ("/dav/a", "/dav/", "/", Some("/a")),
            ("/dave", "/dav", "/webdav", None),
            ("/other", "/dav", "/webdav", None),
            ("/a/b", "/", "/r", Some("/r/a/b")),
        ];
        for (target, from, to, want) in table {
            assert_eq!(
                rebase(target, from, to).as_deref(),
                *want,
                "{target} {from} {to}"
            );
        }
    }

    proptest! {
        #[test]
        fn rebase_round_trips(root_a in "(/[a-z]{1,3}){0,3}", root_b in "(/[a-z]{1,3}){1,3}", rest in "(/[a-z%]{0,3}){0,3}") {
            let target = format!("{root_a}{rest}");
            let there = rebase(&target, &root_a, &root_b).unwrap();
            prop_assert!(!there.contains("//") || rest.contains("//"));
            let back = rebase(&there, &root_b, &root_a).unwrap();
            let want = if target.is_empty() { "/".to_owned() } else { target };
            prop_assert_eq!(back, want);
        }
    }
}
