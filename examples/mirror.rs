//! Traffic shadowing: every `GET` to the primary is copied to a shadow (a candidate
//! version of the same service), the two answers compared by status and JSON body,
//! and the differences counted; the client only ever gets the primary's answer.
//!
//! The shadow's copy goes through the same upstream client as the primary's request
//! (`frontdoor::mirror_to`), on its own task with its own timeout and in-flight bound,
//! so a slow or failing shadow never delays or fails the client.
//!
//! Run `cargo run -p frontdoor-examples --example mirror` (both apps start on free
//! ports), then:
//!
//! ```text
//! curl -s http://127.0.0.1:3000/price
//! ```
#![allow(clippy::print_stdout, reason = "example output")]

use axum::{http::header, routing::get, Router};
use frontdoor::mirror::{Comparator, MirrorStats};
use frontdoor::{serve::Server, upstream::Upstream, BoxError, ServiceBuilderExt};
use tokio::net::TcpListener;
use tower::ServiceBuilder;

/// The service, answering the price `price`.
pub(crate) fn price_app(price: u32) -> Router {
    let body = format!("{{\"price\": {price}}}");
    Router::new().route(
        "/price",
        get(move || async move { ([(header::CONTENT_TYPE, "application/json")], body) }),
    )
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let primary = TcpListener::bind("127.0.0.1:0").await?;
    let primary_url = format!("http://{}", primary.local_addr()?);
    tokio::spawn(async move { axum::serve(primary, price_app(10)).await });
    let shadow = TcpListener::bind("127.0.0.1:0").await?;
    let shadow_url = format!("http://{}", shadow.local_addr()?);
    tokio::spawn(async move { axum::serve(shadow, price_app(11)).await });

    let listener = TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    let stats = MirrorStats::new();
    run(listener, &primary_url, &shadow_url, stats).await
}

/// Serves the primary at `primary` on `listener`, shadowing every `GET` to `shadow`
/// and counting into `stats`.
pub(crate) async fn run(
    listener: TcpListener,
    primary: &str,
    shadow: &str,
    stats: MirrorStats,
) -> Result<(), BoxError> {
    let mirror = frontdoor::mirror_to(shadow)?
        .compare([Comparator::Status, Comparator::Json])
        .stats(stats);
    let svc = ServiceBuilder::new()
        .gateway_errors()
        .mirror(mirror)
        .service(Upstream::new(primary)?);
    Server::from_listeners(vec![listener]).serve(svc).await?;
    Ok(())
}
