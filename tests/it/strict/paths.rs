//! `escaped_slashes`: `keep` (the default) forwards `%2F`, `%5C`, `\` and `;` path
//! parameters untouched; `reject` answers 400 and forwards nothing; `decode` decodes
//! `%2F` and `%5C` before routing, so the router and the upstream see one path. A
//! route may narrow `keep` to `reject`, and paths written by cleanup rules are
//! canonicalised again.

use frontdoor::{
    cleanup::{CleanupLayer, Rules, Target},
    core::{CanonicalOptions, EncodedSlash},
    resolve::{DirectResolver, EscapedSlashesLayer, ResolveLayer},
    route::{Filter, Router},
};
use frontdoor_deproxy::Deproxy;
use frontdoor_tests::{bind_loopback, spawn};
use tower::ServiceBuilder;

use super::{answers, exchange};
use crate::stack::support::{upstream, Front, RouteService, TIMEOUT};

/// The stack with `policy` at the resolver and these routes: `::/strict` narrowed to
/// `reject` by a route filter, `::/rewrite` whose cleanup rule writes the path info
/// from the `x-path` header, and everything else.
async fn front(policy: EncodedSlash, service: RouteService) -> Front {
    let rewrite = Rules::builder()
        .template(Target::PathInfo, "%(HTTP_X_PATH)s")
        .build()
        .unwrap();
    let router = Router::builder()
        .route_with_filter(
            "::/strict",
            service.clone(),
            Filter::new(EscapedSlashesLayer::reject()),
        )
        .route_with_filter(
            "::/rewrite",
            service.clone(),
            Filter::new(CleanupLayer::new(rewrite)),
        )
        .route("::/", service)
        .build()
        .unwrap();
    let options = CanonicalOptions::new().encoded_slash(policy);
    let stack = ServiceBuilder::new()
        .layer(ResolveLayer::new(DirectResolver::new()).canonical_options(options))
        .service(router);
    let server = bind_loopback(1).await.header_read_timeout(TIMEOUT);
    let running = spawn(server, stack);
    let url = format!("http://{}", running.addr());
    Front { running, url }
}

/// Sends `GET target` (with `extra` header lines) and returns the status and the
/// path the origin received, if any.
async fn get(policy: EncodedSlash, target: &str, extra: &str) -> (u16, Option<String>) {
    let d = Deproxy::new();
    let origin = d.add_endpoint().await.unwrap();
    let front = front(policy, upstream(origin.addr())).await;
    let raw =
        format!("GET {target} HTTP/1.1\r\nHost: app.test\r\n{extra}Connection: close\r\n\r\n");
    let out = exchange(front.running.addr(), raw.as_bytes()).await;
    let got = answers(&out);
    assert_eq!(
        got.len(),
        1,
        "{target}: {:?}",
        String::from_utf8_lossy(&out)
    );
    let path = d
        .all_handlings()
        .pop()
        .map(|h| h.request.uri().path().to_owned());
    (got[0].status, path)
}

const AMBIGUOUS: [&str; 9] = [
    "/a%2Fb",
    "/a%2fb",
    "/a%5Cb",
    "/a%5cb",
    "/a\\b",
    "/app/..;/admin",
    "/..;/admin",
    "/app/%2e%2e;/admin",
    "/app/..;jsessionid=1/admin",
];

#[tokio::test]
async fn reject_answers_400_and_forwards_nothing() {
    for target in AMBIGUOUS {
        assert_eq!(
            get(EncodedSlash::Reject, target, "").await,
            (400, None),
            "{target}"
        );
    }
    // Path parameters elsewhere, and dots that do not start a segment, are fine.
    for target in ["/a;v=1/b", "/a/b..;", "/a/.;b"] {
        assert_eq!(
            get(EncodedSlash::Reject, target, "").await.0,
            200,
            "{target}"
        );
    }
}

#[tokio::test]
async fn keep_forwards_them_untouched() {
    for (target, forwarded) in [
        ("/a%2fb", "/a%2Fb"),
        ("/a%5Cb", "/a%5Cb"),
        ("/a\\b", "/a\\b"),
        ("/app/..;/admin", "/app/..;/admin"),
    ] {
        assert_eq!(
            get(EncodedSlash::Keep, target, "").await,
            (200, Some(forwarded.to_owned())),
            "{target}"
        );
    }
}

#[tokio::test]
async fn decode_decodes_before_routing_and_forwards_what_was_matched() {
    for (target, forwarded) in [
        ("/a%2Fb", "/a/b"),
        ("/a%2f%2fb", "/a/b"),
        ("/public/..%2Fadmin", "/admin"),
        ("/a%5Cb", "/a\\b"),
        // `%2Fstrict` becomes `/strict`: the narrowed route matches it.
        ("/x/..%2Fstrict/a%2Fb", "/a/b"),
    ] {
        assert_eq!(
            get(EncodedSlash::Decode, target, "").await,
            (200, Some(forwarded.to_owned())),
            "{target}"
        );
    }
}

#[tokio::test]
async fn a_route_narrows_keep_to_reject() {
    for target in ["/strict/a%2Fb", "/strict/a\\b", "/strict/..;/x"] {
        assert_eq!(
            get(EncodedSlash::Keep, target, "").await,
            (400, None),
            "{target}"
        );
    }
    assert_eq!(
        get(EncodedSlash::Keep, "/strict/ok", "").await,
        (200, Some("/ok".to_owned()))
    );
    // Other routes keep.
    assert_eq!(get(EncodedSlash::Keep, "/other/a%2Fb", "").await.0, 200);
}

#[tokio::test]
async fn paths_written_by_cleanup_rules_are_canonicalised_again() {
    assert_eq!(
        get(EncodedSlash::Keep, "/rewrite", "X-Path: /a/../b/./c\r\n").await,
        (200, Some("/b/c".to_owned()))
    );
    assert_eq!(
        get(EncodedSlash::Decode, "/rewrite", "X-Path: /a%2F..%2Fb\r\n").await,
        (200, Some("/b".to_owned()))
    );
    // Under reject, a rewrite to an ambiguous path is refused: the request keeps the
    // path it had (the rule's write is skipped and logged), never the ambiguous one.
    let (status, path) = get(EncodedSlash::Reject, "/rewrite", "X-Path: /a%2Fb\r\n").await;
    assert_eq!(status, 200);
    assert_ne!(path.as_deref(), Some("/a%2Fb"));
}
