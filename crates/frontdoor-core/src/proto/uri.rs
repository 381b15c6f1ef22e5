//! The one URI path rewrite: replacing a path and moving a path between roots.

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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

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
