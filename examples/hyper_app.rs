//! Example 1 on bare hyper: local handlers, a proxied `/api`, tower-http's trace,
//! timeout and compression layers, served by hyper-util's connection builder from
//! an accept loop of our own.
//!
//! Without axum, the tower-http layers wrap the whole stack (hyper takes any response
//! body), and [`ConnInfoLayer`] gives each connection's requests their `ConnInfo`.
//!
//! Run `cargo run -p frontdoor-examples --example hyper_app` (the `/api` upstream is
//! the built-in echo backend on a free port), then:
//!
//! ```text
//! curl -s http://127.0.0.1:3000/hello
//! curl -s --path-as-is http://127.0.0.1:3000/x/../whoami
//! curl -s 'http://127.0.0.1:3000/api/users?id=1'
//! ```
#![allow(clippy::print_stdout, reason = "example output")]

use std::{convert::Infallible, time::Duration};

use frontdoor::{conn::ConnInfoLayer, core::ConnInfo, core::Resolved, Body, BoxError};
use frontdoor::{core::text_response, ServiceBuilderExt};
use frontdoor::{resolve::DirectResolver, route, serve::Server, upstream::Upstream};
use http::{Request, Response, StatusCode};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
    service::TowerToHyperService,
};
use tokio::net::TcpListener;
use tower::{Layer, ServiceBuilder};
use tower_http::{compression::CompressionLayer, timeout::TimeoutLayer, trace::TraceLayer};

/// The local handlers.
async fn local(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(match req.uri().path() {
        "/hello" => text_response(StatusCode::OK, "hello from hyper"),
        "/whoami" => {
            let resolved = req.extensions().get::<Resolved>().map(ToString::to_string);
            let peer = req.extensions().get::<ConnInfo>().map(|c| c.remote.ip());
            text_response(
                StatusCode::OK,
                format!(
                    "{} peer={}",
                    resolved.unwrap_or_default(),
                    peer.map_or_else(String::new, |p| p.to_string())
                ),
            )
        }
        "/report" => text_response(StatusCode::OK, "all systems nominal\n".repeat(100)),
        _ => text_response(StatusCode::NOT_FOUND, "Not Found"),
    })
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
    run(listener, &api_url).await
}

/// Serves the app on `listener`, with `/api` proxied to `api` (a base URL).
pub(crate) async fn run(listener: TcpListener, api: &str) -> Result<(), BoxError> {
    let api = ServiceBuilder::new()
        .gateway_errors()
        .service(Upstream::new(api)?);
    let routes = route::Router::builder().route("::/api", api).into_layer()?;
    let app = ServiceBuilder::new()
        .layer(TraceLayer::new_for_http())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(10),
        ))
        .layer(CompressionLayer::new())
        .resolve(DirectResolver::new())
        .routes(routes)
        .service_fn(local);

    loop {
        let (stream, remote) = listener.accept().await?;
        let conn = ConnInfo::new(stream.local_addr()?, remote);
        let svc = TowerToHyperService::new(ConnInfoLayer::new(conn).layer(app.clone()));
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            if let Err(error) = builder.serve_connection(TokioIo::new(stream), svc).await {
                tracing::debug!(%error, "connection failed");
            }
        });
    }
}
