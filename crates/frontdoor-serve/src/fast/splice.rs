//! Response bodies moved with `splice(2)` ([`frontdoor_core::splice`]): when the
//! answer carries a [`SpliceOffer`](frontdoor_core::splice::SpliceOffer), its framing
//! is a `Content-Length` or chunked, and the client's connection is plain TCP, the
//! fast path writes the head, then has the upstream's body move its data through a
//! pipe: upstream socket to pipe, pipe to client socket, no byte in user space.
//! What the upstream had already read (with its head, or with a chunk size line)
//! is copied as before.
//!
//! Each piece moved is framed as the answer's framing says: a chunk of its own when
//! chunked (its size is known once the piece is in the pipe, before it is written
//! on). The pipe is taken for the answer from the worker thread's idle ones (made
//! when there is none) and given back empty after it; its writes report to the
//! connection's clock, so the send timeout applies as to every write. A client
//! write that fails ends the splice and the connection; so does a pipe left holding
//! bytes.

use std::{
    cell::RefCell,
    io,
    os::fd::{AsFd as _, OwnedFd},
    pin::Pin,
    sync::atomic::{AtomicU64, Ordering},
    task::{ready, Context, Poll},
};

use frontdoor_core::splice::{SpliceFrom, SpliceOffer, SpliceSink};
use rustix::pipe::{
    fcntl_getpipe_size, fcntl_setpipe_size, pipe_with, splice, PipeFlags, SpliceFlags,
};
use tokio::io::{AsyncRead, AsyncWrite, Interest};

use super::{inbound::Conn, outbound::chunk_size};

/// The pipe's capacity, asked for when it is made (the kernel's default, 64 KiB,
/// when refused): the most one splice moves.
const PIPE_SIZE: usize = 256 * 1024;

/// Bytes moved by splice(2) since the process started.
static SPLICED: AtomicU64 = AtomicU64::new(0);

/// Bytes of response bodies moved by `splice(2)` since the process started (on every
/// server of the process).
pub(crate) fn spliced_bytes() -> u64 {
    SPLICED.load(Ordering::Relaxed)
}

// === Pipe ===

thread_local! {
    /// The worker thread's idle pipes, empty, for the next splice.
    static IDLE: RefCell<Vec<Pipe>> = const { RefCell::new(Vec::new()) };
}

/// The most idle pipes a thread keeps.
const IDLE_MAX: usize = 16;

/// A non-blocking pipe, taken for one answer's splice and given back after it when
/// empty: connections hold none between answers, so a server with many idle
/// connections holds no more pipes than it splices answers at once (plus
/// [`IDLE_MAX`] idle per thread).
#[derive(Debug)]
pub(super) struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
}

impl Pipe {
    /// An idle pipe of this thread, or a new one.
    pub(super) fn take() -> io::Result<Self> {
        match IDLE.with_borrow_mut(Vec::pop) {
            Some(pipe) => Ok(pipe),
            None => Self::new(),
        }
    }

    /// Keeps an empty pipe for the next splice on this thread.
    pub(super) fn give_back(self) {
        IDLE.with_borrow_mut(|idle| {
            if idle.len() < IDLE_MAX {
                idle.push(self);
            }
        });
    }

    /// A new pipe, as large as the kernel lets it be up to [`PIPE_SIZE`] (an
    /// unprivileged user past its pipe allowance gets smaller ones).
    fn new() -> io::Result<Self> {
        let (read, write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        let capacity = match fcntl_setpipe_size(&write, PIPE_SIZE) {
            Ok(size) => size,
            Err(_) => fcntl_getpipe_size(&write)?,
        };
        Ok(Self {
            read,
            write,
            capacity,
        })
    }
}

// === ClientSink ===

/// The client's connection as a [`SpliceSink`]: see the [module docs](self).
pub(super) struct ClientSink<'a, I> {
    conn: &'a Conn<I>,
    /// What is to be written before the next piece (the head, copied data, chunk
    /// framing); its first `written` bytes are out.
    out: &'a mut Vec<u8>,
    written: usize,
    pipe: Pipe,
    chunked: bool,
    /// Bytes of the current piece still in the pipe, and the piece's size.
    in_pipe: usize,
    piece: usize,
    /// Body bytes handed on (copied or spliced).
    moved: u64,
    /// A write to the client failed (or the pipe kept bytes): the connection ends.
    failed: bool,
}

impl<'a, I> ClientSink<'a, I>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    pub(super) fn new(conn: &'a Conn<I>, out: &'a mut Vec<u8>, pipe: Pipe, chunked: bool) -> Self {
        Self {
            conn,
            out,
            written: 0,
            pipe,
            chunked,
            in_pipe: 0,
            piece: 0,
            moved: 0,
            failed: false,
        }
    }

    /// Drives `offer` until the body's data has moved (or failed). Whenever the
    /// body waits on its upstream, what the sink holds (bytes the upstream had read
    /// ahead, chunk framing) is written meanwhile, as the copying path flushes when
    /// a body is pending: an event stream's events are never held back.
    pub(super) async fn run(&mut self, offer: &SpliceOffer) {
        std::future::poll_fn(|cx| {
            if offer.poll_splice(cx, self).is_ready() {
                return Poll::Ready(());
            }
            if self.written < self.out.len() {
                if let Poll::Ready(Err(e)) = self.poll_flush(cx) {
                    tracing::debug!(error = %e, "client write failed while splicing");
                    self.failed = true;
                    return Poll::Ready(());
                }
            }
            Poll::Pending
        })
        .await;
    }

    /// Ends the splice: the body bytes handed on, or `None` when the connection must
    /// close (a client write failed, or the pipe still holds bytes); the pipe goes
    /// back to the thread's idle ones when empty. What is left in `out` is still to
    /// be written.
    pub(super) fn finish(self) -> Option<u64> {
        self.out.drain(..self.written);
        if self.in_pipe > 0 {
            return None;
        }
        self.pipe.give_back();
        (!self.failed).then_some(self.moved)
    }

    /// Writes what `out` holds.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.out.len() {
            let mut inbound = self.conn.lock();
            let n = ready!(Pin::new(&mut inbound.io).poll_write(cx, &self.out[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.out.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    /// Moves some of the pipe's bytes to the client: how many.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let inbound = self.conn.lock();
        let Some((tcp, clock)) = inbound.io.plain_tcp() else {
            return Poll::Ready(Err(io::Error::other("not a plain TCP connection")));
        };
        loop {
            if tcp.poll_write_ready(cx)?.is_pending() {
                clock.on_write(false);
                return Poll::Pending;
            }
            let moved = tcp.try_io(Interest::WRITABLE, || {
                let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
                Ok(splice(
                    &self.pipe.read,
                    None,
                    tcp,
                    None,
                    self.in_pipe,
                    flags,
                )?)
            });
            match moved {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    clock.on_write(true);
                    return Poll::Ready(Ok(n));
                }
            }
        }
    }

    fn client_failed(&mut self, e: io::Error) -> Poll<io::Result<u64>> {
        self.failed = true;
        Poll::Ready(Err(e))
    }
}

impl<I> SpliceSink for ClientSink<'_, I>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn write(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.chunked {
            chunk_size(data.len(), self.out);
        }
        self.out.extend_from_slice(data);
        if self.chunked {
            self.out.extend_from_slice(b"\r\n");
        }
        self.moved += data.len() as u64;
    }

    fn poll_splice(
        &mut self,
        cx: &mut Context<'_>,
        from: &mut dyn SpliceFrom,
        max: u64,
    ) -> Poll<io::Result<u64>> {
        if self.in_pipe == 0 {
            let want =
                usize::try_from(max).map_or(self.pipe.capacity, |m| m.min(self.pipe.capacity));
            let pipe_in = self.pipe.write.as_fd();
            let filled = ready!(from.poll_read_with(cx, &mut |fd| {
                let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
                Ok(splice(fd, None, pipe_in, None, want, flags)?)
            }))?;
            if filled == 0 {
                return Poll::Ready(Ok(0));
            }
            self.in_pipe = filled;
            self.piece = filled;
            if self.chunked {
                chunk_size(filled, self.out);
            }
        }
        if let Err(e) = ready!(self.poll_flush(cx)) {
            return self.client_failed(e);
        }
        while self.in_pipe > 0 {
            match ready!(self.poll_drain(cx)) {
                Ok(n) => self.in_pipe -= n.min(self.in_pipe),
                Err(e) => return self.client_failed(e),
            }
        }
        if self.chunked {
            self.out.extend_from_slice(b"\r\n");
        }
        let piece = self.piece as u64;
        self.moved += piece;
        SPLICED.fetch_add(piece, Ordering::Relaxed);
        Poll::Ready(Ok(piece))
    }
}
