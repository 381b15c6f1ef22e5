//! The request body as the service sees it: [`IdleBody`] (the body read timeout and
//! the minimum body rate) under http-body-util's [`Limited`] (the `max_request_body`
//! cap).

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError, ErrorKind};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::time::Instant;

use crate::{clock::ConnClock, config::MAX_TIMEOUT};

/// How fast a request body must arrive: no gap longer than `idle`, and, once the
/// body has kept its reader waiting for longer than `idle` in all, an average of at
/// least `min_rate` bytes a second over that waiting (0: no minimum).
///
/// Only the time the reader waits for the client counts: a body whose reader (the
/// upstream) is slow to take it is never the client's fault.
#[derive(Clone, Copy, Debug)]
pub(super) struct BodyPace {
    pub(super) idle: Duration,
    pub(super) min_rate: u64,
}

impl BodyPace {
    /// How long a body that has delivered `bytes` may have kept its reader waiting
    /// before it is below the minimum rate (never less than `idle`); `None` without a
    /// minimum.
    fn allowance(self, bytes: u64) -> Option<Duration> {
        if self.min_rate == 0 {
            return None;
        }
        // bytes / min_rate seconds, in nanoseconds, saturating (an allowance past the
        // longest timeout is as good as none: it is clamped).
        let nanos = u128::from(bytes) * 1_000_000_000 / u128::from(self.min_rate);
        let owed = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        Some(self.idle.max(owed.min(MAX_TIMEOUT)))
    }
}

pin_project! {
    /// A request body that fails with a [`RequestTimeout`](ErrorKind::RequestTimeout)
    /// error when it delivers nothing for the idle timeout, or when it is below the
    /// minimum rate ([`BodyPace`]). Either way the connection's clock is told, so the
    /// answer closes the connection (with a lingering close, see `conn_io.rs`).
    pub(super) struct IdleBody<B = Incoming> {
        #[pin]
        inner: B,
        #[pin]
        sleep: tokio::time::Sleep,
        pace: BodyPace,
        clock: Arc<ConnClock>,
        // Since when the reader has been waiting for the next frame, if it is.
        waiting_since: Option<Instant>,
        // How long the reader waited for the frames so far.
        waited: Duration,
        bytes: u64,
        failed: bool,
    }
}

// === impl IdleBody ===

impl<B> IdleBody<B> {
    pub(super) fn new(inner: B, pace: BodyPace, clock: Arc<ConnClock>) -> Self {
        Self {
            inner,
            sleep: tokio::time::sleep(pace.idle),
            pace,
            clock,
            waiting_since: None,
            waited: Duration::ZERO,
            bytes: 0,
            failed: false,
        }
    }
}

/// Why a body failed: it stalled for the idle timeout.
const TIMED_OUT: &str = "request body read timeout";
/// Why a body failed: its average rate fell below the minimum.
const BELOW_RATE: &str = "request body below the minimum rate";

/// The error of a body that is too slow.
fn too_slow(reason: &'static str) -> BoxError {
    frontdoor_core::Error::new(ErrorKind::RequestTimeout, reason).into()
}

impl<B> http_body::Body for IdleBody<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if *this.failed {
            return Poll::Ready(Some(Err(too_slow(TIMED_OUT))));
        }
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(since) = this.waiting_since.take() {
                    *this.waited += since.elapsed();
                }
                if let Some(data) = frame.data_ref() {
                    *this.bytes += data.len() as u64;
                }
                // A client that keeps sending, but too slowly: checked as its bytes come.
                let late = this
                    .pace
                    .allowance(*this.bytes)
                    .is_some_and(|allowed| *this.waited > allowed);
                if late && !frame.is_trailers() {
                    return Poll::Ready(Some(Err(fail(this.failed, this.clock, BELOW_RATE))));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => {
                *this.waiting_since = None;
                Poll::Ready(other.map(|r| r.map_err(Into::into)))
            }
            Poll::Pending => {
                if this.waiting_since.is_none() {
                    // The timer runs from the first time the body has nothing to give,
                    // to the idle timeout or the instant the waiting so far goes past
                    // what the rate allows, whichever comes first.
                    let now = Instant::now();
                    *this.waiting_since = Some(now);
                    let idle = now + this.pace.idle;
                    let due = this.pace.allowance(*this.bytes).map_or(idle, |allowed| {
                        idle.min(now + allowed.saturating_sub(*this.waited))
                    });
                    this.sleep.as_mut().reset(due);
                }
                match this.sleep.poll(cx) {
                    Poll::Ready(()) => {
                        let reason = if this
                            .waiting_since
                            .is_some_and(|since| since.elapsed() >= this.pace.idle)
                        {
                            TIMED_OUT
                        } else {
                            BELOW_RATE
                        };
                        Poll::Ready(Some(Err(fail(this.failed, this.clock, reason))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Marks the body failed and the connection for closing; the error to yield.
fn fail(failed: &mut bool, clock: &ConnClock, reason: &'static str) -> BoxError {
    *failed = true;
    clock.close_after_answer();
    too_slow(reason)
}

/// The request body handed to the service: `body`, capped at `max` bytes when `max`
/// is not 0. A body that crosses the cap fails with a
/// [`PayloadTooLarge`](ErrorKind::PayloadTooLarge) error, so a proxied request is
/// abandoned (answered `413` if no response has started) rather than forwarded whole.
pub(super) fn request_body<B>(body: B, max: u64) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    if max == 0 {
        return Body::new(body);
    }
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    Body::new(Limited::new(body, max).map_err(|e: BoxError| {
        if e.is::<LengthLimitError>() {
            frontdoor_core::Error::new(ErrorKind::PayloadTooLarge, "request body too large").into()
        } else {
            e
        }
    }))
}
