//! The real frontdoor stack, built once per test in front of a deproxy origin:
//!
//! ```text
//! serve::Server (ConnInfo, framing guard, header-read timeout)
//!   └ ResolveLayer(DirectResolver)         400 on invalid/conflicting hosts
//!       └ Router
//!           ├ app.test:*:/clean  ─ Filter(CleanupLayer(rules)) ─┐
//!           └ *:*:/              ───────────────────────────────┴ GatewayError(Upstream → origin)
//! ```
//!
//! Every timeout is short ([`TIMEOUT`]) so the fault tests finish quickly, and every
//! client exchange is bounded by [`CLIENT_BOUND`], far above it: a test that hits the
//! bound has found a hang.

use std::{convert::Infallible, net::SocketAddr, time::Duration};

use frontdoor::{
    cleanup::{CleanupLayer, Rules},
    resolve::{DirectResolver, ResolveLayer},
    route::{Filter, Router},
    upstream::{GatewayErrorLayer, HostPolicy, Upstream},
    Body,
};
use frontdoor_deproxy::{handlers, Deproxy, Endpoint};
use frontdoor_tests::{bind_loopback, spawn, Running};
use http::{header, HeaderName, Request, Response};
use tower::{util::BoxCloneSyncService, ServiceBuilder};

/// The route service type of the router.
pub(crate) type RouteService = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// Every timeout of the front: header read, upstream connect, response head, body idle.
pub(crate) const TIMEOUT: Duration = Duration::from_millis(300);
/// A bound on any single client exchange: far above [`TIMEOUT`].
pub(crate) const CLIENT_BOUND: Duration = Duration::from_secs(5);

/// The spec of the route with the cleanup filter.
pub(crate) const CLEAN_ROUTE: &str = "app.test:*:/clean";

/// The header the cleanup rules set, and its value.
pub(crate) const CLEANED: (&str, &str) = ("x-cleaned", "yes");

/// A front running on `127.0.0.1:0`; dropping it shuts the server down.
#[derive(Debug)]
pub(crate) struct Front {
    /// The server, shut down gracefully when dropped.
    pub(crate) running: Running,
    /// `http://127.0.0.1:port`.
    pub(crate) url: String,
}

impl Front {
    /// The front's URL followed by `path`.
    pub(crate) fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

/// The upstream route service for `origin`: the real [`Upstream`] with short
/// timeouts, inside [`GatewayErrorLayer`], boxed.
pub(crate) fn upstream(origin: SocketAddr) -> RouteService {
    let upstream = Upstream::builder(&format!("http://{origin}"))
        .host(HostPolicy::Preserve)
        .connect_timeout(Some(TIMEOUT))
        .head_timeout(Some(TIMEOUT))
        .body_idle_timeout(Some(TIMEOUT))
        .pool_idle_timeout(Some(TIMEOUT))
        // The deproxy's `upgrade_echo` origin speaks the `echo` protocol.
        .upgrades(["websocket", "echo"])
        // Long and chunked answers are spliced on the fast path.
        .splice_bodies(true)
        .build()
        .expect("a valid upstream");
    BoxCloneSyncService::new(
        ServiceBuilder::new()
            .layer(GatewayErrorLayer::new())
            .service(upstream),
    )
}

/// The cleanup rules of [`CLEAN_ROUTE`]: drop `Cookie`, set [`CLEANED`], and set
/// `Host` from the resolver's verdict.
pub(crate) fn cleanup_rules() -> Rules {
    Rules::builder()
        .remove(header::COOKIE)
        .set(HeaderName::from_static(CLEANED.0), CLEANED.1)
        .reset_host()
        .build()
        .expect("valid cleanup rules")
}

/// The router: [`CLEAN_ROUTE`] through the cleanup filter, then everything else,
/// both to `service`.
pub(crate) fn router(service: RouteService) -> Router {
    Router::builder()
        .route_with_filter(
            CLEAN_ROUTE,
            service.clone(),
            Filter::new(CleanupLayer::new(cleanup_rules())),
        )
        .route("*:*:/", service)
        .build()
        .expect("a valid route table")
}

/// Starts the whole stack in front of `origin`.
pub(crate) async fn front(origin: SocketAddr) -> Front {
    front_with(upstream(origin)).await
}

/// An echo origin on `d` and the whole stack in front of it.
pub(crate) async fn echo_front(d: &Deproxy) -> (Endpoint, Front) {
    let origin = d
        .endpoint()
        .handler(handlers::echo())
        .start()
        .await
        .expect("echo origin starts");
    let front = front(origin.addr()).await;
    (origin, front)
}

/// Starts the whole stack with `service` (normally [`upstream`], possibly wrapped)
/// behind the router.
pub(crate) async fn front_with(service: RouteService) -> Front {
    let stack = ServiceBuilder::new()
        .layer(ResolveLayer::new(DirectResolver::new()))
        .service(router(service));
    let server = bind_loopback(1).await.header_read_timeout(TIMEOUT);
    let running = spawn(server, stack);
    let url = format!("http://{}", running.addr());
    Front { running, url }
}
