//! The client side of a fast-path connection: its I/O and read buffer, shared by the
//! connection's task (which reads heads and writes answers) and the request body it
//! hands to the service ([`RequestBody`], which reads the body off the same buffer).
//! Both run in the connection's task (the service polls the body), so the lock is
//! never contended; it is there because the body must be `Send` and `'static`.

use std::{
    future::poll_fn,
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, Waker},
};

use bytes::{Buf, Bytes, BytesMut};
use frontdoor_core::{BoxError, ErrorKind};
use http::HeaderMap;
use http_body::{Frame, SizeHint};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::io::poll_read_buf;

use super::head::BodyFraming;
use crate::{
    conn_io::ConnIo,
    strict::scan::{
        chunked::{Chunked, Decoded},
        DEFAULT_MAX_HEADERS,
    },
};

/// The read buffer's size between messages; a larger one (a big head, a body read
/// in large pieces) is given back when the connection is idle.
const IDLE_BUF: usize = 8 * 1024;
/// The most a body read asks for at once.
const BODY_READ: usize = 64 * 1024;

/// The connection's I/O and read buffer, and where the current request body is.
pub(super) struct Inbound<I> {
    pub(super) io: ConnIo<I>,
    pub(super) buf: BytesMut,
    body: BodyState,
    /// The task waiting for more of the request body, woken when the connection
    /// is abandoned.
    body_waker: Option<Waker>,
    /// The number of the current request body: a body of an earlier request (read
    /// to its end before this one began) reads nothing of it.
    generation: u64,
}

/// Where the current request body is on the wire.
enum BodyState {
    /// Read to its end (or there was none): the buffer starts at the next head.
    Done,
    /// This many bytes to go.
    Length(u64),
    /// A chunked body, and the trailer section's bytes so far.
    Chunked(Box<Chunked>, Vec<u8>),
    /// The body failed (bad framing, the client closed): the connection is done.
    Failed,
}

/// The shared half of a connection.
pub(super) type Conn<I> = Arc<Mutex<Inbound<I>>>;

impl<I> Inbound<I> {
    pub(super) fn new(io: ConnIo<I>) -> Self {
        Self {
            io,
            buf: BytesMut::with_capacity(IDLE_BUF),
            body: BodyState::Done,
            body_waker: None,
            generation: 0,
        }
    }

    /// The connection's task is gone (the connection ended, timed out or was cut
    /// off by a drain): a request body still being read fails, and its reader is
    /// woken to see it, as a body hyper's server drops fails.
    pub(super) fn abandon(&mut self) {
        if !self.body_done() {
            self.body = BodyState::Failed;
        }
        if let Some(waker) = self.body_waker.take() {
            waker.wake();
        }
    }

    /// Starts the body of the head just parsed, with `max_headers` trailer lines
    /// at most; the body's number (see [`RequestBody`]).
    pub(super) fn begin_body(&mut self, framing: BodyFraming, max_headers: usize) -> u64 {
        self.generation += 1;
        self.body = match framing {
            BodyFraming::None => BodyState::Done,
            BodyFraming::Length(n) => BodyState::Length(n),
            BodyFraming::Chunked => {
                BodyState::Chunked(Box::new(Chunked::new(max_headers)), Vec::new())
            }
        };
        self.generation
    }

    /// Whether the request body has been read to its end, so the next head can be
    /// read.
    pub(super) fn body_done(&self) -> bool {
        matches!(self.body, BodyState::Done)
    }

    /// Gives back a large read buffer once nothing is left in it.
    pub(super) fn shrink(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > IDLE_BUF {
            self.buf = BytesMut::with_capacity(IDLE_BUF);
        }
    }
}

impl<I: AsyncRead + Unpin> Inbound<I> {
    /// Reads more bytes into the buffer; 0 at the end of the stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<usize>> {
        if self.buf.capacity() - self.buf.len() < want.min(IDLE_BUF) {
            self.buf.reserve(want.clamp(1024, BODY_READ));
        }
        poll_read_buf(Pin::new(&mut self.io), cx, &mut self.buf)
    }

    /// The next frame of the request body. See [`RequestBody`].
    fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = self.poll_body_inner(cx);
        if polled.is_pending() {
            if !self
                .body_waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                self.body_waker = Some(cx.waker().clone());
            }
        } else {
            self.body_waker = None;
        }
        polled
    }

    fn poll_body_inner(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            match &mut self.body {
                BodyState::Done => return Poll::Ready(None),
                BodyState::Failed => return Poll::Ready(Some(Err(cut_short()))),
                BodyState::Length(left) => {
                    if !self.buf.is_empty() {
                        let n = usize::try_from(*left)
                            .unwrap_or(usize::MAX)
                            .min(self.buf.len());
                        *left -= n as u64;
                        if *left == 0 {
                            self.body = BodyState::Done;
                        }
                        let data = self.buf.split_to(n).freeze();
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    let want = usize::try_from(*left).unwrap_or(usize::MAX);
                    if let Err(poll) = self.fill_or_fail(cx, want).into_flow() {
                        return poll;
                    }
                }
                BodyState::Chunked(chunked, trailers) => match chunked.decode(&self.buf) {
                    Decoded::Data { start, end } => {
                        self.buf.advance(start);
                        let data = self.buf.split_to(end - start).freeze();
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    Decoded::End { used, trailers: t } => {
                        if let Some((from, to)) = t {
                            trailers.extend_from_slice(&self.buf[from..to]);
                        }
                        let section = std::mem::take(trailers);
                        self.buf.advance(used);
                        self.body = BodyState::Done;
                        return match parse_trailers(&section) {
                            Some(map) if map.is_empty() => Poll::Ready(None),
                            Some(map) => Poll::Ready(Some(Ok(Frame::trailers(map)))),
                            None => {
                                self.body = BodyState::Failed;
                                Poll::Ready(Some(Err(bad_chunk())))
                            }
                        };
                    }
                    Decoded::More { used, trailers: t } => {
                        if let Some((from, to)) = t {
                            trailers.extend_from_slice(&self.buf[from..to]);
                        }
                        self.buf.advance(used);
                        if let Err(poll) = self.fill_or_fail(cx, BODY_READ).into_flow() {
                            return poll;
                        }
                    }
                    Decoded::Invalid => {
                        self.body = BodyState::Failed;
                        return Poll::Ready(Some(Err(bad_chunk())));
                    }
                },
            }
        }
    }

    /// Reads more of the body; pending, or failed (the stream ended or broke).
    fn fill_or_fail(
        &mut self,
        cx: &mut Context<'_>,
        want: usize,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.poll_fill(cx, want) {
            Poll::Ready(Ok(n)) if n > 0 => Poll::Ready(None),
            Poll::Ready(_) => {
                self.body = BodyState::Failed;
                Poll::Ready(Some(Err(cut_short())))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Turns [`Inbound::fill_or_fail`]'s answer into control flow: `Ready(None)` means
/// "read something, go on".
trait Filled {
    fn into_flow(self) -> Result<(), Poll<Option<Result<Frame<Bytes>, BoxError>>>>;
}

impl Filled for Poll<Option<Result<Frame<Bytes>, BoxError>>> {
    fn into_flow(self) -> Result<(), Self> {
        match self {
            Poll::Ready(None) => Ok(()),
            other => Err(other),
        }
    }
}

/// One read attempt into the connection's buffer (see [`fill`]).
pub(super) fn poll_fill_once<I: AsyncRead + Unpin>(
    inbound: &mut Inbound<I>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    inbound.poll_fill(cx, IDLE_BUF)
}

/// Reads more bytes into the connection's buffer: the number read, 0 at the end of
/// the stream.
pub(super) async fn fill<I: AsyncRead + Unpin>(conn: &Conn<I>) -> io::Result<usize> {
    poll_fn(|cx| conn.lock().poll_fill(cx, IDLE_BUF)).await
}

/// Writes all of `bufs` (in order, at most three) to the connection, vectored
/// where the stream supports it.
pub(super) async fn write_all<I: AsyncRead + AsyncWrite + Unpin>(
    conn: &Conn<I>,
    mut bufs: [&[u8]; 3],
) -> io::Result<()> {
    loop {
        let pending = bufs.iter().filter(|b| !b.is_empty()).count();
        if pending == 0 {
            return Ok(());
        }
        let mut n = poll_fn(|cx| {
            let mut inbound = conn.lock();
            let io = Pin::new(&mut inbound.io);
            if pending == 1 || !io.is_write_vectored() {
                let first = bufs
                    .iter()
                    .find(|b| !b.is_empty())
                    .copied()
                    .unwrap_or_default();
                return io.poll_write(cx, first);
            }
            let slices = bufs.map(io::IoSlice::new);
            io.poll_write_vectored(cx, &slices)
        })
        .await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        for b in &mut bufs {
            let k = n.min(b.len());
            *b = &b[k..];
            n -= k;
        }
    }
}

/// Flushes the connection and shuts its write half down (a lingering close when the
/// clock says so: see `conn_io.rs`).
pub(super) async fn close<I: AsyncWrite + AsyncRead + Unpin>(conn: &Conn<I>) {
    let _ = poll_fn(|cx| Pin::new(&mut conn.lock().io).poll_flush(cx)).await;
    let _ = poll_fn(|cx| Pin::new(&mut conn.lock().io).poll_shutdown(cx)).await;
}

/// The request body handed to the service: read off the connection's buffer and
/// socket as the service asks for it, the chunked framing decoded (trailers become a
/// trailers frame). A body the stream ends before its framing does fails (so an
/// upstream request streaming it is aborted), and so does bad chunked framing.
pub(super) struct RequestBody<I> {
    conn: Conn<I>,
    length: Option<u64>,
    /// Which of the connection's bodies this is ([`Inbound::begin_body`]).
    generation: u64,
}

impl<I> RequestBody<I> {
    pub(super) fn new(conn: Conn<I>, framing: BodyFraming, generation: u64) -> Self {
        let length = match framing {
            BodyFraming::Length(n) => Some(n),
            BodyFraming::None => Some(0),
            BodyFraming::Chunked => None,
        };
        Self {
            conn,
            length,
            generation,
        }
    }
}

impl<I: AsyncRead + Unpin> http_body::Body for RequestBody<I> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = {
            let mut inbound = this.conn.lock();
            if inbound.generation != this.generation {
                return Poll::Ready(None);
            }
            inbound.poll_body(cx)
        };
        if let (Poll::Ready(Some(Ok(frame))), Some(left)) = (&polled, this.length.as_mut()) {
            if let Some(data) = frame.data_ref() {
                *left -= data.len() as u64;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        if self.length == Some(0) {
            return true;
        }
        let inbound = self.conn.lock();
        inbound.generation != self.generation || inbound.body_done()
    }

    fn size_hint(&self) -> SizeHint {
        match self.length {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

/// The error of a body whose connection ended before the body did.
fn cut_short() -> BoxError {
    frontdoor_core::Error::new(
        ErrorKind::BadRequest,
        "request body cut short: the connection ended",
    )
    .into()
}

/// The error of a chunked body that does not parse.
fn bad_chunk() -> BoxError {
    frontdoor_core::Error::new(ErrorKind::BadRequest, "invalid chunked request body").into()
}

/// The trailer section (through its empty line) as a map; `None` when it does not
/// parse.
fn parse_trailers(section: &[u8]) -> Option<HeaderMap> {
    if section.len() <= 2 {
        return Some(HeaderMap::new());
    }
    let mut slots = [httparse::EMPTY_HEADER; DEFAULT_MAX_HEADERS];
    let httparse::Status::Complete((_, fields)) =
        httparse::parse_headers(section, &mut slots).ok()?
    else {
        return None;
    };
    let mut map = HeaderMap::with_capacity(fields.len());
    for f in fields {
        let name = http::HeaderName::from_bytes(f.name.as_bytes()).ok()?;
        let value = http::HeaderValue::from_bytes(f.value).ok()?;
        map.append(name, value);
    }
    Some(map)
}
