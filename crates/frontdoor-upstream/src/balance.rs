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

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicU32, AtomicUsize, Ordering},
        Arc,
    },
    task::{ready, Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::{header, Method, Request, Response};
use parking_lot::Mutex;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::{
    balance::p2c::Balance, discover::ServiceList, load::Load, retry::Retry, ServiceExt as _,
};
use tower_service::Service;

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
                .map(|_| {
                    Arc::new(EndpointShared {
                        failures: AtomicU32::new(0),
                        ejected_until: Mutex::new(None),
                        in_flight: AtomicUsize::new(0),
                    })
                })
                .collect(),
        }
    }

    /// How many addresses are currently ejected.
    #[must_use]
    pub fn ejected(&self) -> usize {
        let now = Instant::now();
        self.endpoints.iter().filter(|e| e.ejected_at(now)).count()
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
    fn new(endpoints: Arc<Vec<Endpoint>>) -> Self {
        let balance = Balance::new(ServiceList::new(endpoints.to_vec()));
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

// === Endpoint ===

#[derive(Debug)]
struct EndpointShared {
    failures: AtomicU32,
    ejected_until: Mutex<Option<Instant>>,
    in_flight: AtomicUsize,
}

impl EndpointShared {
    fn ejected_at(&self, now: Instant) -> bool {
        self.ejected_until.lock().is_some_and(|until| now < until)
    }

    /// Records a call's result; `(eject_after, eject_for)` are the balancer's.
    fn record(
        &self,
        result: Result<(), &ProxyError>,
        authority: &http::uri::Authority,
        (eject_after, eject_for): (u32, Duration),
    ) {
        match result {
            Err(e) if e.is_connect() => {
                let failures = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
                if eject_after > 0 && failures >= eject_after {
                    *self.ejected_until.lock() = Some(Instant::now() + eject_for);
                    // One trial request after the period: a failure ejects again.
                    self.failures
                        .store(eject_after.saturating_sub(1), Ordering::Release);
                    tracing::warn!(upstream = %authority, failures, ?eject_for, "upstream address ejected");
                }
            }
            Err(_) => {}
            Ok(()) => self.failures.store(0, Ordering::Release),
        }
    }
}

/// One address: its upstream, shared health and load, and a timer for the end of an
/// ejection.
struct Endpoint {
    upstream: Upstream,
    shared: Arc<EndpointShared>,
    /// The balancer's `eject_after` and `eject_for`.
    eject: (u32, Duration),
    wait: Option<Pin<Box<Sleep>>>,
}

impl Clone for Endpoint {
    fn clone(&self) -> Self {
        Self {
            upstream: self.upstream.clone(),
            shared: Arc::clone(&self.shared),
            eject: self.eject,
            wait: None,
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("upstream", self.upstream.authority())
            .field("in_flight", &self.shared.in_flight.load(Ordering::Relaxed))
            .field("failures", &self.shared.failures.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Load for Endpoint {
    type Metric = usize;

    fn load(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }
}

impl Service<Request<Body>> for Endpoint {
    type Response = Response<Body>;
    type Error = ProxyError;
    type Future = EndpointFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let until = *self.shared.ejected_until.lock();
        if let Some(until) = until {
            if Instant::now() < until {
                let wait = self
                    .wait
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until)));
                if wait.deadline() != until {
                    wait.as_mut().reset(until);
                }
                ready!(wait.as_mut().poll(cx));
            }
            self.wait = None;
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
        EndpointFuture {
            inner: self.upstream.call(req),
            guard: InFlight(Arc::clone(&self.shared)),
            authority: self.upstream.authority().clone(),
            eject: self.eject,
        }
    }
}

/// Decrements the endpoint's in-flight count when the call ends (or is dropped).
struct InFlight(Arc<EndpointShared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

pin_project! {
    struct EndpointFuture {
        #[pin]
        inner: crate::ResponseFuture,
        guard: InFlight,
        authority: http::uri::Authority,
        eject: (u32, Duration),
    }
}

impl Future for EndpointFuture {
    type Output = Result<Response<Body>, ProxyError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        this.guard
            .0
            .record(result.as_ref().map(|_| ()), this.authority, *this.eject);
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_types_are_send_sync_clone() {
        fn send_sync_clone<T: Send + Sync + Clone>() {}
        fn send<T: Send>() {}
        send_sync_clone::<Balanced>();
        send::<ResponseFuture>();
    }

    /// Two balancers built with one health share it: a connect failure through one
    /// ejects the address for the other.
    #[tokio::test]
    async fn balancers_built_with_one_health_share_ejections() {
        // Nothing listens on port 9 (discard) of loopback: the connect is refused.
        let upstreams = || vec![Upstream::new("http://127.0.0.1:9").unwrap()];
        let health = BalanceHealth::new(1);
        let build = || {
            Balanced::builder(upstreams())
                .eject_after(1)
                .retries(0)
                .health(health.clone())
                .build()
                .unwrap()
        };
        let (mut a, b) = (build(), build());
        let alone = Balanced::builder(upstreams()).build().unwrap();
        let req = Request::get("http://h/").body(Body::empty()).unwrap();
        let err = a.call(req).await.unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        assert_eq!((a.ejected(), b.ejected(), health.ejected()), (1, 1, 1));
        assert_eq!(alone.ejected(), 0);
        let wrong = Balanced::builder(upstreams())
            .health(BalanceHealth::new(2))
            .build();
        assert_eq!(wrong.unwrap_err().key(), "health");
    }

    #[test]
    fn empty_lists_are_rejected() {
        assert_eq!(
            Balanced::builder(vec![]).build().unwrap_err().key(),
            "upstreams"
        );
    }

    #[test]
    fn only_idempotent_bodiless_requests_are_cloned() {
        use tower::retry::Policy;
        let mut p = RetryPolicy { remaining: 1 };
        let get = Request::get("/").body(Body::empty()).unwrap();
        assert!(p.clone_request(&get).is_some());
        let post = Request::post("/").body(Body::empty()).unwrap();
        assert!(p.clone_request(&post).is_none());
        let put = Request::put("/").body(Body::from("x")).unwrap();
        assert!(p.clone_request(&put).is_none());
        let ws = Request::get("/")
            .header("upgrade", "websocket")
            .body(Body::empty())
            .unwrap();
        assert!(p.clone_request(&ws).is_none());
    }
}
