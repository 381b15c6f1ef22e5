//! An axum app with a frontdoor route inside it: local handlers and a proxied `/api`,
//! all under tower-http's trace, timeout and compression layers, served by
//! `axum::serve`.
//!
//! frontdoor's router is an axum route service (`route_service("/api/{*rest}", ..)`),
//! so the tower-http layers, put on the `Router` with `Router::layer` as axum
//! documents, cover the proxied route as they cover the handlers (axum maps every
//! body, so nothing here converts one): a stalled upstream is cut off by the
//! `TimeoutLayer`'s deadline, a proxied answer is compressed. The resolver wraps the
//! whole `Router` from outside, so its canonical path reaches axum's routing
//! (`/x/../whoami` is `/whoami`) and the handlers and the route see one `Resolved`.
//!
//! Run `cargo run -p frontdoor-examples --example axum_app` (the `/api` upstream is
//! the built-in echo backend on a free port), then:
//!
//! ```text
//! curl -s http://127.0.0.1:3000/hello
//! curl -s --path-as-is http://127.0.0.1:3000/x/../whoami
//! curl -s 'http://127.0.0.1:3000/api/users?id=1'
//! ```
#![allow(clippy::print_stdout, reason = "example output")]

use std::time::Duration;

use axum::{http::StatusCode, routing::get, Router};
use frontdoor::axum::{conn_info, ConnInfo, Mount, Resolved};
use frontdoor::{resolve::DirectResolver, route, serve::Server, upstream::Upstream};
use frontdoor::{BoxError, ServiceBuilderExt};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::{compression::CompressionLayer, timeout::TimeoutLayer, trace::TraceLayer};

async fn hello() -> &'static str {
    "hello from axum\n"
}

/// What frontdoor resolved for this request, and where it came from.
async fn whoami(resolved: Resolved, mount: Mount, conn: ConnInfo) -> String {
    format!(
        "{resolved} script_name={:?} peer={}\n",
        mount.script_name(),
        conn.remote.ip()
    )
}

/// A long page, so that compression has something to do.
async fn report() -> String {
    "all systems nominal\n".repeat(100)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt().init();
    // A stand-in for the API: the echo backend, on a free loopback port.
    let api = Server::bind(&["127.0.0.1:0".parse()?]).await?;
    let api_url = format!("http://{}", api.local_addrs()?[0]);
    tokio::spawn(api.serve(frontdoor::demo::echo()));

    let listener = TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    run(listener, &api_url, Duration::from_secs(10)).await
}

/// Serves the app on `listener`, with `/api` proxied to `api` (a base URL) and every
/// request (proxied or not) answered 504 past `timeout`.
pub(crate) async fn run(
    listener: TcpListener,
    api: &str,
    timeout: Duration,
) -> Result<(), BoxError> {
    // `/api/...` goes to the upstream as `/...` (frontdoor's router consumes the
    // prefix); gateway errors become 502/503/504 answers.
    let upstream = ServiceBuilder::new()
        .gateway_errors()
        .service(Upstream::new(api)?);
    let api = route::Router::builder().route("::/api", upstream).build()?;

    let app = Router::new()
        .route("/hello", get(hello))
        .route("/whoami", get(whoami))
        .route("/report", get(report))
        .route_service("/api", api.clone())
        .route_service("/api/{*rest}", api)
        .layer(TraceLayer::new_for_http())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            timeout,
        ))
        .layer(CompressionLayer::new());
    let app = ServiceBuilder::new()
        .resolve(DirectResolver::new())
        .service(app);
    axum::serve(listener, conn_info(app)).await?;
    Ok(())
}
