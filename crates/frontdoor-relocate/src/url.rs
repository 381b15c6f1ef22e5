//! URL-reference syntax (RFC 3986 section 4): just enough to tell the forms apart,
//! remove dot-segments and resolve a relative reference against a base path.

use std::borrow::Cow;

pub(crate) use frontdoor_core::proto::split_path;
use frontdoor_core::proto::Reference;

/// The form of a URL reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UrlRef<'a> {
    /// `scheme://authority` followed by `rest` (path, query, fragment; may be empty).
    Absolute {
        scheme: &'a str,
        authority: &'a str,
        rest: &'a str,
    },
    /// A scheme other than one followed by `//` (`mailto:`, `urn:`, `opaquelocktoken:`).
    Opaque,
    /// `//authority` followed by `rest`: a network-path reference.
    NetworkPath { authority: &'a str, rest: &'a str },
    /// `/path...` (but not `//`).
    PathAbsolute(&'a str),
    /// Anything else: `x`, `../x`, `?q`, `#f`, the empty reference.
    Relative(&'a str),
}

/// Classifies `s`, split by the workspace's one [`Reference`] split; `None` when it
/// holds a space, a control character or a backslash (which browsers treat as `/`), or
/// a hierarchical scheme without `//`.
pub(crate) fn classify(s: &str) -> Option<UrlRef<'_>> {
    if !clean(s) {
        return None;
    }
    let r = Reference::split(s);
    Some(match (r.scheme(), r.authority()) {
        (Some(scheme), Some(authority)) => UrlRef::Absolute {
            scheme,
            authority,
            rest: r.rest(),
        },
        (Some(scheme), None) if is_http(scheme) => return None,
        (Some(_), None) => UrlRef::Opaque,
        (None, Some(authority)) => UrlRef::NetworkPath {
            authority,
            rest: r.rest(),
        },
        (None, None) if s.starts_with('/') => UrlRef::PathAbsolute(s),
        (None, None) => UrlRef::Relative(s),
    })
}

/// Whether `s` is free of spaces, control characters and backslashes.
pub(crate) fn clean(s: &str) -> bool {
    !s.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'\\')
}

fn is_http(scheme: &str) -> bool {
    scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
}

/// Whether a segment is `.` or `..` (`Some(true)` for `..`), also when its dots are
/// percent-encoded (`%2e`, `%2E`).
fn dot_kind(segment: &str) -> Option<bool> {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] | [b'%', b'2', b'e' | b'E', tail @ ..] => tail,
            _ => return None,
        };
        dots += 1;
    }
    match dots {
        1 => Some(false),
        2 => Some(true),
        _ => None,
    }
}

/// Whether `path` (without query) has a `.` or `..` segment, encoded or not.
pub(crate) fn has_dot_segment(path: &str) -> bool {
    let b = path.as_bytes();
    let maybe = b.first().is_some_and(|&c| c == b'.' || c == b'%')
        || b.windows(2)
            .any(|w| w[0] == b'/' && (w[1] == b'.' || w[1] == b'%'));
    maybe && path.split('/').any(|s| dot_kind(s).is_some())
}

/// RFC 3986 section 5.2.4 on a path (without query), treating `%2e` as `.`; `..`
/// never climbs above the root. Borrowed when there is nothing to remove.
pub(crate) fn remove_dot_segments(path: &str) -> Cow<'_, str> {
    if !has_dot_segment(path) {
        return Cow::Borrowed(path);
    }
    let absolute = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, segment) in segments.into_iter().enumerate() {
        match dot_kind(segment) {
            Some(up) => {
                if up {
                    out.pop();
                }
                trailing_slash = i == last;
            }
            None => {
                out.push(segment);
                trailing_slash = false;
            }
        }
    }
    let mut s = String::with_capacity(path.len());
    if absolute {
        s.push('/');
    }
    s.push_str(&out.join("/"));
    if trailing_slash && !s.ends_with('/') {
        s.push('/');
    }
    Cow::Owned(s)
}

/// Resolves a relative reference (not a network-path or absolute one) against `base`,
/// an absolute path with an optional query (RFC 3986 section 5.2.2).
pub(crate) fn resolve(base: &str, reference: &str) -> String {
    let (base_path, base_query) = split_path(base);
    let base_query = base_query.split('#').next().unwrap_or("");
    if reference.is_empty() {
        return format!("{base_path}{base_query}");
    }
    if reference.starts_with('#') {
        return format!("{base_path}{base_query}{reference}");
    }
    if reference.starts_with('?') {
        return format!("{base_path}{reference}");
    }
    let (path, suffix) = split_path(reference);
    let dir = match base_path.rfind('/') {
        Some(i) => &base_path[..=i],
        None => "/",
    };
    let merged = format!("{dir}{path}");
    let path = remove_dot_segments(&merged);
    format!("{path}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        use UrlRef::*;
        let abs = |scheme, authority, rest| {
            Some(Absolute {
                scheme,
                authority,
                rest,
            })
        };
        let table = [
            ("http://h/x?y#z", abs("http", "h", "/x?y#z")),
            ("HTTPS://h", abs("HTTPS", "h", "")),
            ("http://h?q", abs("http", "h", "?q")),
            ("ftp://h/x", abs("ftp", "h", "/x")),
            ("mailto:a@b", Some(Opaque)),
            ("opaquelocktoken:1-2", Some(Opaque)),
            ("http:/x", None),
            ("http:x", None),
            (
                "//evil/x",
                Some(NetworkPath {
                    authority: "evil",
                    rest: "/x",
                }),
            ),
            ("/a:b", Some(PathAbsolute("/a:b"))),
            ("a/b:c", Some(Relative("a/b:c"))),
            ("1a:b", Some(Relative("1a:b"))),
            ("?q", Some(Relative("?q"))),
            ("", Some(Relative(""))),
            ("/\\evil", None),
            ("/a b", None),
            ("/a\tb", None),
            ("/a\u{7f}", None),
        ];
        for (input, want) in table {
            assert_eq!(classify(input), want, "{input:?}");
        }
    }

    #[test]
    fn removes_dot_segments() {
        let table = [
            ("/a/b", "/a/b"),
            ("/a/./b", "/a/b"),
            ("/a/../b", "/b"),
            ("/a/..", "/"),
            ("/a/b/..", "/a/"),
            ("/../../x", "/x"),
            ("/a/%2e%2E/x", "/x"),
            ("/a/.%2e/x", "/x"),
            ("/a/.x/..y", "/a/.x/..y"),
            ("/a/.", "/a/"),
        ];
        for (input, want) in table {
            assert_eq!(remove_dot_segments(input), want, "{input:?}");
        }
        assert!(matches!(remove_dot_segments("/a.b/c"), Cow::Borrowed(_)));
    }

    #[test]
    fn resolves_relative_references() {
        let base = "/webdav/dir/page?x=1";
        let table = [
            ("login", "/webdav/dir/login"),
            ("./a?b", "/webdav/dir/a?b"),
            ("../up", "/webdav/up"),
            ("../../../../root", "/root"),
            ("?y=2", "/webdav/dir/page?y=2"),
            ("#f", "/webdav/dir/page?x=1#f"),
            ("", "/webdav/dir/page?x=1"),
            ("sub/", "/webdav/dir/sub/"),
        ];
        for (reference, want) in table {
            assert_eq!(resolve(base, reference), want, "{reference:?}");
        }
        assert_eq!(resolve("/", "x"), "/x");
    }
}
