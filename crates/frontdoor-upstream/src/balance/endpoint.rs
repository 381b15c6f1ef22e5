//! One balanced address: its upstream, its shared health and load, and the timer
//! for the end of an ejection.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering},
        Arc,
    },
    task::{ready, Context, Poll},
    time::Duration,
};

use frontdoor_core::Body;
use http::{Request, Response};
use parking_lot::Mutex;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::load::Load;
use tower_service::Service;

use crate::{ProxyError, Upstream};

// === EndpointShared ===

/// What every worker's balancer knows of one address: its passive health (connect
/// failures in a row, the end of an ejection), its active health (the verdict of its
/// health checks) and its load.
#[derive(Debug)]
pub(super) struct EndpointShared {
    failures: AtomicU32,
    ejected_until: Mutex<Option<Instant>>,
    pub(super) in_flight: AtomicUsize,
    /// The health checks' verdict: `true` until they find the address unhealthy.
    healthy: AtomicBool,
}

impl EndpointShared {
    /// A fresh address: no failure, not ejected, healthy, idle.
    pub(super) const fn new() -> Self {
        Self {
            failures: AtomicU32::new(0),
            ejected_until: Mutex::new(None),
            in_flight: AtomicUsize::new(0),
            healthy: AtomicBool::new(true),
        }
    }

    /// Whether the health checks let the address take traffic.
    pub(super) fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Records the health checks' verdict; whether it changed.
    pub(super) fn set_healthy(&self, healthy: bool) -> bool {
        self.healthy.swap(healthy, Ordering::AcqRel) != healthy
    }

    pub(super) fn ejected_at(&self, now: Instant) -> bool {
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

// === Endpoint ===

/// One address: its upstream, shared health and load, and a timer for the end of an
/// ejection.
pub(super) struct Endpoint {
    /// Which member of the set it is.
    pub(super) member: super::Member,
    pub(super) upstream: Upstream,
    pub(super) shared: Arc<EndpointShared>,
    /// The balancer's `eject_after` and `eject_for`.
    pub(super) eject: (u32, Duration),
    pub(super) wait: Option<Pin<Box<Sleep>>>,
}

impl Clone for Endpoint {
    fn clone(&self) -> Self {
        Self {
            member: self.member,
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
    /// An address's call: counts it in flight and records its result.
    pub(super) struct EndpointFuture {
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
