//! `Set-Cookie` relocation: `Path` moves from the remote prefix to the local one,
//! `Domain` from the remote host to the public one; every other byte stays.

use frontdoor_core::proto::{normalize_root, strip_root};

use crate::Relocation;

/// The attribute a segment of a cookie is.
fn attribute(segment: &[u8]) -> Option<(&'static str, std::ops::Range<usize>)> {
    let eq = segment.iter().position(|&b| b == b'=')?;
    let name = segment[..eq].trim_ascii();
    let which = if name.eq_ignore_ascii_case(b"path") {
        "path"
    } else if name.eq_ignore_ascii_case(b"domain") {
        "domain"
    } else {
        return None;
    };
    // The value without its surrounding whitespace, as a range of `segment`.
    let raw = &segment[eq + 1..];
    let start = eq + 1 + (raw.len() - raw.trim_ascii_start().len());
    let end = eq + 1 + raw.trim_ascii_end().len();
    Some((which, start..end.max(start)))
}

/// The rewritten `Set-Cookie` value, or `None` when nothing changes.
///
/// * `Path` under the remote root moves under the local root (the root itself,
///   with or without its trailing `/`, becomes the local root without one, so the
///   cookie is sent for `/svn` as well as `/svn/...`). Other paths are kept.
/// * `Domain` equal to the remote host (a leading dot ignored) becomes the public
///   host, keeping the dot; when the public host is unknown or an IP address, the
///   attribute is removed, which makes the cookie host-only: the same scope. Other
///   domains are kept (never widened to a parent).
pub(crate) fn rewrite(value: &[u8], relocation: &Relocation) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut pos = 0;
    for (index, segment) in value.split(|&b| b == b';').enumerate() {
        let seg_start = pos;
        pos += segment.len() + 1;
        if index == 0 {
            continue; // name=value, never touched
        }
        let Some((which, range)) = attribute(segment) else {
            continue;
        };
        let current = std::str::from_utf8(&segment[range.clone()]).ok()?;
        let replacement = match which {
            "path" => path(current, relocation).map(Some),
            _ => domain(current, relocation),
        };
        let Some(replacement) = replacement else {
            continue;
        };
        let buf = out.get_or_insert_with(|| Vec::with_capacity(value.len() + 16));
        match replacement {
            Some(new) => {
                buf.extend_from_slice(&value[copied..seg_start + range.start]);
                buf.extend_from_slice(new.as_bytes());
                copied = seg_start + range.end;
            }
            None => {
                // Remove `;segment` entirely.
                buf.extend_from_slice(&value[copied..seg_start - 1]);
                copied = (seg_start + segment.len()).min(value.len());
            }
        }
    }
    let mut buf = out?;
    buf.extend_from_slice(&value[copied..]);
    Some(buf)
}

fn path(current: &str, relocation: &Relocation) -> Option<String> {
    if !current.starts_with('/') {
        return None;
    }
    let rest = strip_root(current, relocation.remote().path())?;
    let local = normalize_root(relocation.local().path());
    let new = match rest {
        "" | "/" if local.is_empty() => "/".to_owned(),
        "" | "/" => local.to_owned(),
        _ => format!("{local}{rest}"),
    };
    (new != current).then_some(new)
}

/// `Some(Some(new))` to replace, `Some(None)` to remove, `None` to keep.
fn domain(current: &str, relocation: &Relocation) -> Option<Option<String>> {
    let remote = relocation.remote().origin()?;
    let (dot, bare) = match current.strip_prefix('.') {
        Some(bare) => (".", bare),
        None => ("", current),
    };
    if !bare.eq_ignore_ascii_case(remote.host()) {
        return None;
    }
    match relocation.local().origin() {
        Some(local) if !local.host_is_ip() => Some(Some(format!("{dot}{}", local.host()))),
        _ => Some(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(local: &str, remote: &str, cookie: &str) -> String {
        let r = Relocation::try_new(local, remote).unwrap();
        match rewrite(cookie.as_bytes(), &r) {
            Some(v) => String::from_utf8(v).unwrap(),
            None => cookie.to_owned(),
        }
    }

    #[test]
    fn path_and_domain_move_everything_else_stays() {
        let c = "http://localhost:8080/app";
        let o = "http://backend.internal:8081/real/";
        // X1 with the P7 fix.
        assert_eq!(run(c, o, "a=b; Path=/real"), "a=b; Path=/app");
        let table = [
            (
                "a=b; Path=/real/x; Secure; HttpOnly",
                "a=b; Path=/app/x; Secure; HttpOnly",
            ),
            ("a=b;path=/real/;SameSite=Lax", "a=b;path=/app;SameSite=Lax"),
            (
                "a=b; PATH = /real/x ; Max-Age=3",
                "a=b; PATH = /app/x ; Max-Age=3",
            ),
            ("a=b; Path=/realx", "a=b; Path=/realx"),
            ("a=b; Path=/", "a=b; Path=/"),
            ("a=b; Path=relative", "a=b; Path=relative"),
            (
                "a=b; Domain=backend.internal; Path=/real",
                "a=b; Domain=localhost; Path=/app",
            ),
            ("a=b; Domain=.Backend.Internal", "a=b; Domain=.localhost"),
            ("a=b; Domain=internal", "a=b; Domain=internal"),
            ("a=b; Domain=evil.example", "a=b; Domain=evil.example"),
            ("Path=/real; x=y", "Path=/real; x=y"), // the cookie's own name=value
            (
                "a=b;  Expires=Wed, 21 Oct 2015 07:28:00 GMT;Partitioned",
                "a=b;  Expires=Wed, 21 Oct 2015 07:28:00 GMT;Partitioned",
            ),
        ];
        for (input, want) in table {
            assert_eq!(run(c, o, input), want, "{input}");
        }
    }

    #[test]
    fn root_mappings() {
        // A root remote maps `/` to the local prefix.
        assert_eq!(
            run("http://p/svn", "http://o/", "s=1; Path=/"),
            "s=1; Path=/svn"
        );
        assert_eq!(
            run("http://p/svn", "http://o/", "s=1; Path=/x"),
            "s=1; Path=/svn/x"
        );
        // A root local maps the remote prefix to `/`.
        assert_eq!(
            run("http://p/", "http://o/repos", "s=1; Path=/repos"),
            "s=1; Path=/"
        );
        assert_eq!(
            run("http://p/", "http://o/repos", "s=1; Path=/repos/x"),
            "s=1; Path=/x"
        );
    }

    #[test]
    fn domain_is_removed_for_ip_or_unknown_public_hosts() {
        assert_eq!(
            run(
                "http://127.0.0.1:8080/a",
                "http://o/r",
                "s=1; Domain=o; Secure"
            ),
            "s=1; Secure"
        );
        assert_eq!(
            run("/a", "http://o/r", "s=1; Secure; Domain=o"),
            "s=1; Secure"
        );
        assert_eq!(
            run("/a", "http://o/r", "s=1;Domain=o;Path=/r/x"),
            "s=1;Path=/a/x"
        );
    }

    #[test]
    fn opaque_bytes_survive() {
        let r = Relocation::try_new("/a", "/r").unwrap();
        let v = b"n=\xff\xfe; Path=/r/x; X=\xe9";
        assert_eq!(rewrite(v, &r).unwrap(), b"n=\xff\xfe; Path=/a/x; X=\xe9");
        assert_eq!(rewrite(b"n=v; Path=/r\xff", &r), None);
    }
}
