//! Splicing an answer's body ([`frontdoor_core::splice`]): when the upstream was
//! built with `splice_bodies`, a body worth it ([`worth_it`]) shares its message with
//! a [`SpliceOffer`](frontdoor_core::splice::SpliceOffer), and a server that takes
//! the offer drives [`Message::poll_splice`]: the data the read buffer already holds
//! is handed over as bytes, the rest is moved by the server from the socket
//! ([`SpliceFrom`]), chunk by chunk for a chunked body, whose size lines and CRLFs
//! are still read and checked here. It stops at the trailers (or the end): the body
//! yields those as usual, and parks the connection at the exact end of the message.
//! A failure (the upstream closed mid-body, a bad chunk size, the body idle timeout,
//! the client's side failing) closes the connection; the body yields it.

use std::{
    future::Future as _,
    io,
    os::fd::{AsFd as _, BorrowedFd},
    pin::Pin,
    task::{ready, Context, Poll},
    time::Duration,
};

use bytes::Buf as _;
use frontdoor_core::{
    splice::{SpliceFrom, SpliceSink, SpliceSource},
    BoxError,
};
use parking_lot::Mutex;
use tokio::{
    io::Interest,
    net::TcpStream,
    time::{sleep_until, Instant, Sleep},
};

use super::body::{Message, State};
use crate::{ProxyError, ProxyErrorKind};

/// A `Content-Length` body is offered when at least this much of it is still to be
/// read after the head: below it, the copies cost less than the pipe's system calls.
const MIN_SPLICE: u64 = 64 * 1024;

/// Chunk size lines (and the CRLF after a chunk's data) are read this many bytes at
/// a time while splicing, so that little of the data after them is read into memory.
const LINE_READ: u64 = 1024;

/// Whether a body in `state`, with `buffered` (what was read of it with the head),
/// is worth offering: a long `Content-Length`, or chunked and not already complete
/// in the buffer.
pub(super) fn worth_it(state: State, buffered: &[u8]) -> bool {
    match state {
        State::Length(n) => n.saturating_sub(buffered.len() as u64) >= MIN_SPLICE,
        State::Size => !buffered.ends_with(b"0\r\n\r\n"),
        _ => false,
    }
}

// === Idle ===

/// The body idle timeout while a splice waits on the upstream (the time a server
/// waits on its client is its own send timeout's).
pub(super) struct Idle {
    after: Option<Duration>,
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
    expired: bool,
}

impl Idle {
    pub(super) const fn new(after: Option<Duration>) -> Self {
        Self {
            after,
            timer: None,
            armed: false,
            expired: false,
        }
    }

    /// The upstream sent something.
    fn progress(&mut self) {
        self.armed = false;
    }

    /// Waiting on the upstream: ready once it has been idle for the timeout.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(after) = self.after else {
            return Poll::Pending;
        };
        if !self.armed {
            let deadline = Instant::now() + after;
            match self.timer.as_mut() {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.timer = Some(Box::pin(sleep_until(deadline))),
            }
            self.armed = true;
        }
        match self.timer.as_mut() {
            Some(timer) => {
                ready!(timer.as_mut().poll(cx));
                self.expired = true;
                Poll::Ready(())
            }
            None => Poll::Pending,
        }
    }

    /// The failure to report: the idle timeout when it expired, else `e`.
    fn failure(&self, e: BoxError) -> BoxError {
        if self.expired {
            return ProxyError::new(ProxyErrorKind::BodyTimeout).into();
        }
        e
    }
}

// === From ===

/// The upstream's socket as a sink reads it: readiness, then the sink's operation,
/// under the idle timeout.
struct From<'a> {
    io: &'a TcpStream,
    idle: &'a mut Idle,
}

impl SpliceFrom for From<'_> {
    fn poll_read_with(
        &mut self,
        cx: &mut Context<'_>,
        op: &mut dyn FnMut(BorrowedFd<'_>) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            if self.io.poll_read_ready(cx)?.is_pending() {
                ready!(self.idle.poll_expired(cx));
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "upstream body idle timeout",
                )));
            }
            match self.io.try_io(Interest::READABLE, || op(self.io.as_fd())) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                moved => {
                    self.idle.progress();
                    return Poll::Ready(moved);
                }
            }
        }
    }
}

// === Offered ===

/// A message shared by its body and its offer.
pub(super) struct Offered(pub(super) Mutex<Message>);

impl SpliceSource for Offered {
    fn poll_splice(&self, cx: &mut Context<'_>, sink: &mut dyn SpliceSink) -> Poll<()> {
        self.0.lock().poll_splice(cx, sink)
    }
}

impl Message {
    /// Moves the body's data to `sink`: see the [module docs](self).
    fn poll_splice(&mut self, cx: &mut Context<'_>, sink: &mut dyn SpliceSink) -> Poll<()> {
        loop {
            if self.error.is_some() {
                return Poll::Ready(());
            }
            let Some(conn) = self.conn.as_mut() else {
                return Poll::Ready(());
            };
            match self.state {
                State::Length(left) | State::Data(left) => {
                    let n = if conn.read.is_empty() {
                        let mut from = From {
                            io: &conn.io,
                            idle: &mut self.idle,
                        };
                        match ready!(sink.poll_splice(cx, &mut from, left)) {
                            Ok(0) => {
                                self.fail("upstream closed the connection mid-body".into());
                                return Poll::Ready(());
                            }
                            Ok(n) => n.min(left),
                            Err(e) => {
                                let e = self.idle.failure(e.into());
                                self.fail(e);
                                return Poll::Ready(());
                            }
                        }
                    } else {
                        let n = left.min(conn.read.len() as u64);
                        // At most the read buffer: `n` fits in `usize`.
                        let n_usize = usize::try_from(n).unwrap_or(usize::MAX);
                        sink.write(&conn.read[..n_usize]);
                        conn.read.advance(n_usize);
                        n
                    };
                    self.consumed(n);
                }
                State::Size | State::DataEnd => match self.step_reading(cx, LINE_READ) {
                    Poll::Ready(Ok(_)) => self.idle.progress(),
                    Poll::Ready(Err(e)) => {
                        self.fail(e);
                        return Poll::Ready(());
                    }
                    Poll::Pending => {
                        ready!(self.idle.poll_expired(cx));
                        let e = self.idle.failure("upstream body idle timeout".into());
                        self.fail(e);
                        return Poll::Ready(());
                    }
                },
                State::Trailers | State::Done | State::Close => return Poll::Ready(()),
            }
        }
    }
}
