//! What a route's service sees with its prefix consumed and kept.

use std::convert::Infallible;

use frontdoor_core::{text_response, Body, Mount};
use http::{Request, Response, StatusCode};
use tower::{service_fn, ServiceExt};

use super::{Filter, Prefix, RouteOptions, Router};
use crate::{Mode, RouteSpec};

/// Answers `script name|path info|uri`.
async fn show(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let mount = Mount::of(&req);
    Ok(text_response(
        StatusCode::OK,
        format!(
            "{}|{}|{}",
            mount.script_name(),
            mount.path_info(),
            req.uri()
        ),
    ))
}

async fn get(router: &Router, uri: &str) -> String {
    let req = Request::builder()
        .uri(uri)
        .header("host", "h")
        .body(Body::empty())
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    format!(
        "{status} {}",
        String::from_utf8(body.to_vec()).unwrap().trim_end()
    )
}

fn keep() -> RouteOptions {
    RouteOptions::new().prefix(Prefix::Keep)
}

#[tokio::test]
async fn a_kept_prefix_stays_in_the_path_info() {
    let router = Router::builder()
        .route_with_options("::/api", service_fn(show), keep())
        .route("::/users", service_fn(show))
        .route_with_options("::/both", service_fn(show), RouteOptions::new())
        .build()
        .unwrap();
    assert_eq!(
        get(&router, "/api/users?page=2").await,
        "200 |/api/users|/api/users?page=2"
    );
    assert_eq!(get(&router, "/api").await, "200 |/api|/api");
    assert_eq!(get(&router, "/users/7?x").await, "200 /users|/7|/7?x");
    assert_eq!(get(&router, "/both/a").await, "200 /both|/a|/a");
    // Matching is unchanged: still on segment boundaries.
    assert_eq!(get(&router, "/apix").await, "404 Not Found");
    // The path seen is the canonical one that was matched.
    assert_eq!(get(&router, "/x/../api/./v1").await, "200 |/api/v1|/api/v1");
}

#[tokio::test]
async fn a_nested_router_keeps_the_outer_script_name() {
    let inner = Router::builder()
        .route_with_options("::/v1", service_fn(show), keep())
        .route("::/v2", service_fn(show))
        .build()
        .unwrap();
    let outer = Router::builder().route("::/api", inner).build().unwrap();
    assert_eq!(
        get(&outer, "/api/v1/users").await,
        "200 /api|/v1/users|/v1/users"
    );
    assert_eq!(
        get(&outer, "/api/v2/users").await,
        "200 /api/v2|/users|/users"
    );
}

#[tokio::test]
async fn a_regex_route_keeps_the_whole_path() {
    let spec = || RouteSpec::regex(r"[^:]+:[0-9]+:(?P<pathinfo>/v[0-9]+)");
    let kept = Router::builder()
        .route_with_options(spec(), service_fn(show), keep())
        .build()
        .unwrap();
    let consumed = Router::builder()
        .route(spec(), service_fn(show))
        .build()
        .unwrap();
    assert_eq!(get(&kept, "/v2/users").await, "200 |/v2/users|/v2/users");
    assert_eq!(get(&consumed, "/v2/users").await, "200 /v2|/users|/users");
}

#[tokio::test]
async fn a_compat_route_keeps_the_whole_path() {
    let kept = Router::builder()
        .mode(Mode::Wfront04)
        .route_with_options("*:*:/svn", service_fn(show), keep())
        .build()
        .unwrap();
    assert_eq!(get(&kept, "/svn/trunk").await, "200 |/svn/trunk|/svn/trunk");
}

#[tokio::test]
async fn a_kept_prefix_goes_with_a_filter() {
    let tag = Filter::new(tower::util::MapRequestLayer::new(
        |mut req: Request<Body>| {
            let mount = Mount::of(&req);
            let marked = Mount::new(format!("<{}>", mount.script_name()), mount.path_info());
            req.extensions_mut().insert(marked);
            req
        },
    ));
    let router = Router::builder()
        .route_with_options("::/api", service_fn(show), keep().filter(tag))
        .build()
        .unwrap();
    // The filter runs after the (absent) consumption and sees the whole path.
    assert_eq!(get(&router, "/api/a").await, "200 <>|/api/a|/api/a");
}

#[test]
fn options_are_send_sync_clone() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    send_sync_clone::<RouteOptions>();
    send_sync_clone::<Prefix>();
}
