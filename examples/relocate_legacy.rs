//! The relocation layer alone, in front of a legacy app that names itself
//! `http://legacy.internal/legacy/` in its redirects and cookies: what nginx's
//! `proxy_redirect` and `proxy_cookie_domain`/`proxy_cookie_path` do.
//!
//! The public root is `http://<listen address>/`; the app's root is
//! `http://legacy.internal/legacy`. `Location` and cookies come back under the public
//! root; anything naming another host or path is left alone.
//!
//! Run `cargo run -p frontdoor-examples --example relocate_legacy` (the legacy app
//! starts on a free port), then:
//!
//! ```text
//! curl -si http://127.0.0.1:3000/login
//! ```
#![allow(clippy::print_stdout, reason = "example output")]

use axum::{
    http::{header, StatusCode},
    response::IntoResponse,
    routing::get,
    Router,
};
use frontdoor::relocate::{Profile, RelocateLayer};
use frontdoor::{serve::Server, upstream::Upstream, BoxError, ServiceBuilderExt};
use tokio::net::TcpListener;
use tower::ServiceBuilder;

/// The legacy app: it knows itself only as `http://legacy.internal/legacy`.
pub(crate) fn legacy_app() -> Router {
    async fn login() -> impl IntoResponse {
        (
            StatusCode::FOUND,
            [
                (header::LOCATION, "http://legacy.internal/legacy/home"),
                (
                    header::SET_COOKIE,
                    "sid=42; Domain=legacy.internal; Path=/legacy; HttpOnly",
                ),
            ],
        )
    }
    async fn elsewhere() -> impl IntoResponse {
        (
            StatusCode::FOUND,
            [(header::LOCATION, "http://partner.example/legacy/x")],
        )
    }
    Router::new()
        .route("/legacy/login", get(login))
        .route("/legacy/home", get(|| async { "legacy home\n" }))
        .route("/legacy/elsewhere", get(elsewhere))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let legacy = TcpListener::bind("127.0.0.1:0").await?;
    let legacy_url = format!("http://{}/legacy", legacy.local_addr()?);
    tokio::spawn(async move { axum::serve(legacy, legacy_app()).await });

    let listener = TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    run(listener, &legacy_url).await
}

/// Serves `upstream` (the legacy app's base URL) under the root of `listener`.
pub(crate) async fn run(listener: TcpListener, upstream: &str) -> Result<(), BoxError> {
    let public = format!("http://{}/", listener.local_addr()?);
    let relocation = RelocateLayer::new(Profile::Plain)
        .remote_root("http://legacy.internal/legacy".parse()?)
        .local_root(public.parse()?);
    let app = ServiceBuilder::new()
        .gateway_errors()
        .relocate(relocation)
        .service(Upstream::new(upstream)?);
    Server::from_listeners(vec![listener])
        .serve_with_shutdown(app, frontdoor::serve::shutdown_signal())
        .await?;
    Ok(())
}
