//! What a plan is built with beside its description ([`Options`]), who observes it
//! ([`Observer`]), and the erased service type of its routes.

use std::{collections::BTreeMap, convert::Infallible, net::SocketAddr, sync::Arc};

use frontdoor_core::{Body, BoxError};
use frontdoor_mirror::MirrorStats;
use frontdoor_relocate::RelocateEvent;
use frontdoor_upstream::ProxyError;
use http::{Request, Response};
use tower::{util::BoxCloneSyncService, Service, ServiceExt as _};

use crate::plan::checked::Builtin;

/// The erased service of a route, and of a whole plan.
pub type RouteService = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// A service given in code that a `service:NAME` target ends in, erased.
pub(super) type TargetService = BoxCloneSyncService<Request<Body>, Response<Body>, BoxError>;

/// What a plan's stack reports to whoever observes it: upstream failures, requests
/// a rate limit answered 429, relocation events, the counters of each route's mirror
/// and the health checks' verdicts. Every method
/// has a default that does nothing.
pub trait Observer: Send + Sync + 'static {
    /// An upstream failure on `route` (its label: its name, `route[N]` or `default`),
    /// before the gateway layer answers it.
    fn upstream_error(&self, route: &str, error: &ProxyError) {
        let _ = (route, error);
    }

    /// A request to `route` was answered 429 by its `rate_limit`.
    fn rate_limited(&self, route: &str) {
        let _ = route;
    }

    /// `n` spans were dropped (the export queue was full).
    fn spans_dropped(&self, n: u64) {
        let _ = n;
    }

    /// A relocation event on `route`: a compressed body passed on unrewritten (an
    /// unknown or stacked coding), or one cut off past `[server] max_decoded_body`.
    fn relocate_event(&self, route: &str, event: &RelocateEvent) {
        let _ = (route, event);
    }

    /// The counters of `route`'s mirror, when it has one.
    fn mirror_stats(&self, route: &str) -> Option<MirrorStats> {
        let _ = route;
        None
    }

    /// The health checks' verdict on `route`'s address `upstream` (as configured):
    /// reported when its checks start (healthy) and at each change.
    fn upstream_health(&self, route: &str, upstream: &str, healthy: bool) {
        let _ = (route, upstream, healthy);
    }

    /// `route`'s address `upstream` left (DNS discovery no longer finds it): its
    /// health is no longer checked.
    fn upstream_gone(&self, route: &str, upstream: &str) {
        let _ = (route, upstream);
    }
}

/// What a plan is built with beside its description: where the things outside it
/// are (built-in backends, TLS listeners, the services `service:NAME` targets end
/// in) and who observes it.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct Options {
    pub(super) builtins: BTreeMap<Builtin, SocketAddr>,
    pub(crate) tls_ports: Vec<u16>,
    pub(crate) observer: Option<Arc<dyn Observer>>,
    pub(super) services: BTreeMap<String, TargetService>,
    pub(crate) splice_bodies: bool,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("builtins", &self.builtins)
            .field("tls_ports", &self.tls_ports)
            .field("services", &self.services.keys().collect::<Vec<_>>())
            .field("splice_bodies", &self.splice_bodies)
            .finish_non_exhaustive()
    }
}

impl Options {
    /// The defaults: no built-in backends started (their upstreams are a closed
    /// loopback port), no TLS listeners, no services, no observer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in backend `builtin` listens at `addr`.
    #[must_use]
    pub fn builtin(mut self, builtin: Builtin, addr: SocketAddr) -> Self {
        self.builtins.insert(builtin, addr);
        self
    }

    /// The ports of the TLS listeners in front of the plan: they join the `https`
    /// scheme label (unless labelled otherwise), and the first is where `redirect_https`
    /// sends clients (443 without one).
    #[must_use]
    pub fn tls_ports(mut self, ports: impl IntoIterator<Item = u16>) -> Self {
        self.tls_ports = ports.into_iter().collect();
        self
    }

    /// `service` ends the targets whose upstream is `service:NAME`, below their
    /// per-route layers (tag, cleanup filter, https redirect, gateway errors, request
    /// buffer, in-flight limit, compression, mirror, upstream span), in place of the
    /// built-in upstream client: a [`Mapper`](frontdoor_upstream::Mapper), say. Its
    /// errors go through the route's gateway-error layer (a [`ProxyError`] becomes
    /// its 502, 503 or 504). Each worker's stack gets a clone, so clones should share
    /// what must be shared (a mapper's clones share its clients). A second service
    /// under the same name replaces the first.
    ///
    /// A plan whose description names a service not registered here fails to build,
    /// the error at the target's `upstream` key.
    #[must_use]
    pub fn service<S>(mut self, name: &str, service: S) -> Self
    where
        S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + Sync + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        let erased = BoxCloneSyncService::new(service.map_err(Into::into));
        self.services.insert(name.to_owned(), erased);
        self
    }

    /// Whether the routes' plain-`http` upstreams offer their response bodies for
    /// splicing ([`UpstreamBuilder::splice_bodies`](frontdoor_upstream::UpstreamBuilder::splice_bodies)):
    /// served by `frontdoor-serve`'s HTTP/1 fast path on Linux over plain TCP, a
    /// body's data then goes from the upstream's socket to the client's with
    /// `splice(2)`. The plan's own layers that read or rewrite bodies (relocation,
    /// mirror, compression) take the offer off the answers they rewrite or capture.
    /// Turn it on only when no layer around the plan's service reads response
    /// bodies (the `frontdoor` binary's access log and metrics do not). Default off.
    #[must_use]
    pub const fn splice_bodies(mut self, on: bool) -> Self {
        self.splice_bodies = on;
        self
    }

    /// Reports upstream failures and mirror counters to `observer`.
    #[must_use]
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The port plaintext requests are redirected to: the first TLS listener's, else
    /// 443.
    pub(super) fn https_port(&self) -> u16 {
        self.tls_ports
            .iter()
            .copied()
            .find(|&p| p != 0)
            .unwrap_or(443)
    }
}
