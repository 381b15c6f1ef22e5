//! Several upstream addresses for one route: power-of-two-choices balancing with
//! tower's [`p2c::Balance`], passive ejection, and safe retries.
//!
//! * **Balancing**: tower's p2c balancer picks two ready addresses at random and sends
//!   to the one with fewer requests awaiting a response head.
//! * **Passive ejection**: after `eject_after` consecutive connect failures (DNS,
//!   refused, connect timeout) an address is not ready for `eject_for`; when that
//!   period ends it gets one trial request (one more connect failure ejects it again).
//!   When every address is ejected, requests fail at once with
//!   [`ProxyErrorKind::Unavailable`] (503 through the gateway layer).
//! * **Active health**: whoever checks the addresses (the plan's health checks)
//!   records its verdict with [`BalanceHealth::set_healthy`]. A request goes to the
//!   addresses that are both healthy and not ejected; when there are none it goes to
//!   every address (fail open), so unhealthy addresses are tried rather than the
//!   request refused (only ejected ones, whose connects fail, stay out).
//! * **Retries** (bounded by `retries`): only idempotent methods (GET, HEAD, OPTIONS,
//!   TRACE, PUT, DELETE), only requests without a body (so not a byte of body can have
//!   been sent, and nothing needs buffering), never upgrades, and only after a connect
//!   failure. Each attempt gets a fresh readiness check, so p2c picks again and an
//!   address ejected by the failure is skipped.
//!
//! * **Shared health**: every clone of a [`Balanced`] shares its addresses' health
//!   and load; so do separately built ones given one [`BalanceHealth`]
//!   ([`BalancedBuilder::health`]), as each worker's stack of one route is: an address
//!   ejected by one worker's failures is ejected for all.
//! * **Changing members**: the shared health's members start as one per upstream;
//!   [`BalanceHealth::set_members`] replaces them (DNS discovery: each [`Member`] an
//!   upstream at a discovered address). A balancer built with
//!   [`BalancedBuilder::discovered`] follows: on the first request after a change it
//!   builds the upstreams of new members (each its own pool) and drops those of
//!   members gone, keeping the others; requests in flight finish where they were.
//!
//! Readiness: [`Balanced`] is always ready and drives the balancer's readiness inside
//! its response future (the `oneshot` pattern), so one slow address cannot block the
//! callers of the others.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! use frontdoor_upstream::{Balanced, Upstream};
//!
//! # fn main() -> Result<(), frontdoor_upstream::UpstreamConfigError> {
//! let balanced = Balanced::builder(vec![
//!     Upstream::new("http://10.0.0.1:8080")?,
//!     Upstream::new("http://10.0.0.2:8080")?,
//! ])
//! .eject_after(3)
//! .eject_for(Duration::from_secs(10))
//! .retries(2)
//! .build()?;
//! assert_eq!(balanced.len(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! [`p2c::Balance`]: tower::balance::p2c::Balance

mod endpoint;
mod members;

use std::{
    fmt,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::{header, Method, Request, Response};
use tokio::time::Instant;
use tower::{balance::p2c::Balance, discover::ServiceList, retry::Retry, ServiceExt as _};
use tower_service::Service;

use parking_lot::Mutex;

use self::endpoint::Endpoint;
pub use self::members::{BalanceHealth, Member};
use crate::{ProxyError, ProxyErrorKind, Upstream, UpstreamConfigError};

// === BalancedBuilder ===

/// Builds the [`Upstream`] of a discovered [`Member`] (one with an address): see
/// [`BalancedBuilder::discovered`].
pub type MemberFactory = Arc<dyn Fn(Member) -> Result<Upstream, UpstreamConfigError> + Send + Sync>;

/// Configures a [`Balanced`] service. See the [module docs](self).
#[must_use]
pub struct BalancedBuilder {
    upstreams: Vec<Upstream>,
    eject_after: u32,
    eject_for: Duration,
    retries: u32,
    health: Option<BalanceHealth>,
    factory: Option<MemberFactory>,
}

impl fmt::Debug for BalancedBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BalancedBuilder")
            .field("upstreams", &self.upstreams)
            .field("eject_after", &self.eject_after)
            .field("eject_for", &self.eject_for)
            .field("retries", &self.retries)
            .field("health", &self.health)
            .field("discovered", &self.factory.is_some())
            .finish()
    }
}

impl BalancedBuilder {
    /// Consecutive connect failures that eject an address. Default: 3. `0` disables
    /// ejection.
    pub const fn eject_after(mut self, failures: u32) -> Self {
        self.eject_after = failures;
        self
    }

    /// How long an ejected address stays out. Default: 10 s.
    pub const fn eject_for(mut self, period: Duration) -> Self {
        self.eject_for = period;
        self
    }

    /// Most retries per request (see the [module docs](self) for which ones). Default:
    /// 2. `0` disables retries.
    pub const fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Shares `health` (the members' failures, ejections and load) with every other
    /// `Balanced` built with it. Default: its own, one member per upstream.
    pub fn health(mut self, health: BalanceHealth) -> Self {
        self.health = Some(health);
        self
    }

    /// Follows the shared health's members as [`BalanceHealth::set_members`] changes
    /// them: each discovered member (with an address) gets its own [`Upstream`]
    /// (so its own connection pool) from `factory`, built on the first request that
    /// sees it and kept while it stays; a member without an address is the list's
    /// upstream. Default: the members are one per upstream, fixed.
    pub fn discovered(mut self, factory: MemberFactory) -> Self {
        self.factory = Some(factory);
        self
    }

    /// Builds the service.
    ///
    /// # Errors
    ///
    /// `upstreams` when the list is empty; `health` when the shared health is for
    /// another number of addresses (and members are not discovered).
    pub fn build(self) -> Result<Balanced, UpstreamConfigError> {
        if self.upstreams.is_empty() {
            return Err(UpstreamConfigError::new(
                "upstreams",
                "at least one upstream is needed",
            ));
        }
        let health = self
            .health
            .unwrap_or_else(|| BalanceHealth::new(self.upstreams.len()));
        if self.factory.is_none() && health.len() != self.upstreams.len() {
            return Err(UpstreamConfigError::new(
                "health",
                "the shared health is for another number of addresses",
            ));
        }
        let source = Arc::new(Source {
            upstreams: self.upstreams,
            factory: self.factory,
            eject: (self.eject_after, self.eject_for),
            health,
            cache: Mutex::new(Cache {
                version: u64::MAX,
                endpoints: Arc::new(Vec::new()),
            }),
        });
        Ok(Balanced {
            source,
            retries: self.retries,
        })
    }
}

// === Source ===

/// A worker's view of the shared members: their endpoints, rebuilt when the
/// members change.
struct Source {
    /// The configured upstreams, for members without an address.
    upstreams: Vec<Upstream>,
    factory: Option<MemberFactory>,
    eject: (u32, Duration),
    health: BalanceHealth,
    cache: Mutex<Cache>,
}

/// The endpoints of one version of the members.
struct Cache {
    version: u64,
    endpoints: Arc<Vec<Endpoint>>,
}

impl Source {
    /// The endpoints of the current members: the cached ones while the members are
    /// unchanged; else new ones, each keeping its `Upstream` (and pool) when it
    /// stays.
    fn endpoints(&self) -> Arc<Vec<Endpoint>> {
        let snapshot = self.health.snapshot();
        let mut cache = self.cache.lock();
        if cache.version == snapshot.version {
            return Arc::clone(&cache.endpoints);
        }
        let endpoints = snapshot
            .members
            .iter()
            .filter_map(|(member, shared)| {
                let kept = cache.endpoints.iter().find(|e| e.member == *member);
                let upstream = match (kept, member.addr, &self.factory) {
                    (Some(e), _, _) => e.upstream.clone(),
                    (None, None, _) => self.upstreams.get(member.upstream)?.clone(),
                    (None, Some(_), Some(factory)) => factory(*member)
                        .map_err(|e| tracing::warn!(?member, error = %e, "cannot build a discovered upstream"))
                        .ok()?,
                    (None, Some(_), None) => return None,
                };
                Some(Endpoint {
                    member: *member,
                    upstream,
                    shared: Arc::clone(shared),
                    eject: self.eject,
                    wait: None,
                })
            })
            .collect();
        cache.version = snapshot.version;
        cache.endpoints = Arc::new(endpoints);
        Arc::clone(&cache.endpoints)
    }
}

// === Balanced ===

/// Balances requests over several [`Upstream`]s. See the [module docs](self).
///
/// Cloning is cheap (the addresses and their health are shared). `Error` is
/// [`ProxyError`].
#[derive(Clone)]
pub struct Balanced {
    source: Arc<Source>,
    retries: u32,
}

impl fmt::Debug for Balanced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Balanced")
            .field("endpoints", &self.source.endpoints())
            .field("retries", &self.retries)
            .finish()
    }
}

impl Balanced {
    /// A builder over these upstreams (one per address).
    pub fn builder(upstreams: Vec<Upstream>) -> BalancedBuilder {
        BalancedBuilder {
            upstreams,
            eject_after: 3,
            eject_for: Duration::from_secs(10),
            retries: 2,
            health: None,
            factory: None,
        }
    }

    /// How many addresses are balanced over.
    #[must_use]
    pub fn len(&self) -> usize {
        self.source.health.len()
    }

    /// Whether there is no address to balance over (never with fixed upstreams).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.source.health.is_empty()
    }

    /// How many addresses are currently ejected.
    #[must_use]
    pub fn ejected(&self) -> usize {
        self.source.health.ejected()
    }
}

impl<B> Service<Request<B>> for Balanced
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = ProxyError;
    type Future = ResponseFuture;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let endpoints = self.source.endpoints();
        let now = Instant::now();
        if endpoints.iter().all(|e| e.shared.ejected_at(now)) {
            return ResponseFuture::boxed(std::future::ready(Err(ProxyError::new(
                ProxyErrorKind::Unavailable,
            ))));
        }
        let (parts, body) = req.into_parts();
        let req = Request::from_parts(parts, Body::new(body));
        let svc = Retry::new(
            RetryPolicy {
                remaining: self.retries,
            },
            Balancer::new(endpoints),
        );
        let fut = svc.oneshot(req);
        ResponseFuture::boxed(async move {
            fut.await.map_err(|e| match e.downcast::<ProxyError>() {
                Ok(p) => *p,
                Err(other) => ProxyError::with_source(ProxyErrorKind::Unavailable, other),
            })
        })
    }
}

/// Response future of [`Balanced`]: the same boxed future as [`Upstream`]'s.
pub use crate::upstream::ResponseFuture;

// === Balancer ===

/// tower's p2c balancer over the shared endpoints. Cloning builds a fresh balancer over
/// the same endpoints (load and health are shared through the endpoints), which is
/// what `Retry` needs for its later attempts.
struct Balancer {
    endpoints: Arc<Vec<Endpoint>>,
    balance: Balance<ServiceList<Vec<Endpoint>>, Request<Body>>,
}

impl Balancer {
    /// p2c over the addresses that are healthy and not ejected; when there are none,
    /// over every address (fail open: ejected ones wait for their period to end).
    fn new(endpoints: Arc<Vec<Endpoint>>) -> Self {
        let now = Instant::now();
        let usable = |e: &&Endpoint| e.shared.healthy() && !e.shared.ejected_at(now);
        let mut chosen: Vec<Endpoint> = endpoints.iter().filter(usable).cloned().collect();
        if chosen.is_empty() {
            chosen = endpoints.to_vec();
        }
        let balance = Balance::new(ServiceList::new(chosen));
        Self { endpoints, balance }
    }
}

impl Clone for Balancer {
    fn clone(&self) -> Self {
        Self::new(Arc::clone(&self.endpoints))
    }
}

impl Service<Request<Body>> for Balancer {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future =
        <Balance<ServiceList<Vec<Endpoint>>, Request<Body>> as Service<Request<Body>>>::Future;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.balance.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.balance.call(req)
    }
}

// === RetryPolicy ===

#[derive(Clone)]
struct RetryPolicy {
    remaining: u32,
}

impl tower::retry::Policy<Request<Body>, Response<Body>, BoxError> for RetryPolicy {
    type Future = std::future::Ready<()>;

    fn retry(
        &mut self,
        _req: &mut Request<Body>,
        result: &mut Result<Response<Body>, BoxError>,
    ) -> Option<Self::Future> {
        match result {
            Err(e)
                if self.remaining > 0
                    && e.downcast_ref::<ProxyError>()
                        .is_some_and(ProxyError::is_connect) =>
            {
                self.remaining -= 1;
                tracing::debug!(error = %e, remaining = self.remaining, "retrying on another address");
                Some(std::future::ready(()))
            }
            _ => None,
        }
    }

    fn clone_request(&mut self, req: &Request<Body>) -> Option<Request<Body>> {
        use http_body::Body as _;
        let idempotent = matches!(
            *req.method(),
            Method::GET
                | Method::HEAD
                | Method::OPTIONS
                | Method::TRACE
                | Method::PUT
                | Method::DELETE
        );
        if self.remaining == 0
            || !idempotent
            || !req.body().is_end_stream()
            || req.headers().contains_key(header::UPGRADE)
        {
            return None;
        }
        let mut copy = Request::new(Body::empty());
        *copy.method_mut() = req.method().clone();
        *copy.uri_mut() = req.uri().clone();
        *copy.version_mut() = req.version();
        *copy.headers_mut() = req.headers().clone();
        *copy.extensions_mut() = req.extensions().clone();
        Some(copy)
    }
}

#[cfg(test)]
mod tests;
