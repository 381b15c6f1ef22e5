//! The timeouts of a connection (header read, idle, send), kept per connection
//! rather than per request.
//!
//! hyper's own `header_read_timeout` boxes, registers and drops a timer for every
//! request head: about 1.5k instructions per request, 4.5% of a proxied request's
//! user-space cost (`benches/load/proxy_cost.sh`). Here one timer per connection runs
//! lazily instead: requests only count themselves in and out ([`ConnClock::begin`],
//! and the [`InFlight`] token dropped with the response body), the connection's I/O
//! notes when a byte arrives while nothing is in flight and when a write stalls
//! (`conn_io.rs`), and the timer, when it fires, asks [`ConnClock::check`] what is
//! due:
//!
//! * **header timeout**: the first request head must be complete within the timeout
//!   from the connection's start (accept, or the end of a TLS handshake); each later
//!   HTTP/1 head within the timeout from its first byte;
//! * **idle timeout**: a connection with nothing in flight (HTTP/1 between requests,
//!   HTTP/2 with no open stream) is closed, HTTP/2 with a GOAWAY first;
//! * **send timeout**: a connection whose writes have made no progress for the
//!   timeout (the client reads nothing) is dropped, whatever is in flight.
//!
//! The timer looks again at the earliest deadline of the connection's current state,
//! and at most one shortest timeout later (a request may end, a head start or a
//! write stall meanwhile, and no deadline that creates can be sooner), so each
//! timeout fires on time. A long response is never cut off by the header or idle
//! timeout: only a stalled write is. Upgraded connections leave this clock (their I/O keeps its own idle
//! timer, see `conn_io.rs`).

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

/// The three timeouts a connection's clock checks.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timeouts {
    pub(super) header: Duration,
    pub(super) idle: Duration,
    pub(super) send: Duration,
}

impl Timeouts {
    /// The header, idle and send timeouts of the server's `config`.
    pub(super) const fn of(config: &crate::config::Config) -> Self {
        Self {
            header: config.header_read_timeout,
            idle: config.idle_timeout,
            send: config.send_timeout,
        }
    }
}

/// Per-connection bookkeeping for its timeouts. See the [module docs](self).
///
/// Instants are stored as nanoseconds since `start`, plus one, so that 0 means
/// "not set".
#[derive(Debug)]
pub(super) struct ConnClock {
    start: Instant,
    in_flight: AtomicUsize,
    /// A request has been seen (the first head is due from `start`).
    served: AtomicBool,
    /// When the last request in flight ended.
    idle_since: AtomicU64,
    /// When the first byte arrived while nothing was in flight (a head started).
    head_since: AtomicU64,
    /// When a write first made no progress, cleared by the next write that does.
    blocked_since: AtomicU64,
    http2: AtomicBool,
    upgraded: AtomicBool,
    /// A request body was too slow: the answer closes the connection, lingering.
    closing: AtomicBool,
}

impl ConnClock {
    /// A clock whose first head is due one header timeout after `start`.
    pub(super) fn new(start: Instant) -> Arc<Self> {
        Arc::new(Self {
            start,
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            blocked_since: AtomicU64::new(0),
            http2: AtomicBool::new(false),
            upgraded: AtomicBool::new(false),
            closing: AtomicBool::new(false),
        })
    }

    fn stamp(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.start);
        u64::try_from(since.as_nanos())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    fn instant(&self, stamp: u64) -> Option<Instant> {
        (stamp != 0).then(|| self.start + Duration::from_nanos(stamp - 1))
    }

    /// A request head of `version` arrived; the returned token ends the request when
    /// dropped (with the response body, once hyper has written it).
    pub(super) fn begin(self: &Arc<Self>, version: Version) -> InFlight {
        if version == Version::HTTP_2 {
            self.http2.store(true, Ordering::Relaxed);
        }
        self.served.store(true, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(0, Ordering::Release);
        InFlight(Arc::clone(self))
    }

    fn end(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle_since
                .store(self.stamp(Instant::now()), Ordering::Release);
        }
    }

    /// The connection switched protocols (a `101` was sent): its I/O times it from
    /// now on.
    pub(super) fn mark_upgraded(&self) {
        self.upgraded.store(true, Ordering::Release);
    }

    pub(super) fn is_upgraded(&self) -> bool {
        self.upgraded.load(Ordering::Acquire)
    }

    /// The connection speaks HTTP/2 (its preface arrived, or ALPN chose `h2`) before
    /// any request: with nothing in flight it is idle, not waiting for a head.
    pub(super) fn mark_http2(&self) {
        self.http2.store(true, Ordering::Relaxed);
    }

    /// A request body was too slow (`idle_body.rs`): its HTTP/1 answer says
    /// `Connection: close`, and the connection's I/O lingers when it closes.
    pub(super) fn close_after_answer(&self) {
        self.closing.store(true, Ordering::Release);
    }

    /// Whether [`close_after_answer`](Self::close_after_answer) was called.
    pub(super) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Bytes arrived from the client: when nothing is in flight, a head has started.
    #[inline]
    pub(super) fn on_read(&self) {
        if self.head_since.load(Ordering::Relaxed) == 0
            && self.in_flight.load(Ordering::Acquire) == 0
        {
            self.head_since
                .store(self.stamp(Instant::now()), Ordering::Release);
        }
    }

    /// A write made progress (`true`) or none (`false`).
    #[inline]
    pub(super) fn on_write(&self, progressed: bool) {
        let blocked = self.blocked_since.load(Ordering::Relaxed) != 0;
        if progressed && blocked {
            self.blocked_since.store(0, Ordering::Release);
        } else if !progressed && !blocked {
            self.blocked_since
                .store(self.stamp(Instant::now()), Ordering::Release);
        }
    }

    /// What the connection's timer should do when it fires at `now`.
    pub(super) fn check(&self, now: Instant, t: Timeouts) -> Check {
        let send_due = self
            .instant(self.blocked_since.load(Ordering::Acquire))
            .map(|since| since + t.send);
        if send_due.is_some_and(|due| due <= now) {
            return Check::Close(Expired::Send);
        }
        let (due, expired) = if self.in_flight.load(Ordering::Acquire) > 0 {
            // Nothing is late while a request is in flight, but a write may stall.
            (now + t.send, None)
        } else if !self.served.load(Ordering::Relaxed) {
            if self.http2.load(Ordering::Relaxed) {
                // An HTTP/2 connection that opened no stream yet is idle from its start.
                (self.start + t.idle, Some(Expired::Idle))
            } else {
                (self.start + t.header, Some(Expired::Header))
            }
        } else {
            let idle_since = self
                .instant(self.idle_since.load(Ordering::Acquire))
                .unwrap_or(self.start);
            let head_since = self.instant(self.head_since.load(Ordering::Acquire));
            match head_since {
                Some(since) if !self.http2.load(Ordering::Relaxed) => {
                    (since + t.header, Some(Expired::Header))
                }
                _ => (idle_since + t.idle, Some(Expired::Idle)),
            }
        };
        match expired {
            Some(expired) if due <= now => Check::Close(expired),
            // The state may change before `due` (a request ends, a head starts, a
            // write stalls), making a new deadline due no earlier than one of the
            // timeouts from now: looking again by then never misses it.
            _ => {
                let soonest = now + t.header.min(t.idle).min(t.send);
                let due = send_due.map_or(due, |s| s.min(due));
                Check::RearmAt(due.min(soonest))
            }
        }
    }

    /// Whether the connection speaks HTTP/2 (seen from its first request).
    pub(super) fn is_http2(&self) -> bool {
        self.http2.load(Ordering::Relaxed)
    }
}

/// Which timeout expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expired {
    /// No complete request head in time.
    Header,
    /// Nothing in flight for the idle timeout.
    Idle,
    /// Writes made no progress for the send timeout.
    Send,
}

impl Expired {
    pub(super) const fn as_str(self) -> &'static str {
        match self {
            Self::Header => "header read timeout",
            Self::Idle => "idle timeout",
            Self::Send => "send timeout",
        }
    }
}

/// The verdict of [`ConnClock::check`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Check {
    /// A timeout expired: end the connection.
    Close(Expired),
    /// Check again at this instant.
    RearmAt(Instant),
}

/// One request in flight on a connection; see [`ConnClock::begin`].
#[derive(Debug)]
pub(super) struct InFlight(Arc<ConnClock>);

impl InFlight {
    /// The connection's clock.
    pub(super) fn clock(&self) -> &ConnClock {
        &self.0
    }
}

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

    const T: Timeouts = Timeouts {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
        send: Duration::from_secs(30),
    };

    #[tokio::test(start_paused = true)]
    async fn the_first_head_is_due_from_the_start_however_it_trickles() {
        let t0 = Instant::now();
        let clock = ConnClock::new(t0);
        assert_eq!(clock.check(t0, T), Check::RearmAt(t0 + T.header));
        tokio::time::advance(T.header / 2).await;
        clock.on_read();
        assert_eq!(
            clock.check(Instant::now(), T),
            Check::RearmAt(t0 + T.header)
        );
        assert_eq!(clock.check(t0 + T.header, T), Check::Close(Expired::Header));
    }

    #[tokio::test(start_paused = true)]
    async fn between_requests_idle_then_header_timeout_from_the_first_byte() {
        let clock = ConnClock::new(Instant::now());
        let token = clock.begin(Version::HTTP_11);
        tokio::time::advance(3 * T.idle).await;
        let now = Instant::now();
        // A long response: never a header or idle timeout; the timer looks again
        // one shortest timeout later.
        assert_eq!(clock.check(now, T), Check::RearmAt(now + T.header));
        drop(token);
        let ended = Instant::now();
        assert_eq!(clock.check(ended, T), Check::RearmAt(ended + T.header));
        tokio::time::advance(T.idle - T.header / 2).await;
        let now = Instant::now();
        assert_eq!(clock.check(now, T), Check::RearmAt(ended + T.idle));
        // The next head starts: it is due one header timeout after its first byte.
        clock.on_read();
        let first_byte = Instant::now();
        assert_eq!(
            clock.check(first_byte, T),
            Check::RearmAt(first_byte + T.header)
        );
        assert_eq!(
            clock.check(first_byte + T.header, T),
            Check::Close(Expired::Header)
        );
        // Idle without a byte: the idle timeout.
        let clock = ConnClock::new(Instant::now());
        drop(clock.begin(Version::HTTP_11));
        tokio::time::advance(T.idle).await;
        assert_eq!(clock.check(Instant::now(), T), Check::Close(Expired::Idle));
    }

    #[tokio::test(start_paused = true)]
    async fn overlapping_requests_keep_the_connection_busy_until_the_last_ends() {
        let clock = ConnClock::new(Instant::now());
        let a = clock.begin(Version::HTTP_2);
        let b = clock.begin(Version::HTTP_2);
        drop(a);
        tokio::time::advance(2 * T.idle).await;
        let now = Instant::now();
        assert_eq!(clock.check(now, T), Check::RearmAt(now + T.header));
        drop(b);
        // HTTP/2 frames (pings, settings) are not request heads: only idleness counts.
        clock.on_read();
        tokio::time::advance(T.idle).await;
        assert_eq!(clock.check(Instant::now(), T), Check::Close(Expired::Idle));
    }

    #[tokio::test(start_paused = true)]
    async fn an_http2_connection_without_a_stream_is_idle_from_its_start() {
        let t = Timeouts {
            idle: Duration::from_secs(1),
            ..T
        };
        let t0 = Instant::now();
        let clock = ConnClock::new(t0);
        clock.on_read();
        clock.mark_http2();
        assert_eq!(clock.check(t0, t), Check::RearmAt(t0 + t.idle));
        assert_eq!(clock.check(t0 + t.idle, t), Check::Close(Expired::Idle));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_write_expires_even_with_a_request_in_flight() {
        let clock = ConnClock::new(Instant::now());
        let _token = clock.begin(Version::HTTP_11);
        clock.on_write(false);
        let stalled = Instant::now();
        tokio::time::advance(T.send - T.header / 2).await;
        clock.on_write(false);
        assert_eq!(
            clock.check(Instant::now(), T),
            Check::RearmAt(stalled + T.send)
        );
        clock.on_write(true);
        tokio::time::advance(T.send).await;
        let now = Instant::now();
        assert_eq!(clock.check(now, T), Check::RearmAt(now + T.header));
        clock.on_write(false);
        tokio::time::advance(T.send).await;
        assert_eq!(clock.check(Instant::now(), T), Check::Close(Expired::Send));
    }
}
