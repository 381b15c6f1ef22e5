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

use self::endpoint::{Endpoint, EndpointShared};
use crate::{ProxyError, ProxyErrorKind, Upstream, UpstreamConfigError};

// === BalancedBuilder ===

/// Configures a [`Balanced`] service. See the [module docs](self).
#[must_use]
#[derive(Debug)]
pub struct BalancedBuilder {
    upstreams: Vec<Upstream>,
    eject_after: u32,
    eject_for: Duration,
    retries: u32,
    health: Option<BalanceHealth>,
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

    /// Shares `health` (the addresses' failures, ejections and load, in upstream
    /// order) with every other `Balanced` built with it. Default: its own.
    pub fn health(mut self, health: BalanceHealth) -> Self {
        self.health = Some(health);
        self
    }

    /// Builds the service.
    ///
    /// # Errors
    ///
    /// `upstreams` when the list is empty; `health` when the shared health is for
    /// another number of addresses.
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
        if health.endpoints.len() != self.upstreams.len() {
            return Err(UpstreamConfigError::new(
                "health",
                "the shared health is for another number of addresses",
            ));
        }
        let eject = (self.eject_after, self.eject_for);
        let endpoints = self
            .upstreams
            .into_iter()
            .zip(health.endpoints.iter())
            .map(|(upstream, shared)| Endpoint {
                upstream,
                shared: Arc::clone(shared),
                eject,
                wait: None,
            })
            .collect();
        Ok(Balanced {
            endpoints: Arc::new(endpoints),
            retries: self.retries,
        })
    }
}

// === BalanceHealth ===

/// The health and load of a balanced route's addresses (consecutive connect failures,
/// ejections, requests in flight), to share between [`Balanced`] services built
/// separately, such as each worker's stack of one route. Cloning shares it.
#[derive(Clone, Debug)]
pub struct BalanceHealth {
    endpoints: Arc<[Arc<EndpointShared>]>,
}

impl BalanceHealth {
    /// Fresh health for `addresses` addresses: none failed, none ejected.
    #[must_use]
    pub fn new(addresses: usize) -> Self {
        Self {
            endpoints: (0..addresses)
                .map(|_| Arc::new(EndpointShared::new()))
                .collect(),
        }
    }

    /// How many addresses are currently ejected.
    #[must_use]
    pub fn ejected(&self) -> usize {
        let now = Instant::now();
        self.endpoints.iter().filter(|e| e.ejected_at(now)).count()
    }

    /// How many addresses the health is for.
    #[must_use]
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Whether the health is for no address at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// Whether the health checks let address `index` take traffic (`true` for an
    /// address that was never checked, or that is out of range).
    #[must_use]
    pub fn is_healthy(&self, index: usize) -> bool {
        self.endpoints.get(index).is_none_or(|e| e.healthy())
    }

    /// Records the health checks' verdict on address `index`; whether it changed (an
    /// index out of range changes nothing). An unhealthy address takes no traffic
    /// while another address is healthy (and not ejected).
    pub fn set_healthy(&self, index: usize, healthy: bool) -> bool {
        self.endpoints
            .get(index)
            .is_some_and(|e| e.set_healthy(healthy))
    }

    /// How many addresses the health checks found unhealthy.
    #[must_use]
    pub fn unhealthy(&self) -> usize {
        self.endpoints.iter().filter(|e| !e.healthy()).count()
    }

    /// Whether `self` and `other` are the same shared health.
    #[must_use]
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.endpoints, &other.endpoints)
    }
}

// === Balanced ===

/// Balances requests over several [`Upstream`]s. See the [module docs](self).
///
/// Cloning is cheap (the addresses and their health are shared). `Error` is
/// [`ProxyError`].
#[derive(Clone)]
pub struct Balanced {
    endpoints: Arc<Vec<Endpoint>>,
    retries: u32,
}

impl fmt::Debug for Balanced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Balanced")
            .field("endpoints", &self.endpoints)
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
        }
    }

    /// How many addresses are balanced over.
    #[must_use]
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Always `false`: a `Balanced` has at least one address.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// How many addresses are currently ejected.
    #[must_use]
    pub fn ejected(&self) -> usize {
        let now = Instant::now();
        self.endpoints
            .iter()
            .filter(|e| e.shared.ejected_at(now))
            .count()
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
        if self.ejected() == self.endpoints.len() {
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
            Balancer::new(Arc::clone(&self.endpoints)),
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
