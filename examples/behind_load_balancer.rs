//! The forwarded-host resolver alone, in an axum app behind a load balancer: the
//! handler reads the public host, port and client the balancer vouches for.
//!
//! Forwarding headers are believed only from the configured proxies, and only when
//! the request carries `ConnInfo` (its peer address): `axum::serve` inserts none, so
//! the app is served through `conn_info`. From anyone else they are ignored (and,
//! here, stripped before the app sees them).
//!
//! Run `cargo run -p frontdoor-examples --example behind_load_balancer` (it trusts
//! loopback, playing the balancer itself), then:
//!
//! ```text
//! curl -s -H 'X-Forwarded-Host: shop.example.com' -H 'X-Forwarded-Proto: https' \
//!      -H 'X-Forwarded-For: 192.0.2.7' http://127.0.0.1:3000/whoami
//! ```
#![allow(clippy::print_stdout, reason = "example output")]

use axum::{routing::get, Router};
use frontdoor::axum::{conn_info, PeerTrust, Resolved};
use frontdoor::{resolve::ForwardedResolver, resolve::ResolveLayer, BoxError};
use http::HeaderMap;
use tokio::net::TcpListener;
use tower::ServiceBuilder;

/// The public URL the client used, as the balancer tells it.
async fn whoami(resolved: Resolved, trust: PeerTrust, headers: HeaderMap) -> String {
    format!(
        "{}://{}{} client={} trusted={} forwarded_headers_seen={}\n",
        resolved.scheme,
        resolved.authority(),
        resolved.path,
        trust.client,
        trust.peer_trusted,
        headers.contains_key("x-forwarded-host"),
    )
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let listener = TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    run(listener, &["127.0.0.1"]).await
}

/// Serves the app on `listener`, trusting forwarding headers from `balancers`.
pub(crate) async fn run(listener: TcpListener, balancers: &[&str]) -> Result<(), BoxError> {
    let app = Router::new().route("/whoami", get(whoami));
    let resolve =
        ResolveLayer::new(ForwardedResolver::try_new(balancers)?).strip_untrusted_forwarded(true);
    let app = ServiceBuilder::new().layer(resolve).service(app);
    axum::serve(listener, conn_info(app)).await?;
    Ok(())
}
