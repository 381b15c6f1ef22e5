//! An existing axum `Router` kept as the default, with `by_scheme` routing in front of
//! it on two listeners: the public one, and an admin one whose app is reached on its
//! own socket only.
//!
//! The admin listener is labelled `admin` ([`ByScheme::listener`]), and the route
//! `*:admin` matches that label, which comes from the socket a request arrived on,
//! never from `Host`: a request to the public socket naming the admin port in `Host`
//! gets the public app, and a request to the admin socket with any `Host` gets the
//! admin app. frontdoor's server inserts the `ConnInfo` the label is read from.
//!
//! Run `cargo run -p frontdoor-examples --example admin_listener`, then:
//!
//! ```text
//! curl -s http://127.0.0.1:3000/                              # the public app
//! curl -s http://127.0.0.1:9000/                              # the admin app
//! curl -s -H 'Host: localhost:9000' http://127.0.0.1:3000/    # still the public app
//! ```
#![allow(clippy::print_stdout, reason = "example output")]

use axum::{routing::get, Router};
use frontdoor::axum::Resolved;
use frontdoor::by_scheme::{by_scheme_with, ByScheme};
use frontdoor::{core::Schemes, resolve::DirectResolver, route, serve::Server, BoxError};
use tokio::net::TcpListener;

/// The app that was there before frontdoor.
fn public_app() -> Router {
    Router::new()
        .route("/", get(|| async { "public home\n" }))
        .route(
            "/where",
            get(|resolved: Resolved| async move { format!("public: {resolved}\n") }),
        )
}

/// The admin app.
fn admin_app() -> Router {
    Router::new()
        .route("/", get(|| async { "admin home\n" }))
        .route(
            "/where",
            get(|resolved: Resolved| async move { format!("admin: {resolved}\n") }),
        )
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let public = TcpListener::bind("127.0.0.1:3000").await?;
    let admin = TcpListener::bind("127.0.0.1:9000").await?;
    println!("public on http://{}", public.local_addr()?);
    println!("admin on http://{}", admin.local_addr()?);
    run(public, admin).await
}

/// Serves the public app on `public` and the admin app on `admin`.
pub(crate) async fn run(public: TcpListener, admin: TcpListener) -> Result<(), BoxError> {
    let resolver =
        ByScheme::new(DirectResolver::new(), Schemes::new()).listener(admin.local_addr()?, "admin");
    let routes = route::Router::builder()
        .route("*:admin", admin_app())
        .fallback(public_app());
    let app = by_scheme_with(resolver, routes)?;
    Server::from_listeners(vec![public, admin])
        .serve_with_shutdown(app, frontdoor::serve::shutdown_signal())
        .await?;
    Ok(())
}
