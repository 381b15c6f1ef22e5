//! The seams between frontdoor's layers and the apps around them: one body type with
//! axum, and one canonical path between the resolver and the router.

use std::convert::Infallible;

use axum::routing::get;
use frontdoor::{
    core::{CanonicalOptions, Mount, Resolved},
    resolve::ResolveLayer,
    route::Router,
    upstream::{GatewayErrorLayer, Upstream},
    Body,
};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{Layer, ServiceBuilder, ServiceExt};

async fn body_text(res: Response<Body>) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// An axum `Router` with a local handler, inside frontdoor's resolve and route layers
/// with a proxied `/api` mount, served by `axum::serve`. Nothing in the stack below
/// converts a body: `frontdoor::Body` is axum's body type.
#[tokio::test]
async fn axum_router_inside_frontdoor_layers_served_by_axum_serve() {
    // The upstream: another axum app, reporting the path it was asked for.
    let origin = axum::Router::new().fallback(|req: Request<axum::body::Body>| async move {
        format!("origin saw {}", req.uri())
    });
    let origin_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin_addr = origin_listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(origin_listener, origin).await });

    // The app: local handlers, plus frontdoor's layers with a proxied route.
    let app = axum::Router::new().route("/hello", get(|| async { "hello from axum" }));
    let api =
        GatewayErrorLayer::new().layer(Upstream::new(&format!("http://{origin_addr}/v1")).unwrap());
    let stack = ServiceBuilder::new()
        .layer(ResolveLayer::direct())
        .layer(Router::builder().route("::/api", api).into_layer().unwrap())
        .service(app);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let make = tower::make::Shared::new(stack);
    tokio::spawn(async move { axum::serve(listener, make).await });

    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Body>();
    let get = |path: &str| {
        let req = Request::get(format!("http://{addr}{path}"))
            .body(Body::empty())
            .unwrap();
        client.request(req)
    };
    let res = get("/hello").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res.map(Body::new)).await, "hello from axum");
    // Canonicalised by the resolver before axum routes it.
    let res = get("/x/../hello").await.unwrap();
    assert_eq!(body_text(res.map(Body::new)).await, "hello from axum");
    let res = get("/api/users?id=1").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        body_text(res.map(Body::new)).await,
        "origin saw /v1/users?id=1"
    );
    let res = get("/nowhere").await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// With non-default canonicalisation options, the router matches and forwards the
/// path the resolver produced, never a re-canonicalised one.
#[tokio::test]
async fn router_and_resolver_agree_on_the_path_under_non_default_options() {
    let seen = |req: Request<Body>| async move {
        let resolved = req.extensions().get::<Resolved>().cloned().unwrap();
        let mount = Mount::of(&req);
        Ok::<_, Infallible>(Response::new(Body::from(format!(
            "{} {} {} {}",
            resolved.path,
            mount.script_name(),
            mount.path_info(),
            req.uri()
        ))))
    };
    let options = CanonicalOptions::new().merge_slashes(false);
    let stack = ServiceBuilder::new()
        .layer(ResolveLayer::direct().canonical_options(options))
        .service(
            Router::builder()
                .route("::/a", tower::service_fn(seen))
                .build()
                .unwrap(),
        );
    let req = Request::get("/a//b/./c?q=1")
        .header("host", "h")
        .body(Body::empty())
        .unwrap();
    let res = stack.clone().oneshot(req).await.unwrap();
    // The resolver kept `//` (merge_slashes(false)) and removed `.`; the router did
    // not merge the slashes again.
    assert_eq!(body_text(res).await, "/a//b/c /a //b/c //b/c?q=1");

    // The same table without a resolver canonicalises with the defaults.
    let bare = Router::builder()
        .route("::/a", tower::service_fn(seen))
        .build()
        .unwrap();
    let stamped = ResolveLayer::direct().layer(bare);
    let req = Request::get("/a//b")
        .header("host", "h")
        .body(Body::empty())
        .unwrap();
    let res = stamped.oneshot(req).await.unwrap();
    assert_eq!(body_text(res).await, "/a/b /a /b /b");
}

/// The per-route layers compose in the documented order without any body
/// conversion: `.gateway_errors().mirror(..)` over an `Upstream`, where the mirror
/// answers its own capturing body type and the gateway layer takes it as it is.
#[tokio::test]
async fn gateway_errors_over_the_mirror_over_an_upstream_compiles_and_works() {
    let origin = axum::Router::new()
        .fallback(|req: Request<axum::body::Body>| async move { format!("saw {}", req.uri()) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, origin).await });

    let mirror = frontdoor_mirror::MirrorLayer::new(
        Upstream::new(&format!("http://{addr}/shadow")).unwrap(),
    );
    let svc = ServiceBuilder::new()
        .layer(GatewayErrorLayer::new())
        .layer(mirror)
        .service(Upstream::new(&format!("http://{addr}/v1")).unwrap());
    let res = svc
        .clone()
        .oneshot(Request::get("/x").body(Body::empty()).unwrap())
        .await
        .unwrap_or_else(|e: Infallible| match e {});
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res).await, "saw /v1/x");

    // An upstream that refuses: the gateway layer answers 502 through the mirror.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap();
    drop(closed);
    let mirror = frontdoor_mirror::MirrorLayer::new(
        Upstream::new(&format!("http://{addr}/shadow")).unwrap(),
    );
    let svc = ServiceBuilder::new()
        .layer(GatewayErrorLayer::new())
        .layer(mirror)
        .service(Upstream::new(&format!("http://{dead}")).unwrap());
    let res = svc
        .oneshot(Request::get("/x").body(Body::empty()).unwrap())
        .await
        .unwrap_or_else(|e: Infallible| match e {});
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
}

/// Every order of the per-route layers between the gateway layer and the upstream
/// compiles as it is: relocation outside or inside the mirror, and tower's
/// concurrency limit (the in-flight limit) anywhere between them.
#[test]
fn the_per_route_layers_compose_in_any_order() {
    fn answers<S>(_: &S)
    where
        S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
    }
    let upstream = || Upstream::new("http://127.0.0.1:9/base").unwrap();
    let mirror =
        || frontdoor_mirror::MirrorLayer::new(Upstream::new("http://127.0.0.1:9").unwrap());
    let relocate = || {
        frontdoor_relocate::RelocateLayer::new(frontdoor_relocate::Profile::WebDav)
            .remote_root("http://127.0.0.1:9/base".try_into().unwrap())
    };
    answers(
        &ServiceBuilder::new()
            .layer(GatewayErrorLayer::new())
            .layer(relocate())
            .layer(mirror())
            .service(upstream()),
    );
    answers(
        &ServiceBuilder::new()
            .layer(GatewayErrorLayer::new())
            .layer(mirror())
            .layer(relocate())
            .service(upstream()),
    );
    answers(
        &ServiceBuilder::new()
            .layer(GatewayErrorLayer::new())
            .load_shed()
            .concurrency_limit(10)
            .layer(mirror())
            .service(upstream()),
    );
}
