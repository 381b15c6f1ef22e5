//! The header-read timeout of an HTTP/1 connection, kept per connection rather than
//! per request.
//!
//! hyper's own `header_read_timeout` boxes, registers and drops a timer for every
//! request head: about 1.5k instructions per request, 4.5% of a proxied request's
//! user-space cost (`benches/load/proxy_cost.sh`). Here one timer per connection runs
//! lazily instead: requests only count themselves in and out ([`HeadClock::begin`],
//! and the [`InFlight`] token dropped with the response body), and the timer, when it
//! fires, checks whether the connection has been without a request in flight for the
//! whole timeout. If so the connection is dropped; if not it is re-armed for the
//! right moment. The semantics are hyper's: the clock runs from the connection's
//! start or from the end of the previous response until the next head is complete,
//! so a partial head, a trickled head and an idle keep-alive connection are all cut
//! off, and a long response never is.
//!
//! HTTP/2 connections (h2c) are exempt from the first HTTP/2 request on, as hyper
//! exempts them: streams multiplex, and an idle HTTP/2 connection is not a stalled
//! head.

use std::{
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use http::Version;
use pin_project_lite::pin_project;
use tokio::time::Instant;

/// Per-connection bookkeeping for the header-read timeout. See the
/// [module docs](self).
#[derive(Debug)]
pub(super) struct HeadClock {
    start: Instant,
    in_flight: AtomicUsize,
    /// When the last request in flight ended, in nanoseconds since `start`.
    idle_since: AtomicU64,
    http2: AtomicBool,
}

impl HeadClock {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            http2: AtomicBool::new(false),
        })
    }

    /// A request head of `version` arrived; the returned token ends the request when
    /// dropped (with the response body, once hyper has written it).
    pub(super) fn begin(self: &Arc<Self>, version: Version) -> InFlight {
        if version == Version::HTTP_2 {
            self.http2.store(true, Ordering::Relaxed);
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    fn end(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            let since = Instant::now().saturating_duration_since(self.start);
            let nanos = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
            self.idle_since.store(nanos, Ordering::Release);
        }
    }

    /// What the connection's timer should do when it fires at `now`.
    pub(super) fn check(&self, now: Instant, timeout: Duration) -> Check {
        if self.http2.load(Ordering::Relaxed) {
            return Check::Exempt;
        }
        if self.in_flight.load(Ordering::Acquire) > 0 {
            // The next head cannot be late before this request ends.
            return Check::RearmAt(now + timeout);
        }
        let idle_since = self.start + Duration::from_nanos(self.idle_since.load(Ordering::Acquire));
        let deadline = idle_since + timeout;
        if deadline <= now {
            Check::TimedOut
        } else {
            Check::RearmAt(deadline)
        }
    }
}

/// The verdict of [`HeadClock::check`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Check {
    /// No complete head within the timeout: drop the connection.
    TimedOut,
    /// Check again at this instant.
    RearmAt(Instant),
    /// An HTTP/2 connection: the timer stops.
    Exempt,
}

/// One request in flight on a connection; see [`HeadClock::begin`].
#[derive(Debug)]
pub(super) struct InFlight(Arc<HeadClock>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end();
    }
}

pin_project! {
    /// A response body that holds its request's [`InFlight`] token until hyper drops
    /// it: when the response has been written, or abandoned.
    pub(super) struct Tracked<B> {
        #[pin]
        inner: B,
        _token: Option<InFlight>,
    }
}

impl<B> Tracked<B> {
    pub(super) fn new(inner: B, token: Option<InFlight>) -> Self {
        Self {
            inner,
            _token: token,
        }
    }
}

impl<B: http_body::Body> http_body::Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(10);

    #[tokio::test(start_paused = true)]
    async fn the_clock_runs_only_without_a_request_in_flight() {
        let clock = HeadClock::new();
        let t0 = Instant::now();
        // A fresh connection: the first head is due `T` after the start.
        assert_eq!(clock.check(t0, T), Check::RearmAt(t0 + T));
        assert_eq!(clock.check(t0 + T, T), Check::TimedOut);

        let token = clock.begin(Version::HTTP_11);
        tokio::time::advance(3 * T).await;
        let now = Instant::now();
        // A long response: never a header timeout.
        assert_eq!(clock.check(now, T), Check::RearmAt(now + T));
        drop(token);
        // The next head is due `T` after the response ended.
        assert_eq!(clock.check(now, T), Check::RearmAt(now + T));
        tokio::time::advance(T).await;
        assert_eq!(clock.check(Instant::now(), T), Check::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn overlapping_requests_keep_the_connection_busy_until_the_last_ends() {
        let clock = HeadClock::new();
        let a = clock.begin(Version::HTTP_11);
        let b = clock.begin(Version::HTTP_11);
        drop(a);
        tokio::time::advance(2 * T).await;
        let now = Instant::now();
        assert_eq!(clock.check(now, T), Check::RearmAt(now + T));
        drop(b);
        tokio::time::advance(T).await;
        assert_eq!(clock.check(Instant::now(), T), Check::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn http2_connections_are_exempt() {
        let clock = HeadClock::new();
        drop(clock.begin(Version::HTTP_2));
        tokio::time::advance(2 * T).await;
        assert_eq!(clock.check(Instant::now(), T), Check::Exempt);
    }
}
