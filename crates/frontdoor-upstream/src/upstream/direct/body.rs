//! The response body of the direct client: it owns the connection while the message
//! streams, hands out data frames split from the read buffer (the bytes the socket
//! read, no further copy), decodes the chunked coding and its trailers, and at the
//! exact end of the message parks the connection in its pool, in whatever task
//! polls it. Dropped before the end, it completes the message from what is already
//! buffered when it can (and parks the connection), else closes the connection.
//!
//! A body offered for splicing shares its message with the offer (`splice.rs`): a
//! server that takes the offer moves the data itself, and the body then yields what
//! is left (the trailers and the end, or the failure), in the same way.
//!
//! A failure right after a data frame is reported on the next poll, after one
//! `Pending` (the task is woken at once): a server writing the answer downstream
//! flushes what it has buffered when its body is pending, so the client sees the
//! head and the data before the message breaks off, as with hyper's connections.

use std::{
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
    time::Duration,
};

use bytes::{Buf as _, Bytes};
use frontdoor_core::{
    splice::{SpliceOffer, SpliceSource},
    BoxError,
};
use http_body::{Frame, SizeHint};
use parking_lot::Mutex;

use super::{chunked, conn::Conn, pool::DirectPool, read::BodyFraming, splice};

/// Where the decoder is in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// `Content-Length`: the bytes left.
    Length(u64),
    /// Chunked: a size line is next.
    Size,
    /// Chunked: the bytes left of the current chunk.
    Data(u64),
    /// Chunked: the CRLF after a chunk's data.
    DataEnd,
    /// Chunked: the trailer section (or the final CRLF).
    Trailers,
    /// The body runs until the connection closes.
    Close,
    /// The message is complete.
    Done,
}

/// What one step of the decoder produced.
pub(super) enum Step {
    Frame(Frame<Bytes>),
    /// The state changed; decode on.
    Again,
    End,
}

// === ConnBody ===

/// The body of an answer on a direct connection. See the [module docs](self).
pub(crate) struct ConnBody {
    message: Shared,
    /// The last poll returned a data frame.
    yielded: bool,
    /// A failure held back for one poll after a data frame.
    failed: Option<BoxError>,
}

/// The message's state, owned by the body or shared with a [`SpliceOffer`].
#[allow(
    clippy::large_enum_variant,
    reason = "the body is boxed once (as `Body`); boxing the owned message would cost every answer an allocation"
)]
enum Shared {
    Own(Message),
    Offered(Arc<splice::Offered>),
}

impl std::fmt::Debug for ConnBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnBody").finish_non_exhaustive()
    }
}

impl ConnBody {
    /// The body framed as `framing` on `conn`; `pool` takes the connection back at
    /// the end when it may carry another request. With `splice` (the body's idle
    /// timeout), a body worth splicing ([`splice::worth_it`]) is offered: its
    /// [`SpliceOffer`] comes with it.
    pub(super) fn new(
        conn: Conn,
        pool: Option<Arc<DirectPool>>,
        framing: BodyFraming,
        splice: Option<Option<Duration>>,
    ) -> (Self, Option<SpliceOffer>) {
        let state = match framing {
            BodyFraming::Empty => State::Done,
            BodyFraming::Length(n) => State::Length(n),
            BodyFraming::Chunked => State::Size,
            BodyFraming::Close => State::Close,
        };
        let offer = splice.filter(|_| splice::worth_it(state, &conn.read));
        let mut message = Message {
            conn: Some(conn),
            pool: if state == State::Close { None } else { pool },
            state,
            draining: false,
            error: None,
            idle: splice::Idle::new(offer.flatten()),
        };
        if state == State::Done {
            message.finish();
        }
        let (message, offer) = match offer {
            Some(_) => {
                let shared = Arc::new(splice::Offered(Mutex::new(message)));
                let offer = SpliceOffer::new(Arc::clone(&shared) as Arc<dyn SpliceSource>);
                (Shared::Offered(shared), Some(offer))
            }
            None => (Shared::Own(message), None),
        };
        let body = Self {
            message,
            yielded: false,
            failed: None,
        };
        (body, offer)
    }
}

// === Message ===

/// Where the message stands on its connection: decoded by the body frame by frame,
/// or moved by a splice (`splice.rs`).
pub(super) struct Message {
    pub(super) conn: Option<Conn>,
    /// Where the connection goes at the end of the message; `None`: it closes.
    pool: Option<Arc<DirectPool>>,
    pub(super) state: State,
    /// Decode only what is buffered (when dropped).
    draining: bool,
    /// A splice's failure, for the body to yield.
    pub(super) error: Option<BoxError>,
    /// A splice's idle timeout.
    pub(super) idle: splice::Idle,
}

impl Message {
    /// The message is complete: the connection is parked, unless the upstream sent
    /// bytes past the message (it is closed then).
    pub(super) fn finish(&mut self) {
        self.state = State::Done;
        if let (Some(conn), Some(pool)) = (self.conn.take(), self.pool.take()) {
            if conn.read.is_empty() {
                pool.park(conn);
            }
        }
    }

    /// The message failed: its connection closes; the body yields `e`.
    pub(super) fn fail(&mut self, e: BoxError) {
        self.close();
        self.error = Some(e);
    }

    /// The message ends here and its connection closes, never reused.
    fn close(&mut self) {
        self.conn = None;
        self.state = State::Done;
    }

    /// What the body has consumed `n` bytes of data: the state moves on, and the
    /// message finishes when its last byte is out.
    pub(super) fn consumed(&mut self, n: u64) {
        match self.state {
            State::Length(left) if left == n => self.finish(),
            State::Length(left) => self.state = State::Length(left - n),
            State::Data(left) if left == n => self.state = State::DataEnd,
            State::Data(left) => self.state = State::Data(left - n),
            _ => {}
        }
    }

    fn step(&mut self, cx: &mut Context<'_>) -> Poll<Result<Step, BoxError>> {
        self.step_reading(cx, u64::MAX)
    }

    /// One step of the decoder; framing (chunk size lines, the CRLF after a chunk)
    /// is read at most `line_read` bytes at a time.
    pub(super) fn step_reading(
        &mut self,
        cx: &mut Context<'_>,
        line_read: u64,
    ) -> Poll<Result<Step, BoxError>> {
        if let Some(e) = self.error.take() {
            return Poll::Ready(Err(e));
        }
        let draining = self.draining;
        let Some(conn) = self.conn.as_mut() else {
            return Poll::Ready(Ok(Step::End));
        };
        match self.state {
            State::Done => Poll::Ready(Ok(Step::End)),
            State::Length(left) | State::Data(left) => {
                if conn.read.is_empty() && ready!(fill(cx, conn, left, draining))? == 0 {
                    return Poll::Ready(Err("upstream closed the connection mid-body".into()));
                }
                let n = left.min(conn.read.len() as u64);
                let data = conn.read.split_to(n as usize).freeze();
                self.consumed(n);
                Poll::Ready(Ok(Step::Frame(Frame::data(data))))
            }
            State::Close => {
                if conn.read.is_empty() && ready!(fill(cx, conn, u64::MAX, draining))? == 0 {
                    self.close();
                    return Poll::Ready(Ok(Step::End));
                }
                Poll::Ready(Ok(Step::Frame(Frame::data(conn.read.split().freeze()))))
            }
            State::Size => match chunked::size_line(&conn.read)? {
                Some((used, size)) => {
                    conn.read.advance(used);
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::Data(size)
                    };
                    Poll::Ready(Ok(Step::Again))
                }
                None => more(cx, conn, line_read, draining),
            },
            State::DataEnd => {
                if conn.read.len() < 2 {
                    return more(cx, conn, line_read, draining);
                }
                if &conn.read[..2] != b"\r\n" {
                    return Poll::Ready(Err("chunk data not ended by CRLF".into()));
                }
                conn.read.advance(2);
                self.state = State::Size;
                Poll::Ready(Ok(Step::Again))
            }
            State::Trailers => match chunked::trailers(&mut conn.read)? {
                Some(trailers) => {
                    self.finish();
                    if trailers.is_empty() {
                        return Poll::Ready(Ok(Step::End));
                    }
                    Poll::Ready(Ok(Step::Frame(Frame::trailers(trailers))))
                }
                None => more(cx, conn, u64::MAX, draining),
            },
        }
    }
}

/// Reads more of the message (nothing when `draining`).
fn fill(
    cx: &mut Context<'_>,
    conn: &mut Conn,
    limit: u64,
    draining: bool,
) -> Poll<std::io::Result<usize>> {
    if draining {
        return Poll::Pending;
    }
    conn.poll_fill(cx, limit)
}

/// Reads more of a chunked message, at most `limit` bytes; its end here is an error.
fn more(
    cx: &mut Context<'_>,
    conn: &mut Conn,
    limit: u64,
    draining: bool,
) -> Poll<Result<Step, BoxError>> {
    if ready!(fill(cx, conn, limit, draining))? == 0 {
        return Poll::Ready(Err("upstream closed the connection mid-body".into()));
    }
    Poll::Ready(Ok(Step::Again))
}

// === impl Drop for Message ===

impl Drop for Message {
    fn drop(&mut self) {
        if self.conn.is_none() || self.pool.is_none() {
            return;
        }
        // Dropped mid-message: finish it if the rest is already buffered.
        self.draining = true;
        let mut cx = Context::from_waker(std::task::Waker::noop());
        while let Poll::Ready(Ok(Step::Frame(_) | Step::Again)) = self.step(&mut cx) {}
    }
}

// === impl Body for ConnBody ===

impl ConnBody {
    /// `f` on the message, wherever it is.
    fn with<T>(&self, f: impl FnOnce(&Message) -> T) -> T {
        match &self.message {
            Shared::Own(m) => f(m),
            Shared::Offered(m) => f(&m.0.lock()),
        }
    }
}

impl http_body::Body for ConnBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(e) = this.failed.take() {
            return Poll::Ready(Some(Err(e)));
        }
        let yielded = std::mem::take(&mut this.yielded);
        let mut locked;
        let message = match &mut this.message {
            Shared::Own(m) => m,
            Shared::Offered(m) => {
                locked = m.0.lock();
                &mut *locked
            }
        };
        loop {
            let Poll::Ready(step) = message.step(cx) else {
                return Poll::Pending;
            };
            match step {
                Ok(Step::Frame(frame)) => {
                    this.yielded = frame.is_data();
                    return Poll::Ready(Some(Ok(frame)));
                }
                Ok(Step::Again) => {}
                Ok(Step::End) => return Poll::Ready(None),
                Err(e) => {
                    message.close();
                    if yielded {
                        this.failed = Some(e);
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed.is_none() && self.with(|m| m.state == State::Done && m.error.is_none())
    }

    fn size_hint(&self) -> SizeHint {
        self.with(|m| match m.state {
            State::Length(n) => SizeHint::with_exact(n),
            State::Done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        })
    }
}
