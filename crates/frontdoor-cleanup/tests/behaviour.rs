//! Security (S7 header injection) and target behaviour beyond the spec tables.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod support;

use std::convert::Infallible;

use frontdoor_cleanup::{CleanupErrorKind, CleanupLayer, Rules, Syntax, Target};
use frontdoor_core::{Body, ConnInfo, Resolved, Vars};
use http::{header::HOST, HeaderName, HeaderValue, Request, Response};
use support::{env, request, run};
use tower::{util::BoxCloneSyncService, Layer, ServiceExt};

const X_A: HeaderName = HeaderName::from_static("x-a");

/// A request carrying `evil` in the variable `evil`.
fn with_evil(evil: &str) -> Request<Body> {
    let mut req = request(&[("HTTP_X_A", "original")]);
    let mut vars = Vars::default();
    vars.set("evil", evil);
    req.extensions_mut().insert(vars);
    req
}

#[tokio::test(flavor = "current_thread")]
async fn s7_runtime_injection_through_templates_and_copies_is_skipped() {
    let attempts = [
        "v\r\nX-Injected: 1",
        "v\nX-Injected: 1",
        "v\rX-Injected: 1",
        "v\0",
        "\r\n\r\nGET /smuggled HTTP/1.1",
    ];
    let rule_sets = [
        Rules::builder().template(X_A, "%(evil)s").build().unwrap(),
        Rules::builder()
            .template(X_A, "pre-%s-%(evil)s")
            .build()
            .unwrap(),
        Rules::builder()
            .set_default(X_A, "%(evil)s")
            .build()
            .unwrap(),
        Rules::builder()
            .copy(Target::var("evil"), X_A)
            .build()
            .unwrap(),
        Rules::parse(Syntax::Shortcut, "=evil: HTTP_X_A").unwrap(),
        Rules::parse(Syntax::Shortcut, "%HTTP_X_A: %(evil)s").unwrap(),
    ];
    for rules in &rule_sets {
        for evil in attempts {
            let seen = run(rules, with_evil(evil)).await;
            // the rule was skipped: the header keeps its value, nothing was injected
            assert_eq!(seen.env["HTTP_X_A"], "original", "{rules:?} with {evil:?}");
            assert!(!seen.env.contains_key("HTTP_X_INJECTED"));
        }
    }
    // set_default on an absent header: skipped, the header stays absent
    let rules = Rules::builder()
        .set_default(X_A, "%(evil)s")
        .build()
        .unwrap();
    let mut req = with_evil("a\r\nb");
    req.headers_mut().clear();
    let seen = run(&rules, req).await;
    assert!(!seen.env.contains_key("HTTP_X_A"));
}

#[tokio::test(flavor = "current_thread")]
async fn s7_injection_into_paths_is_skipped() {
    let rules = Rules::parse(
        Syntax::Shortcut,
        "%PATH_INFO: %(evil)s\n%REQUEST_URI: %(evil)s",
    )
    .unwrap();
    let mut req = with_evil("/a\r\nb");
    req.extensions_mut()
        .insert(frontdoor_core::OriginalUri("/orig".parse().unwrap()));
    *req.uri_mut() = "/p?q".parse().unwrap();
    let seen = run(&rules, req).await;
    assert_eq!(seen.uri, "/p?q");
    assert_eq!(seen.env["REQUEST_URI"], "/orig");
}

#[test]
fn s7_literal_injection_is_a_build_error() {
    for text in [
        "HTTP_X_A: \"a\rb\"",
        "wfront.replace.HTTP_X_A: \"a\u{0}b\"",
        "%HTTP_X_A: \"%s\u{0}\"",
        "||=HTTP_X_A: \"\u{7f}\"",
    ] {
        let err = Rules::parse(Syntax::Shortcut, text).unwrap_err();
        assert!(
            matches!(err.kind(), CleanupErrorKind::InvalidValue(_)),
            "{text:?}: {err}"
        );
    }
    // typed API: CR/LF in a set value or template text
    let err = Rules::builder().set(X_A, "a\r\nb: c").build().unwrap_err();
    assert_eq!(err.rule(), "set(header:x-a)");
    let err = Rules::builder().template(X_A, "%s\n").build().unwrap_err();
    assert_eq!(err.rule(), "template(header:x-a)");
}

#[tokio::test(flavor = "current_thread")]
async fn reset_host_without_resolved_is_skipped() {
    let rules = Rules::builder().reset_host().build().unwrap();
    let seen = run(&rules, request(&[("HTTP_HOST", "keep")])).await;
    assert_eq!(seen.env, env(&[("HTTP_HOST", "keep")]));
}

#[tokio::test(flavor = "current_thread")]
async fn reset_host_updates_an_absolute_form_authority() {
    let rules = Rules::builder().reset_host().build().unwrap();
    let mut req = Request::new(Body::empty());
    *req.uri_mut() = "http://other:81/x?y".parse().unwrap();
    req.extensions_mut()
        .insert("h:8080:/x".parse::<Resolved>().unwrap());
    let seen = run(&rules, req).await;
    assert_eq!(seen.uri, "http://h:8080/x?y");
    assert_eq!(seen.env["HTTP_HOST"], "h:8080");
}

#[tokio::test(flavor = "current_thread")]
async fn scheme_targets() {
    // absolute-form uri: its scheme changes too; Resolved absent
    let rules = Rules::parse(Syntax::Verbose, "wsgi.url_scheme: https").unwrap();
    let mut req = Request::new(Body::empty());
    *req.uri_mut() = "http://h/x".parse().unwrap();
    assert_eq!(run(&rules, req).await.uri, "https://h/x");

    // only ConnInfo: readable, not writable (skipped), never altered
    let rules = Rules::parse(Syntax::Shortcut, "%seen: %(HTTPS)s\nHTTPS: off").unwrap();
    let mut req = Request::new(Body::empty());
    let info = ConnInfo::new(
        "127.0.0.1:1".parse().unwrap(),
        "127.0.0.1:2".parse().unwrap(),
    );
    req.extensions_mut().insert(info.with_tls(true));
    let seen = run(&rules, req).await;
    assert_eq!(seen.env, env(&[("seen", "https")]));
}

#[tokio::test(flavor = "current_thread")]
async fn header_copies_keep_every_value_byte_for_byte() {
    let rules = Rules::parse(Syntax::Shortcut, "=HTTP_X_SRC: HTTP_X_DST").unwrap();
    let echo = tower::service_fn(|req: Request<Body>| async move {
        let values: Vec<HeaderValue> = req.headers().get_all("x-dst").iter().cloned().collect();
        Ok::<_, Infallible>(Response::new(values))
    });
    let mut req = Request::new(Body::empty());
    req.headers_mut()
        .append("x-src", HeaderValue::from_static("a"));
    req.headers_mut()
        .append("x-src", HeaderValue::from_bytes(b"\xffopaque").unwrap());
    req.headers_mut()
        .append("x-dst", HeaderValue::from_static("old"));
    let res = CleanupLayer::new(rules)
        .layer(echo)
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(
        res.into_body(),
        [
            HeaderValue::from_static("a"),
            HeaderValue::from_bytes(b"\xffopaque").unwrap()
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn works_as_a_route_filter_over_box_clone_sync_service() {
    type Route = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;
    let app: Route = BoxCloneSyncService::new(tower::service_fn(|req: Request<Body>| async move {
        let mut res = Response::new(Body::empty());
        res.headers_mut().insert(
            "x-host",
            req.headers()
                .get(HOST)
                .cloned()
                .unwrap_or(HeaderValue::from_static("-")),
        );
        Ok::<_, Infallible>(res)
    }));
    // a filter is a boxed layer over the route service type
    let filter: Box<dyn Fn(Route) -> Route + Send + Sync> = {
        let layer =
            CleanupLayer::new(Rules::parse(Syntax::Shortcut, "||=HTTP_HOST: fallback").unwrap());
        Box::new(move |inner| BoxCloneSyncService::new(layer.layer(inner)))
    };
    let route = filter(app);
    let res = route
        .clone()
        .oneshot(Request::new(Body::empty()))
        .await
        .unwrap();
    assert_eq!(res.headers()["x-host"], "fallback");
    let req = Request::builder()
        .header(HOST, "given")
        .body(Body::empty())
        .unwrap();
    let res = route.oneshot(req).await.unwrap();
    assert_eq!(res.headers()["x-host"], "given");
}

#[test]
fn order_within_a_category_is_kept_and_categories_are_fixed() {
    let a = Rules::builder()
        .set(Target::var("x"), "1")
        .copy(Target::var("y"), Target::var("x"))
        .set(Target::var("x"), "2")
        .build()
        .unwrap();
    let names: Vec<String> = a.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            r"copy var:y -> var:x",
            r#"set var:x "1""#,
            r#"set var:x "2""#
        ]
    );
}
