//! The stack plan as a library user meets it: one description from TOML or from
//! code, a plan's route inside an axum app, and state shared by every worker's stack
//! and carried over a reload.

use std::{net::SocketAddr, time::Duration};

use axum::routing::get;
use frontdoor::{
    plan::{Description, Mirror, Options, Plan, Route},
    Body,
};
use http::{header, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::sync::mpsc;
use tower::ServiceExt;

/// How long a test waits for something that should happen at once.
const BOUND: Duration = Duration::from_secs(10);

/// An origin under `/v1`: `/v1/hang` reports its arrival and never answers,
/// `/v1/page` redirects to its own absolute URL of `/v1/next`, anything else answers
/// the path it saw. Shadow requests (under `/shadow`) are reported on `shadowed`.
async fn origin(
    arrived: mpsc::UnboundedSender<()>,
    shadowed: mpsc::UnboundedSender<(String, String)>,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move |req: Request<axum::body::Body>| {
        let (arrived, shadowed) = (arrived.clone(), shadowed.clone());
        async move {
            let path = req.uri().path().to_owned();
            if path.starts_with("/shadow") {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .map_or_else(String::new, |v| v.to_str().unwrap_or_default().to_owned());
                let _ = shadowed.send((path.clone(), id));
            }
            match path.as_str() {
                "/v1/hang" => {
                    let _ = arrived.send(());
                    std::future::pending::<()>().await;
                    Response::new(Body::empty())
                }
                "/v1/page" => Response::builder()
                    .status(StatusCode::FOUND)
                    .header(header::LOCATION, format!("http://{addr}/v1/next"))
                    .body(Body::empty())
                    .unwrap(),
                _ => Response::new(Body::from(format!("origin saw {path}"))),
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn request(host: &str, path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, host)
        .body(Body::empty())
        .unwrap()
}

async fn text(res: Response<Body>) -> String {
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

const TOML: &str = r#"
[server]
via = "edge"

[[route]]
spec = "::/api"
upstream = "http://127.0.0.1:8081/v1"
relocate = "plain"
max_in_flight = 2
mirror = { upstream = "http://127.0.0.1:8082/shadow", sample = 0.5 }

[[route]]
regex = '^static\.example\.com:[^:]*:(?P<pathinfo>.*)$'
upstream = ["http://127.0.0.1:8083", "http://127.0.0.1:8084"]
cleanup = { "-/" = "/assets" }

[default]
upstream = "http://127.0.0.1:8085"
"#;

/// The same front door from its TOML text and from code: equal descriptions, the
/// same route table.
#[test]
fn a_plan_from_code_and_from_toml_gives_the_same_routes() {
    let from_text = Description::from_toml(TOML).unwrap();
    let mut api_mirror = Mirror::new("http://127.0.0.1:8082/shadow");
    api_mirror.sample = Some(0.5);
    let mut from_code = Description::new()
        .route(
            Route::new("::/api", "http://127.0.0.1:8081/v1")
                .relocate("plain")
                .max_in_flight(2)
                .mirror(api_mirror),
        )
        .route({
            let mut route = Route::target("-")
                .upstreams(["http://127.0.0.1:8083", "http://127.0.0.1:8084"])
                .cleanup("-/", "/assets");
            route.regex = Some(r"^static\.example\.com:[^:]*:(?P<pathinfo>.*)$".to_owned());
            route
        })
        .default_target(Route::target("http://127.0.0.1:8085"));
    from_code.server.via = Some("edge".into());
    assert_eq!(from_text, from_code);

    let (a, b) = (
        Plan::new(&from_text).unwrap(),
        Plan::new(&from_code).unwrap(),
    );
    assert_eq!(a.table(), b.table());
    let matchers: Vec<&str> = a.rows().iter().map(|r| r.matcher.as_str()).collect();
    assert_eq!(
        matchers,
        [
            "::/api",
            r"regex ^static\.example\.com:[^:]*:(?P<pathinfo>.*)$",
            "(default)"
        ]
    );
    assert_eq!(a.checked().settings.via.as_deref(), Some("edge"));
}

/// An axum app whose `/api` is a plan's route: relocated, mirrored and limited, with
/// no body conversion anywhere (the plan's service answers axum's own body type).
#[tokio::test]
async fn an_axum_app_serves_a_route_from_a_plan() {
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let (shadowed_tx, mut shadowed) = mpsc::unbounded_channel();
    let origin = origin(arrived_tx, shadowed_tx).await;
    let description = Description::new().route(
        Route::new("::/api", &format!("http://{origin}/v1"))
            .relocate("plain")
            .max_in_flight(1)
            .mirror(Mirror::new(&format!("http://{origin}/shadow"))),
    );
    let plan = Plan::new(&description).unwrap();
    let app = axum::Router::new()
        .route("/hello", get(|| async { "hello from axum" }))
        .route_service("/api/{*rest}", plan.service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let host = addr.to_string();

    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Body>();
    let get = |path: &str| {
        let req = Request::get(format!("http://{addr}{path}"))
            .body(Body::empty())
            .unwrap();
        let client = client.clone();
        async move { client.request(req).await.unwrap().map(Body::new) }
    };
    let res = get("/hello").await;
    assert_eq!(text(res).await, "hello from axum");

    // Relocated: the origin's own URL becomes the front door's.
    let res = get("/api/page").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let page_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(
        res.headers()[header::LOCATION],
        format!("http://{host}/api/next")
    );
    let res = get("/api/users").await;
    assert_eq!(text(res).await, "origin saw /v1/users");
    // Mirrored: the shadow gets the request as the upstream does, under its own base,
    // with the same request ID.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let shadow = tokio::time::timeout(BOUND, shadowed.recv())
            .await
            .unwrap()
            .unwrap();
        seen.push(shadow);
    }
    seen.sort();
    let paths: Vec<&str> = seen.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(paths, ["/shadow/page", "/shadow/users"]);
    assert_eq!(seen[0].1, page_id);

    // Limited: with one request held, the next is refused at once.
    let held = tokio::spawn(get("/api/hang"));
    tokio::time::timeout(BOUND, arrived.recv())
        .await
        .unwrap()
        .unwrap();
    let res = get("/api/users").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    held.abort();
}

/// Two workers' stacks of one plan count against one `max_in_flight`, and a reload
/// that changes another route keeps it, permits taken included; a reload that
/// changes the limited route starts it afresh.
#[tokio::test]
async fn workers_share_a_plan_and_a_reload_keeps_what_did_not_change() {
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let (shadowed_tx, _shadowed) = mpsc::unbounded_channel();
    let origin = origin(arrived_tx, shadowed_tx).await;
    let limited = Route::new("a::/", &format!("http://{origin}/v1")).max_in_flight(2);
    let other = |base: &str| Route::new("b::/", &format!("http://{origin}{base}"));
    let description = Description::new()
        .route(limited.clone())
        .route(other("/v1"));
    let plan = Plan::new(&description).unwrap();
    let (first, second) = (plan.service(), plan.service());

    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(tokio::spawn(first.clone().oneshot(request("a", "/hang"))));
        tokio::time::timeout(BOUND, arrived.recv())
            .await
            .unwrap()
            .unwrap();
    }
    let res = second.clone().oneshot(request("a", "/x")).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let res = second.oneshot(request("b", "/x")).await.unwrap();
    assert_eq!(text(res).await, "origin saw /v1/x");

    // Another route changes: the limited one keeps its semaphore and its permits.
    let changed_other = Description::new()
        .route(limited.clone())
        .route(other("/v2"));
    let reloaded = plan
        .reload(changed_other.check().unwrap(), Options::new())
        .unwrap();
    let res = reloaded
        .service()
        .oneshot(request("a", "/x"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let res = reloaded
        .service()
        .oneshot(request("b", "/x"))
        .await
        .unwrap();
    assert_eq!(text(res).await, "origin saw /v2/x");
    assert!(reloaded
        .state()
        .route(0)
        .unwrap()
        .shares_parts(plan.state().route(0).unwrap()));

    // The limited route changes: a fresh semaphore, so the next request goes through.
    let changed_limited = Description::new()
        .route(limited.max_in_flight(3))
        .route(other("/v2"));
    let fresh = reloaded
        .reload(changed_limited.check().unwrap(), Options::new())
        .unwrap();
    held.push(tokio::spawn(fresh.service().oneshot(request("a", "/hang"))));
    tokio::time::timeout(BOUND, arrived.recv())
        .await
        .unwrap()
        .unwrap();
    held.iter().for_each(tokio::task::JoinHandle::abort);
}

/// A hand-built route from one URL: the upstream client and its relocation share it,
/// so the origin's own redirect comes back under the route's public prefix.
#[tokio::test]
async fn one_url_gives_an_upstream_and_its_relocation() {
    use frontdoor::{relocate::Profile, resolve::ResolveLayer, route::Router, ServiceBuilderExt};
    use tower::ServiceBuilder;

    let (arrived_tx, _arrived) = mpsc::unbounded_channel();
    let (shadowed_tx, _shadowed) = mpsc::unbounded_channel();
    let origin = origin(arrived_tx, shadowed_tx).await;
    let api = ServiceBuilder::new().gateway_errors().service(
        frontdoor::relocated_upstream(Profile::Plain, &format!("http://{origin}/v1")).unwrap(),
    );
    let svc = ServiceBuilder::new()
        .layer(ResolveLayer::direct())
        .layer(Router::builder().route("::/api", api).into_layer().unwrap())
        .service(tower::service_fn(|_: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
        }));
    let res = svc
        .oneshot(request("front.example", "/api/page"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(
        res.headers()[header::LOCATION],
        "http://front.example/api/next"
    );
}
