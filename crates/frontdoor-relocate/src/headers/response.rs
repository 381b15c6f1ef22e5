//! Response headers: upstream URLs become public ones.

use http::{
    header::{Entry, CONTENT_LOCATION, LINK, LOCATION, REFRESH, SET_COOKIE},
    HeaderMap, HeaderName, HeaderValue,
};

use super::{each, single, HeaderError};
use crate::relocation::{Direction, Invalid, Relocation};

/// Rewrites the response headers of a relocated exchange. `base` is the upstream
/// request's path and query, against which relative URLs are resolved.
///
/// # Errors
///
/// Two `Location` (or `Content-Location`) headers, or an unparseable URL in a header
/// that is rewritten: the caller answers 502.
pub(crate) fn rewrite(
    headers: &mut HeaderMap,
    relocation: &Relocation,
    base: &str,
    svn: bool,
) -> Result<(), HeaderError> {
    let map = |v: &str| relocation.map(Direction::ToLocal, v, Some(base));
    single(headers, &LOCATION, map)?;
    single(headers, &CONTENT_LOCATION, map)?;
    each(headers, &REFRESH, |v| refresh(v, map))?;
    each(headers, &LINK, |v| link(v, map))?;
    cookies(headers, relocation);
    if svn {
        let names: Vec<HeaderName> = headers
            .keys()
            .filter(|n| is_svn_url_header(n))
            .cloned()
            .collect();
        for name in &names {
            each(headers, name, map)?;
        }
    }
    Ok(())
}

/// `SVN-Repository-Root`, `SVN-Me-Resource` and every `SVN-*-Stub` (which covers
/// the `-Root-Stub` ones): the headers of an `OPTIONS` response from which svn 1.7+
/// learns the repository layout. Their values are paths or URLs.
fn is_svn_url_header(name: &HeaderName) -> bool {
    let n = name.as_str();
    n.starts_with("svn-")
        && (n.ends_with("-stub") || n == "svn-repository-root" || n == "svn-me-resource")
}

/// `Refresh: 5; url=/x` (also `url='/x'`, a `,` separator, or no `url=`): the value
/// with its URL moved by `map`, or `None` when `map` keeps it. The HTML rewriter moves
/// `<meta http-equiv="refresh" content="...">` with this too.
pub(crate) fn refresh(
    value: &str,
    map: impl Fn(&str) -> Result<Option<String>, Invalid>,
) -> Result<Option<String>, Invalid> {
    let Some(sep) = value.find([';', ',']) else {
        return Ok(None);
    };
    let mut start = sep + 1;
    start += value[start..].len() - value[start..].trim_start().len();
    let rest = &value[start..];
    if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case("url") {
        let after = rest[3..].trim_start();
        if let Some(after_eq) = after.strip_prefix('=') {
            start = value.len() - after_eq.trim_start().len();
        }
    }
    let mut end = value.len();
    if let Some(q) = value[start..]
        .chars()
        .next()
        .filter(|c| matches!(c, '"' | '\''))
    {
        start += 1;
        end = value[start..].find(q).map_or(end, |i| start + i);
    }
    let url = value[start..end].trim();
    Ok(map(url)?.map(|new| format!("{}{new}{}", &value[..start], &value[end..])))
}

/// `Link: <url>; rel=x, <url2>; ...`: every `<...>` target outside quoted strings.
fn link(
    value: &str,
    map: impl Fn(&str) -> Result<Option<String>, Invalid>,
) -> Result<Option<String>, Invalid> {
    let bytes = value.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    let mut quoted = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'<' if !quoted => {
                let Some(len) = value[i + 1..].find('>') else {
                    return Err(Invalid);
                };
                let end = i + 1 + len;
                if let Some(new) = map(&value[i + 1..end])? {
                    out.push_str(&value[copied..=i]);
                    out.push_str(&new);
                    copied = end;
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    if copied == 0 {
        return Ok(None);
    }
    out.push_str(&value[copied..]);
    Ok(Some(out))
}

fn cookies(headers: &mut HeaderMap, relocation: &Relocation) {
    let Entry::Occupied(mut entry) = headers.entry(SET_COOKIE) else {
        return;
    };
    for value in entry.iter_mut() {
        if let Some(new) = super::cookie::rewrite(value.as_bytes(), relocation) {
            match HeaderValue::from_bytes(&new) {
                Ok(new) => *value = new,
                Err(_) => tracing::debug!("set-cookie left as is: rewritten value is invalid"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c() -> Relocation {
        Relocation::try_new(
            "http://localhost:8080/app",
            "http://backend.internal:8081/real/",
        )
        .unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::try_from(*k).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    /// X1 and X2 with the P7 fixes.
    #[test]
    fn vectors_x1_x2() {
        let mut h = headers(&[
            ("location", "http://backend.internal:8081/real/login"),
            ("content-location", "http://backend.internal:8081/real/cl"),
            ("set-cookie", "a=b; Path=/real"),
        ]);
        rewrite(&mut h, &c(), "/real/page?x=1", false).unwrap();
        assert_eq!(h["location"], "http://localhost:8080/app/login");
        assert_eq!(h["content-location"], "http://localhost:8080/app/cl");
        assert_eq!(h["set-cookie"], "a=b; Path=/app");
        let mut h = headers(&[("location", "/real/other")]);
        rewrite(&mut h, &c(), "/real/page", false).unwrap();
        assert_eq!(h["location"], "/app/other");
    }

    #[test]
    fn relative_and_foreign_locations() {
        let table = [
            ("login", "/app/dir/login"),
            ("../x", "/app/x"),
            ("../../escape", "../../escape"),
            (
                "//backend.internal:8081/real/z",
                "http://localhost:8080/app/z",
            ),
            ("//evil.example/real/z", "//evil.example/real/z"),
            ("http://evil.example/real/z", "http://evil.example/real/z"),
            (
                "https://backend.internal:8081/real/z",
                "https://backend.internal:8081/real/z",
            ),
            ("/elsewhere", "/elsewhere"),
            ("?page=2", "/app/dir/page?page=2"),
        ];
        for (input, want) in table {
            let mut h = headers(&[("location", input)]);
            rewrite(&mut h, &c(), "/real/dir/page", false).unwrap();
            assert_eq!(h["location"], want, "{input}");
        }
    }

    /// X22 with the fix: two Locations, or one that cannot be parsed, is an error
    /// (the layer answers 502).
    #[test]
    fn vector_x22_and_unparseable() {
        let mut h = headers(&[("location", "/real/a"), ("location", "/real/b")]);
        let err = rewrite(&mut h, &c(), "/real/", false).unwrap_err();
        assert_eq!(err.to_string(), "location: more than one value");
        for bad in ["/a b", "http://bad host/", "/\\evil", "http://h:70000/"] {
            let mut h = headers(&[("location", bad)]);
            assert!(rewrite(&mut h, &c(), "/real/", false).is_err(), "{bad}");
        }
        let mut h = HeaderMap::new();
        h.insert(LOCATION, HeaderValue::from_bytes(b"/real/\xe9").unwrap());
        assert!(rewrite(&mut h, &c(), "/real/", false).is_err());
    }

    #[test]
    fn refresh_and_link() {
        let map = |v: &str| c().map(Direction::ToLocal, v, Some("/real/p"));
        let table = [
            ("5; url=/real/x", Some("5; url=/app/x")),
            ("5;URL='/real/x'", Some("5;URL='/app/x'")),
            (
                "0, url = \"http://backend.internal:8081/real/y\"",
                Some("0, url = \"http://localhost:8080/app/y\""),
            ),
            ("3; /real/z", Some("3; /app/z")),
            ("3", None),
            ("3; url=http://other/x", None),
        ];
        for (input, want) in table {
            assert_eq!(refresh(input, map).unwrap().as_deref(), want, "{input}");
        }
        let value = r#"</real/a>; rel="x, <not a link>", <http://backend.internal:8081/real/b>; rel=next, <http://other/c>"#;
        assert_eq!(
            link(value, map).unwrap().unwrap(),
            r#"</app/a>; rel="x, <not a link>", <http://localhost:8080/app/b>; rel=next, <http://other/c>"#
        );
        assert_eq!(link("<http://other/x>", map).unwrap(), None);
        assert_eq!(link("</real/unclosed", map), Err(Invalid));
        assert_eq!(link("</a b>", map), Err(Invalid));
    }

    #[test]
    fn svn_headers_paths_and_urls() {
        let r = Relocation::try_new("http://public/svn", "http://origin/repos/proj").unwrap();
        let mut h = headers(&[
            ("svn-repository-root", "/repos/proj"),
            ("svn-me-resource", "/repos/proj/!svn/me"),
            ("svn-rev-root-stub", "/repos/proj/!svn/rvr"),
            ("svn-rev-stub", "http://origin/repos/proj/!svn/rev"),
            ("svn-txn-stub", "/repos/proj/!svn/txn"),
            ("svn-txn-root-stub", "/repos/proj/!svn/txr"),
            ("svn-vtxn-stub", "/repos/proj/!svn/vtxn"),
            ("svn-vtxn-root-stub", "/repos/proj/!svn/vtxr"),
            ("svn-youngest-rev", "5"),
            ("svn-repository-uuid", "/repos/proj"),
        ]);
        let mut plain = h.clone();
        rewrite(&mut h, &r, "/repos/proj", true).unwrap();
        assert_eq!(h["svn-repository-root"], "/svn");
        assert_eq!(h["svn-me-resource"], "/svn/!svn/me");
        assert_eq!(h["svn-rev-root-stub"], "/svn/!svn/rvr");
        assert_eq!(h["svn-rev-stub"], "http://public/svn/!svn/rev");
        assert_eq!(h["svn-txn-stub"], "/svn/!svn/txn");
        assert_eq!(h["svn-txn-root-stub"], "/svn/!svn/txr");
        assert_eq!(h["svn-vtxn-stub"], "/svn/!svn/vtxn");
        assert_eq!(h["svn-vtxn-root-stub"], "/svn/!svn/vtxr");
        assert_eq!(h["svn-youngest-rev"], "5");
        assert_eq!(h["svn-repository-uuid"], "/repos/proj");
        // Without the svn profile they are left alone.
        rewrite(&mut plain, &r, "/repos/proj", false).unwrap();
        assert_eq!(plain["svn-repository-root"], "/repos/proj");
    }
}
