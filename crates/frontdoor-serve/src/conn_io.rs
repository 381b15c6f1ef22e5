//! [`ConnIo`]: the I/O hyper serves a connection over.
//!
//! It wraps the accepted stream (after its PROXY header and TLS handshake, if any)
//! and
//!
//! * tells the connection's [`ConnClock`] when a head starts (a byte arrives while
//!   nothing is in flight) and when writes stall or progress (the send timeout);
//! * holds what the connection occupies (its place under `max_connections`, its
//!   per-address slot, its place in the drain): hyper hands this I/O to an upgrade
//!   (WebSocket), so an upgraded connection keeps them for its whole life;
//! * once the connection is upgraded, times it itself: no byte either way for the
//!   idle timeout, or the drain timeout of a shutdown elapsing, fails its reads and
//!   writes, which ends the splice and closes both sides;
//! * closes lingering after a request body was too slow ([`ConnClock::is_closing`]):
//!   its write half is shut down first, then what the client still sends is read and
//!   discarded until it closes too, for at most [`LINGER`] and [`LINGER_MAX_BYTES`],
//!   so that a client still sending reads its `408` instead of a connection reset.

use std::{
    future::Future as _,
    io,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::OwnedSemaphorePermit,
    time::{Instant, Sleep},
};
use tokio_util::{
    sync::{CancellationToken, WaitForCancellationFutureOwned},
    task::task_tracker::TaskTrackerToken,
};

use crate::{clock::ConnClock, per_ip::IpSlot};

/// The longest a closing connection reads and discards what its client still sends.
const LINGER: Duration = Duration::from_secs(2);
/// The most bytes a lingering close discards before it closes anyway.
const LINGER_MAX_BYTES: usize = 1 << 20;
/// The reads a lingering close makes before it lets the worker's other tasks run.
const LINGER_READS_PER_POLL: usize = 16;

/// What a connection occupies until it is closed, upgraded or not: each is given back
/// when dropped.
#[derive(Debug)]
#[allow(dead_code, reason = "held for their Drop")]
pub(super) struct Held {
    pub(super) permit: OwnedSemaphorePermit,
    pub(super) slot: Option<IpSlot>,
    /// Keeps graceful shutdown waiting for the connection.
    pub(super) tracked: TaskTrackerToken,
}

/// The connection's I/O. See the [module docs](self).
#[derive(Debug)]
pub(super) struct ConnIo<I> {
    inner: I,
    clock: Arc<ConnClock>,
    idle_timeout: Duration,
    force: CancellationToken,
    upgraded: Option<Upgraded>,
    /// The lingering close, once its write half is shut down, and the bytes it
    /// discarded so far.
    linger: Option<(Pin<Box<Sleep>>, usize)>,
    _held: Held,
}

/// The timers of an upgraded connection, armed at its first I/O after the upgrade.
#[derive(Debug)]
struct Upgraded {
    idle: Pin<Box<Sleep>>,
    forced: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl<I> ConnIo<I> {
    pub(super) fn new(
        inner: I,
        clock: Arc<ConnClock>,
        idle_timeout: Duration,
        force: CancellationToken,
        held: Held,
    ) -> Self {
        Self {
            inner,
            clock,
            idle_timeout,
            force,
            upgraded: None,
            linger: None,
            _held: held,
        }
    }

    /// The same connection over `f(inner)` (a stream whose first reads give back
    /// what was already read from it).
    pub(super) fn map_inner<J>(self, f: impl FnOnce(I) -> J) -> ConnIo<J> {
        ConnIo {
            inner: f(self.inner),
            clock: self.clock,
            idle_timeout: self.idle_timeout,
            force: self.force,
            upgraded: self.upgraded,
            linger: self.linger,
            _held: self._held,
        }
    }

    /// The plain TCP socket under this connection (no TLS), for a splice, and the
    /// clock its writes report to.
    #[cfg(target_os = "linux")]
    pub(super) fn plain_tcp(&self) -> Option<(&tokio::net::TcpStream, &ConnClock)>
    where
        I: 'static,
    {
        let rewind: &dyn std::any::Any = &self.inner;
        let rewind =
            rewind.downcast_ref::<crate::proxy_protocol::Rewind<tokio::net::TcpStream>>()?;
        Some((rewind.get_ref(), &self.clock))
    }

    /// The upgraded connection's timers, when it has been upgraded.
    fn upgraded(&mut self) -> Option<&mut Upgraded> {
        if self.upgraded.is_none() && self.clock.is_upgraded() {
            self.upgraded = Some(Upgraded {
                idle: Box::pin(tokio::time::sleep(self.idle_timeout)),
                forced: Box::pin(self.force.clone().cancelled_owned()),
            });
        }
        self.upgraded.as_mut()
    }

    /// After an upgraded connection's I/O returned `poll`: bytes moved push the idle
    /// deadline back; a pending operation fails once the idle timeout or a forced
    /// shutdown comes.
    fn time_upgraded<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
        moved: bool,
    ) -> Poll<io::Result<T>> {
        let idle_timeout = self.idle_timeout;
        let Some(up) = self.upgraded() else {
            return poll;
        };
        if moved {
            up.idle.as_mut().reset(Instant::now() + idle_timeout);
        }
        if poll.is_ready() {
            return poll;
        }
        if up.forced.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "drain timeout: upgraded connection closed",
            )));
        }
        if up.idle.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "idle timeout: upgraded connection closed",
            )));
        }
        Poll::Pending
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for ConnIo<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        let moved = buf.filled().len() > before;
        if moved {
            this.clock.on_read();
        }
        this.time_upgraded(cx, poll, moved)
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ConnIo<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        let moved = matches!(poll, Poll::Ready(Ok(n)) if n > 0);
        this.clock.on_write(poll.is_ready());
        this.time_upgraded(cx, poll, moved)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        let moved = matches!(poll, Poll::Ready(Ok(n)) if n > 0);
        this.clock.on_write(poll.is_ready());
        this.time_upgraded(cx, poll, moved)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        if poll.is_pending() {
            this.clock.on_write(false);
        }
        this.time_upgraded(cx, poll, false)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.linger.is_none() {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            if !this.clock.is_closing() || this.clock.is_upgraded() {
                return Poll::Ready(Ok(()));
            }
            this.linger = Some((Box::pin(tokio::time::sleep(LINGER)), 0));
        }
        this.poll_linger(cx)
    }
}

impl<I: AsyncRead + Unpin> ConnIo<I> {
    /// Reads and discards until the client closes, its reads fail, [`LINGER`]
    /// elapses or [`LINGER_MAX_BYTES`] were discarded; a client that keeps sending
    /// fast is read [`LINGER_READS_PER_POLL`] times, then the task yields.
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut scratch = [0u8; 4096];
        let Some((timer, discarded)) = self.linger.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Ok(()));
        }
        for _ in 0..LINGER_READS_PER_POLL {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    *discarded += buf.filled().len();
                    if *discarded >= LINGER_MAX_BYTES {
                        return Poll::Ready(Ok(()));
                    }
                }
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
