//! Request headers: public URLs become upstream ones.

use frontdoor_core::proto::DESTINATION;
use http::{
    header::{ORIGIN, REFERER},
    HeaderMap, HeaderName, StatusCode,
};

use super::{each, single, HeaderError};
use crate::relocation::{Direction, Relocation};

/// WebDAV's `If` (RFC 4918 section 10.4).
pub(crate) const IF: HeaderName = HeaderName::from_static("if");

/// Why a request is answered instead of forwarded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) error: HeaderError,
}

/// `Referer` (any URL under the local root) and `Origin` (the local origin) moved to
/// the upstream's; anything else is left alone.
pub(crate) fn referer_and_origin(headers: &mut HeaderMap, relocation: &Relocation) {
    let referer = each(headers, &REFERER, |v| {
        Ok(relocation.map(Direction::ToRemote, v, None).ok().flatten())
    });
    let origin = each(headers, &ORIGIN, |v| Ok(relocation.origin_to_remote(v)));
    if let Err(e) = referer.and(origin) {
        tracing::debug!(error = %e, "request header left as is");
    }
}

/// `Destination` moved to the upstream: an absolute URL gets the remote root's
/// authority (or becomes a path when the remote root has none), a path stays a path.
///
/// # Errors
///
/// 400 for two `Destination` headers or an unparseable one; 502 for a destination
/// outside the local root (RFC 4918 section 9.8.5: "the destination is located on a
/// different server, repository, or URL namespace"), which is never forwarded, so a
/// client cannot reach beyond the mount through COPY or MOVE.
pub(crate) fn destination(headers: &mut HeaderMap, relocation: &Relocation) -> Result<(), Refusal> {
    let mut outside = false;
    single(headers, &DESTINATION, |v| {
        match relocation.map(Direction::ToRemote, v, None)? {
            Some(new) => Ok(Some(new)),
            None => {
                outside = true;
                Ok(None)
            }
        }
    })
    .map_err(|error| Refusal {
        status: StatusCode::BAD_REQUEST,
        error,
    })?;
    if outside {
        return Err(Refusal {
            status: StatusCode::BAD_GATEWAY,
            error: HeaderError::new(&DESTINATION, "outside the relocated root"),
        });
    }
    Ok(())
}

/// The resource tags (`<url>` outside parentheses) of WebDAV `If` tagged lists moved
/// to the upstream; state tokens (`<opaquelocktoken:...>` inside parentheses) and
/// entity tags are never touched. A tag outside the local root is left as it is (the
/// upstream then evaluates that list against another resource).
pub(crate) fn if_tagged_lists(headers: &mut HeaderMap, relocation: &Relocation) {
    let result = each(headers, &IF, |v| Ok(tagged(v, relocation)));
    if let Err(e) = result {
        tracing::debug!(error = %e, "request header left as is");
    }
}

fn tagged(value: &str, relocation: &Relocation) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut depth = 0u32;
    let mut quoted = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => quoted = !quoted,
            _ if quoted => {}
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b'<' => {
                let end = i + 1 + value[i + 1..].find('>')?;
                if depth == 0 {
                    if let Some(new) = relocation
                        .map(Direction::ToRemote, &value[i + 1..end], None)
                        .ok()
                        .flatten()
                    {
                        out.push_str(&value[copied..=i]);
                        out.push_str(&new);
                        copied = end;
                    }
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&value[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

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

    fn dav() -> Relocation {
        Relocation::try_new("http://public:8080/dav", "http://origin/webdav").unwrap()
    }

    /// X3 with the fixes: the absolute form gets the upstream's authority.
    #[test]
    fn vector_x3_destination() {
        let c = Relocation::try_new(
            "http://localhost:8080/app",
            "http://backend.internal:8081/real/",
        )
        .unwrap();
        let mut h = headers(&[("destination", "http://localhost:8080/app/b.txt")]);
        destination(&mut h, &c).unwrap();
        assert_eq!(h["destination"], "http://backend.internal:8081/real/b.txt");
    }

    #[test]
    fn destination_forms_and_refusals() {
        let table = [
            ("http://public:8080/dav/b", "http://origin/webdav/b"),
            ("HTTP://PUBLIC:8080/dav/b%20c", "http://origin/webdav/b%20c"),
            ("/dav/b", "/webdav/b"),
            ("/dav", "/webdav"),
        ];
        for (input, want) in table {
            let mut h = headers(&[("destination", input)]);
            destination(&mut h, &dav()).unwrap();
            assert_eq!(h["destination"], want, "{input}");
        }
        // A remote root without an origin: the absolute form becomes a path, never
        // the public authority.
        let path_remote = Relocation::try_new("http://public:8080/dav", "/webdav").unwrap();
        let mut h = headers(&[("destination", "http://public:8080/dav/b")]);
        destination(&mut h, &path_remote).unwrap();
        assert_eq!(h["destination"], "/webdav/b");
        let refused = [
            ("http://evil/dav/b", StatusCode::BAD_GATEWAY),
            ("http://public:8080/other/b", StatusCode::BAD_GATEWAY),
            ("/dav/../other/b", StatusCode::BAD_GATEWAY),
            ("/davx/b", StatusCode::BAD_GATEWAY),
            ("b", StatusCode::BAD_GATEWAY),
            ("/dav/a b", StatusCode::BAD_REQUEST),
        ];
        for (input, status) in refused {
            let mut h = headers(&[("destination", input)]);
            assert_eq!(
                destination(&mut h, &dav()).unwrap_err().status,
                status,
                "{input}"
            );
        }
        let mut h = headers(&[("destination", "/dav/a"), ("destination", "/dav/b")]);
        assert_eq!(
            destination(&mut h, &dav()).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        let mut none = HeaderMap::new();
        destination(&mut none, &dav()).unwrap();
    }

    #[test]
    fn if_header_resource_tags_only() {
        let value = r#"<http://public:8080/dav/a> (<opaquelocktoken:1-2> ["etag<>(x)"]) (Not <urn:uuid:3>) </dav/b> (["e"]) <http://evil/dav/c> (<x>)"#;
        let mut h = headers(&[("if", value)]);
        if_tagged_lists(&mut h, &dav());
        assert_eq!(
            h["if"],
            r#"<http://origin/webdav/a> (<opaquelocktoken:1-2> ["etag<>(x)"]) (Not <urn:uuid:3>) </webdav/b> (["e"]) <http://evil/dav/c> (<x>)"#
        );
        // Untagged lists are untouched.
        let mut h = headers(&[("if", "(<opaquelocktoken:1>)")]);
        if_tagged_lists(&mut h, &dav());
        assert_eq!(h["if"], "(<opaquelocktoken:1>)");
    }

    #[test]
    fn referer_and_origin_reverse_mapping() {
        let c = Relocation::try_new(
            "http://localhost:8080/app",
            "http://backend.internal:8081/real/",
        )
        .unwrap();
        let mut h = headers(&[
            ("referer", "http://localhost:8080/app/"),
            ("origin", "http://localhost:8080"),
        ]);
        referer_and_origin(&mut h, &c);
        assert_eq!(h["referer"], "http://backend.internal:8081/real/");
        assert_eq!(h["origin"], "http://backend.internal:8081");
        let mut h = headers(&[("referer", "http://elsewhere/app/"), ("origin", "null")]);
        referer_and_origin(&mut h, &c);
        assert_eq!(h["referer"], "http://elsewhere/app/");
        assert_eq!(h["origin"], "null");
    }
}
