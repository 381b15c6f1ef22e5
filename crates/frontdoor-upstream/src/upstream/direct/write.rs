//! The request side of the direct client: the head serialised into the connection's
//! reused write buffer, and the body streamed frame by frame with the framing
//! hyper's HTTP/1 client would choose.
//!
//! Framing (as hyper's client): an empty body (`is_end_stream`) is sent with none
//! and no framing header added; else a valid `Content-Length` the request carries
//! wins; else an exact size hint becomes `content-length`; else `GET`, `HEAD` and
//! `CONNECT` are sent without a body, every other method with
//! `transfer-encoding: chunked` (an invalid `Content-Length` is then removed).
//! Trailers of a chunked body are sent as chunked trailers, without the fields a
//! trailer may not carry. A body that fails, ends short of its `Content-Length` or
//! runs past it aborts the request: what was queued before the failure is still
//! written (as hyper does: the upstream sees the head), nothing completes the
//! message, and the caller closes the connection.

use std::{
    io::{self, IoSlice},
    pin::Pin,
    task::{ready, Context, Poll},
};

use bytes::{Buf as _, Bytes, BytesMut};
use frontdoor_core::{Body, BoxError};
use http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, Method};
use http_body::{Body as _, Frame};
use tokio::{io::AsyncWrite, net::TcpStream};

use super::read::content_length;

/// Frames up to this size are copied into the write buffer (one `write` for many
/// small frames); larger ones are written from their own memory, vectored.
const COPY_FRAME: usize = 8 * 1024;
/// Small frames are gathered until the buffer holds this much.
const GATHER: usize = 16 * 1024;

/// How the request body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body is sent.
    Empty,
    /// `Content-Length`: the bytes still owed.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Decides the request body's framing, adding the framing header hyper's client
/// would add (see the [module docs](self)).
pub(super) fn framing(parts: &mut Parts, body: &Body) -> Framing {
    let headers = &mut parts.headers;
    if body.is_end_stream() {
        headers.remove(header::TRANSFER_ENCODING);
        return Framing::Empty;
    }
    let existing = content_length(headers).ok().flatten();
    if headers.contains_key(header::TRANSFER_ENCODING) {
        // Hop-by-hop, so never here after `prepare`; treated as hyper does.
        if existing.is_some() {
            headers.remove(header::CONTENT_LENGTH);
        }
        return Framing::Chunked;
    }
    if let Some(len) = existing {
        return length(len);
    }
    if let Some(len) = body.size_hint().exact() {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        return length(len);
    }
    if matches!(parts.method, Method::GET | Method::HEAD | Method::CONNECT) {
        return Framing::Empty;
    }
    headers.insert(
        header::TRANSFER_ENCODING,
        HeaderValue::from_static("chunked"),
    );
    headers.remove(header::CONTENT_LENGTH);
    Framing::Chunked
}

fn length(len: u64) -> Framing {
    if len == 0 {
        Framing::Empty
    } else {
        Framing::Length(len)
    }
}

/// Writes the request head (`method target HTTP/1.1`, the headers in map order) into
/// `buf`.
pub(super) fn encode_head(buf: &mut BytesMut, parts: &Parts) {
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    buf.extend_from_slice(parts.method.as_str().as_bytes());
    buf.extend_from_slice(b" ");
    buf.extend_from_slice(target.as_bytes());
    buf.extend_from_slice(b" HTTP/1.1\r\n");
    encode_fields(buf, &parts.headers);
    buf.extend_from_slice(b"\r\n");
}

fn encode_fields(buf: &mut BytesMut, headers: &HeaderMap) {
    for (name, value) in headers {
        buf.extend_from_slice(name.as_str().as_bytes());
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(value.as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
}

/// Why the request could not be written.
#[derive(Debug)]
pub(super) enum WriteError {
    /// The client's body failed (or broke its length): the request is aborted.
    Body(BoxError),
    /// The socket failed.
    Io(io::Error),
}

// === Writer ===

/// Streams the head and the body to the connection. See the [module docs](self).
pub(super) struct Writer {
    framing: Framing,
    /// Bytes of `buf` already written.
    pos: usize,
    /// A large frame written from its own memory, after `buf[pos..]`.
    data: Bytes,
    /// What follows `data` (the chunk's CRLF).
    tail: &'static [u8],
    /// No more frames to take from the body.
    ended: bool,
    /// The body failed: reported once what was queued before is written.
    failed: Option<BoxError>,
    /// Whether the request may be written again on another connection: it has no
    /// body, so all it writes is the head.
    replayable: bool,
}

impl Writer {
    /// A writer for a request whose head is already in the connection's write
    /// buffer.
    pub(super) fn new(framing: Framing) -> Self {
        Self {
            framing,
            pos: 0,
            data: Bytes::new(),
            tail: b"",
            ended: framing == Framing::Empty,
            failed: None,
            replayable: framing == Framing::Empty,
        }
    }

    /// Whether nothing but a replayable head was (or will be) written.
    pub(super) fn replayable(&self) -> bool {
        self.replayable
    }

    /// Writes the head and every body frame; ready once the message is complete.
    pub(super) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        io: &mut TcpStream,
        buf: &mut BytesMut,
        body: &mut Body,
    ) -> Poll<Result<(), WriteError>> {
        loop {
            while !self.ended && self.data.is_empty() && buf.len() < GATHER {
                match Pin::new(&mut *body).poll_frame(cx) {
                    Poll::Pending => break,
                    Poll::Ready(frame) => {
                        let mut done = self.encode(buf, frame.map(|f| f.map_err(BoxError::from)));
                        if done.is_ok() && !self.ended && body.is_end_stream() {
                            // As hyper: the body says it is over, end without
                            // polling it again.
                            done = self.end(buf, None);
                        }
                        if let Err(e) = done {
                            self.ended = true;
                            self.failed = Some(e);
                        }
                    }
                }
            }
            let pending = buf.len() - self.pos + self.data.len() + self.tail.len();
            if pending == 0 {
                if let Some(e) = self.failed.take() {
                    return Poll::Ready(Err(WriteError::Body(e)));
                }
                if self.ended {
                    return Poll::Ready(Ok(()));
                }
                // The body is pending and has our waker.
                return Poll::Pending;
            }
            if let Err(e) = ready!(self.poll_flush(cx, io, buf)) {
                return Poll::Ready(Err(match self.failed.take() {
                    Some(body) => WriteError::Body(body),
                    None => WriteError::Io(e),
                }));
            }
        }
    }

    /// Writes what is queued: `buf[pos..]`, `data`, `tail`.
    fn poll_flush(
        &mut self,
        cx: &mut Context<'_>,
        io: &mut TcpStream,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<()>> {
        loop {
            let head = &buf[self.pos..];
            if head.is_empty() && self.data.is_empty() && self.tail.is_empty() {
                buf.clear();
                self.pos = 0;
                return Poll::Ready(Ok(()));
            }
            let n = if self.data.is_empty() && self.tail.is_empty() {
                ready!(Pin::new(&mut *io).poll_write(cx, head))?
            } else {
                let slices = [
                    IoSlice::new(head),
                    IoSlice::new(&self.data),
                    IoSlice::new(self.tail),
                ];
                ready!(Pin::new(&mut *io).poll_write_vectored(cx, &slices))?
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.advance(n, head.len());
        }
    }

    fn advance(&mut self, mut n: usize, head: usize) {
        let from_head = n.min(head);
        self.pos += from_head;
        n -= from_head;
        let from_data = n.min(self.data.len());
        self.data.advance(from_data);
        n -= from_data;
        self.tail = &self.tail[n.min(self.tail.len())..];
    }

    /// Queues one frame of the body (or its end) in the framing.
    fn encode(
        &mut self,
        buf: &mut BytesMut,
        frame: Option<Result<Frame<Bytes>, BoxError>>,
    ) -> Result<(), BoxError> {
        let frame = match frame {
            None => return self.end(buf, None),
            Some(Err(e)) => return Err(e),
            Some(Ok(frame)) => frame,
        };
        let data = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => return self.end(buf, frame.into_trailers().ok()),
        };
        if data.is_empty() {
            return Ok(());
        }
        match &mut self.framing {
            Framing::Empty => {}
            Framing::Length(left) => {
                let len = data.len() as u64;
                if len > *left {
                    return Err("request body longer than its content-length".into());
                }
                *left -= len;
                self.queue(buf, data, b"");
            }
            Framing::Chunked => {
                push_hex(buf, data.len());
                buf.extend_from_slice(b"\r\n");
                self.queue(buf, data, b"\r\n");
            }
        }
        Ok(())
    }

    fn queue(&mut self, buf: &mut BytesMut, data: Bytes, tail: &'static [u8]) {
        if data.len() <= COPY_FRAME {
            buf.extend_from_slice(&data);
            buf.extend_from_slice(tail);
        } else {
            self.data = data;
            self.tail = tail;
        }
    }

    /// The body ended (with `trailers`, maybe): completes the message, or fails when
    /// the body ended short of its length.
    fn end(&mut self, buf: &mut BytesMut, trailers: Option<HeaderMap>) -> Result<(), BoxError> {
        self.ended = true;
        match self.framing {
            Framing::Empty | Framing::Length(0) => Ok(()),
            Framing::Length(_) => Err("request body shorter than its content-length".into()),
            Framing::Chunked => {
                buf.extend_from_slice(b"0\r\n");
                if let Some(mut trailers) = trailers {
                    for name in FORBIDDEN_TRAILERS {
                        trailers.remove(name);
                    }
                    encode_fields(buf, &trailers);
                }
                buf.extend_from_slice(b"\r\n");
                Ok(())
            }
        }
    }
}

/// The fields a trailer may not carry (as hyper's encoder refuses them).
const FORBIDDEN_TRAILERS: [HeaderName; 12] = [
    header::AUTHORIZATION,
    header::CACHE_CONTROL,
    header::CONTENT_ENCODING,
    header::CONTENT_LENGTH,
    header::CONTENT_RANGE,
    header::CONTENT_TYPE,
    header::HOST,
    header::MAX_FORWARDS,
    header::SET_COOKIE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::TE,
];

/// Appends `n` in lowercase hexadecimal, as a chunk size.
fn push_hex(buf: &mut BytesMut, mut n: usize) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}
