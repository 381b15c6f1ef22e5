//! The escaped-slash policy on the path of WebDAV's `Destination`, the second path a
//! request forwards on the client's behalf (`COPY` and `MOVE` write there).
//!
//! [`ResolveLayer`](crate::ResolveLayer) applies the server's policy and
//! [`EscapedSlashesLayer`](crate::EscapedSlashesLayer) a route's `reject`, each to the
//! request path and, through [`police`], to the path of every `Destination` value: an
//! absolute URI (`http://host/path`, or the network-path `//host/path` that the
//! relocation layer also maps) or an absolute path, found by the workspace's one
//! [`Reference`] split; the query and fragment are not looked at.
//!
//! | policy | `Destination` path |
//! |---|---|
//! | `keep` | unchanged |
//! | `reject` | refused (400) as the request path would be; otherwise unchanged |
//! | `decode` | decoded by [`decode_path`], the request path's own decoding, so `..%2F` reaches the relocation layer as `../`; refused (400) where the request path would be |
//!
//! A value that is not text, or not one of those forms (a relative or opaque
//! reference), is left as it is, to the layers further in.

use std::borrow::Cow;

use frontdoor_core::{
    decode_path,
    proto::{Reference, DESTINATION},
    CanonicalOptions, EncodedSlash, Error,
};
use http::{header::Entry, HeaderMap, HeaderValue};

/// Holds the path of each `Destination` value to `options`' escaped-slash policy: a
/// refusal is a bad-request error; under [`EncodedSlash::Decode`] the decoded path
/// replaces the old one (scheme, authority, query and fragment kept byte for byte).
pub(crate) fn police(headers: &mut HeaderMap, options: CanonicalOptions) -> Result<(), Error> {
    // `entry` may grow the map: look first.
    if options.encoded_slash == EncodedSlash::Keep || !headers.contains_key(DESTINATION) {
        return Ok(());
    }
    let Entry::Occupied(mut entry) = headers.entry(DESTINATION) else {
        return Ok(());
    };
    for value in entry.iter_mut() {
        if let Some(decoded) = police_value(value, options)? {
            *value = decoded;
        }
    }
    Ok(())
}

/// One `Destination` value: `Some` with the decoded value when decoding changed it.
fn police_value(
    value: &HeaderValue,
    options: CanonicalOptions,
) -> Result<Option<HeaderValue>, Error> {
    let Ok(text) = value.to_str() else {
        return Ok(None);
    };
    let reference = Reference::split(text);
    let forwarded_path = match (reference.scheme(), reference.authority()) {
        (_, Some(_)) => true,
        (None, None) => reference.path().starts_with('/'),
        (Some(_), None) => false,
    };
    if !forwarded_path {
        return Ok(None);
    }
    let decoded = decode_path(reference.path(), options)?;
    match decoded {
        Cow::Owned(path)
            if options.encoded_slash == EncodedSlash::Decode && path != reference.path() =>
        {
            let new = [reference.head(), &path, reference.tail()].concat();
            HeaderValue::try_from(new).map(Some).map_err(|e| {
                Error::bad_request("decoded Destination is not a header value").with_source(e)
            })
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use frontdoor_core::{Body, HostSource, Resolved};
    use http::{uri::Scheme, Request, Response, StatusCode};
    use tower::{service_fn, Layer, ServiceExt};

    use super::*;
    use crate::{EscapedSlashesLayer, ResolveLayer};

    /// What the next layer saw: the status, and the `Destination` values forwarded.
    type Seen = (StatusCode, Vec<String>);

    /// Answers 200 with the `Destination` values it was sent, one a line.
    async fn echo_destination(req: Request<Body>) -> Result<Response<Body>, Infallible> {
        let values: Vec<&str> = req
            .headers()
            .get_all(DESTINATION)
            .iter()
            .map(|v| v.to_str().unwrap_or("<bytes>"))
            .collect();
        Ok(Response::new(Body::from(values.join("\n"))))
    }

    async fn seen<S>(svc: S, destinations: &[&[u8]]) -> Seen
    where
        S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
    {
        let mut req = Request::builder().method("MOVE").uri("/davr/src");
        for d in destinations {
            req = req.header(DESTINATION, HeaderValue::from_bytes(d).unwrap());
        }
        let res = svc.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let status = res.status();
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body = String::from_utf8(body.to_vec()).unwrap();
        let forwarded = if status == StatusCode::OK {
            body.lines().map(str::to_owned).collect()
        } else {
            Vec::new()
        };
        (status, forwarded)
    }

    /// Through the resolver, with the server's policy.
    async fn resolved(policy: EncodedSlash, destinations: &[&[u8]]) -> Seen {
        let layer =
            ResolveLayer::direct().canonical_options(CanonicalOptions::new().encoded_slash(policy));
        let svc = layer.layer(service_fn(echo_destination));
        let svc = tower::util::MapRequest::new(svc, |mut req: Request<Body>| {
            req.headers_mut()
                .insert(http::header::HOST, HeaderValue::from_static("localhost"));
            req
        });
        seen(svc, destinations).await
    }

    fn ok(value: &str) -> Seen {
        (StatusCode::OK, vec![value.to_owned()])
    }

    fn refused() -> Seen {
        (StatusCode::BAD_REQUEST, Vec::new())
    }

    /// A `Destination` value; the value forwarded under `decode`, and under `reject`
    /// (`None`: refused with 400). `keep` forwards every one unchanged.
    const VECTORS: &[(&str, Option<&str>, Option<&str>)] = &[
        (
            "http://localhost/davr/..%2f..%2fsecret",
            Some("http://localhost/davr/../../secret"),
            None,
        ),
        (
            "http://localhost/davr/..%2F..%2Fsecret",
            Some("http://localhost/davr/../../secret"),
            None,
        ),
        ("/davr/..%2f..%2fsecret", Some("/davr/../../secret"), None),
        ("/davr/..%2F..%2Fsecret", Some("/davr/../../secret"), None),
        (
            "http://localhost/davr/..%5c..%5csecret",
            Some("http://localhost/davr/..\\..\\secret"),
            None,
        ),
        ("/davr/a%5Cb", Some("/davr/a\\b"), None),
        (
            "http://localhost/davr/a\\b",
            Some("http://localhost/davr/a\\b"),
            None,
        ),
        ("/davr/..\\secret", Some("/davr/..\\secret"), None),
        (
            "http://localhost/davr/..;/secret",
            Some("http://localhost/davr/..;/secret"),
            None,
        ),
        ("/davr/..;/secret", Some("/davr/..;/secret"), None),
        ("/davr/%2e%2e;/secret", Some("/davr/..;/secret"), None),
        // The network-path form the relocation layer maps like an absolute URI.
        (
            "//localhost/davr/..%2fsecret",
            Some("//localhost/davr/../secret"),
            None,
        ),
        // Malformed escapes and NUL: refused as in a request path.
        ("/davr/a%zz/..%2fsecret", None, None),
        ("http://localhost/davr/a%00", None, None),
        // Clean paths pass every policy; the query and fragment are not looked at.
        (
            "http://localhost/davr/dst",
            Some("http://localhost/davr/dst"),
            Some("http://localhost/davr/dst"),
        ),
        (
            "HTTP://LocalHost:80/davr/a%20b?x=%2F#..;\\",
            Some("HTTP://LocalHost:80/davr/a%20b?x=%2F#..;\\"),
            Some("HTTP://LocalHost:80/davr/a%20b?x=%2F#..;\\"),
        ),
        (
            "/davr/dst?x=%5C",
            Some("/davr/dst?x=%5C"),
            Some("/davr/dst?x=%5C"),
        ),
        (
            "http://localhost",
            Some("http://localhost"),
            Some("http://localhost"),
        ),
        // Decoding decodes as the request path does; reject forwards what it passes
        // as it came.
        ("/davr/%7euser", Some("/davr/~user"), Some("/davr/%7euser")),
        // Not an absolute URI or path: left to the layers that handle it today.
        (
            "davr/..%2fsecret",
            Some("davr/..%2fsecret"),
            Some("davr/..%2fsecret"),
        ),
        ("mailto:a%2Fb", Some("mailto:a%2Fb"), Some("mailto:a%2Fb")),
        (
            "http:/davr/..%2f",
            Some("http:/davr/..%2f"),
            Some("http:/davr/..%2f"),
        ),
    ];

    #[tokio::test(flavor = "current_thread")]
    async fn the_server_policy_covers_the_destination_path() {
        for (input, decoded, rejected) in VECTORS {
            let d: &[&[u8]] = &[input.as_bytes()];
            assert_eq!(
                resolved(EncodedSlash::Keep, d).await,
                ok(input),
                "keep {input:?}"
            );
            assert_eq!(
                resolved(EncodedSlash::Decode, d).await,
                decoded.map_or_else(refused, ok),
                "decode {input:?}"
            );
            assert_eq!(
                resolved(EncodedSlash::Reject, d).await,
                rejected.map_or_else(refused, ok),
                "reject {input:?}"
            );
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_route_narrowed_to_reject_covers_the_destination_path() {
        let route = || EscapedSlashesLayer::reject().layer(service_fn(echo_destination));
        for (input, _, rejected) in VECTORS {
            let d: &[&[u8]] = &[input.as_bytes()];
            assert_eq!(
                seen(route(), d).await,
                rejected.map_or_else(refused, ok),
                "{input:?}"
            );
        }
        // Behind a resolver that decoded, the route sees the decoded path: `..%2F` is
        // `../` by then (passed on, for the relocation layer's `..` check), `%5C` a
        // raw `\` (refused).
        let decoded = |input: &'static str| {
            let mut req = Request::builder()
                .method("MOVE")
                .uri("/davr/src")
                .header(DESTINATION, input)
                .body(Body::empty())
                .unwrap();
            let resolved =
                Resolved::new(Scheme::HTTP, "localhost", 80, "/davr/src", HostSource::Host)
                    .with_canonical(CanonicalOptions::new().encoded_slash(EncodedSlash::Decode));
            req.extensions_mut().insert(resolved);
            req
        };
        let res = route()
            .oneshot(decoded("/davr/../../secret"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = route().oneshot(decoded("/davr/a\\b")).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn every_value_is_held_to_the_policy() {
        let two: &[&[u8]] = &[b"/davr/a", b"/davr/..%2fb"];
        assert_eq!(resolved(EncodedSlash::Reject, two).await, refused());
        assert_eq!(
            resolved(EncodedSlash::Decode, two).await,
            (
                StatusCode::OK,
                vec!["/davr/a".to_owned(), "/davr/../b".to_owned()]
            )
        );
        // A value that is not text is left alone.
        let bytes: &[&[u8]] = &[b"/davr/\xff..%2fb"];
        for policy in [EncodedSlash::Reject, EncodedSlash::Decode] {
            assert_eq!(
                resolved(policy, bytes).await,
                (StatusCode::OK, vec!["<bytes>".to_owned()]),
                "{policy}"
            );
        }
        // No Destination: nothing to do.
        assert_eq!(
            resolved(EncodedSlash::Reject, &[]).await,
            (StatusCode::OK, Vec::new())
        );
    }
}
