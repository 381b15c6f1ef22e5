//! Strict HTTP/1 framing on the wire: what hyper's parser accepts (or repairs) but a
//! proxy must not forward, seen where only the raw bytes show it, and the end of
//! every message, so that a body cut short is never taken for a complete one.
//!
//! [`inspect`] wraps an accepted stream. Every byte hyper reads passes the
//! [`Scanner`] first, which follows the stream's HTTP/1 framing exactly as hyper
//! will and writes into the connection's [`Ledger`]:
//!
//! * one verdict per request head, in order: the request's method and a fingerprint
//!   of its target, and a [`Refusal`] for what hyper would let through: both
//!   `Content-Length` and `Transfer-Encoding` (hyper drops the `Content-Length`), and
//!   a `#fragment` in the target (the `http` crate drops it);
//! * the number of messages received to the end of their framing.
//!
//! The guard takes the next verdict for every HTTP/1 request hyper hands it, checks it
//! is the same request (method and target), and refuses it (or any request without a
//! matching verdict: the two parsers would disagree about the stream). Each request
//! body is an [`UploadBody`](frontdoor_core::UploadBody) whose [`MessageEnd`] is the
//! ledger's count: when hyper ends a body because its connection was dropped, the
//! body fails instead of ending, and the upstream request it feeds is aborted.
//!
//! A connection that opens with the HTTP/2 client preface is scanned by frame instead
//! (`h2.rs`): its framing is binary and explicit, but the `:path` of a request is
//! HPACK-coded and the `http` crate cuts it at `#` like an HTTP/1 target. The scanner
//! decodes every header block with the connection's HPACK state and writes one
//! verdict per request stream into the ledger: a fingerprint of its method and path
//! as hyper hands them over, and [`Refusal::FRAGMENT`] for a `:path` with a
//! `#fragment`. hyper hands requests over in the order their HEADERS arrived, but
//! `h2` refuses some streams itself (over the concurrent stream limit, malformed), so
//! the guard takes the first verdict with the request's fingerprint and drops the
//! ones before it. A request without a verdict is refused: the scanner stops only
//! where `h2` fails the whole connection, so none is due after it.
//!
//! Upgraded HTTP/1 connections are not scanned once the guard has seen the `101` or
//! the `CONNECT`'s 2xx.

pub(crate) mod fuzz;
mod h2;
pub(crate) mod scan;

use std::{
    collections::VecDeque,
    io,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    task::{Context, Poll},
};

use frontdoor_core::{proto::framing::Refusal, MessageEnd};
use http::{uri::PathAndQuery, Method, Uri};
use parking_lot::Mutex;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use self::{
    h2::{FrameScanner, StreamHead, PREFACE},
    scan::{Event, Fingerprint, Head, Scanner},
};

/// The most HTTP/2 verdicts a ledger holds that no request has taken yet. Only
/// streams `h2` refused leave theirs behind, until the next request served takes the
/// verdicts before its own; past this many the ledger stops trusting itself and every
/// later HTTP/2 request of the connection is refused.
const MAX_PENDING_STREAMS: usize = 4096;

/// Wraps an accepted stream for scanning, for a hyper configured to accept
/// `max_headers` HTTP/1 header lines and `max_header_bytes` of HTTP/2 header list;
/// the ledger goes to the connection's guard.
pub(super) fn inspect<T>(
    io: T,
    max_headers: usize,
    max_header_bytes: usize,
) -> (Inspected<T>, Arc<Ledger>) {
    let ledger = Arc::new(Ledger::default());
    let io = Inspected {
        io,
        wire: Wire::Preface(0),
        limits: Limits {
            max_headers,
            max_header_list_size: max_header_bytes.min(u32::MAX as usize),
        },
        ledger: Arc::clone(&ledger),
    };
    (io, ledger)
}

/// hyper's limits, which the scanners follow.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    max_headers: usize,
    /// As hyper passes it to `h2`: the `max_header_bytes` setting, at most
    /// `u32::MAX`.
    max_header_list_size: usize,
}

// === Ledger ===

/// What the scanner saw on one connection, for its guard. See the
/// [module docs](self).
#[derive(Debug, Default)]
pub(super) struct Ledger {
    heads: Mutex<VecDeque<Head>>,
    /// Messages received to the end of their framing.
    ended: AtomicU64,
    /// Set by the guard when the connection is upgraded, and by the ledger when it
    /// lost track of HTTP/2 streams: scanning stops.
    off: AtomicBool,
    /// The HTTP/2 request streams not yet taken, in the order they opened.
    streams: Mutex<Streams>,
    /// The connection opened with the HTTP/2 client preface.
    http2: AtomicBool,
}

#[derive(Debug, Default)]
struct Streams {
    heads: VecDeque<StreamHead>,
    /// More than [`MAX_PENDING_STREAMS`] were pending: verdicts are no longer kept.
    lost: bool,
}

/// How the guard takes a request.
#[derive(Debug)]
pub(super) enum Check {
    /// Forward it; its body ends when the ledger says message `index` ended.
    Pass(WireEnd),
    /// Answer with this refusal and close.
    Refuse(Refusal),
}

impl Ledger {
    /// The verdict on the HTTP/1 request hyper parsed as the `index`th (from 1) of the
    /// connection, with `method` and `uri`.
    pub(super) fn check(self: &Arc<Self>, index: u64, method: &Method, uri: &Uri) -> Check {
        let Some(head) = self.heads.lock().pop_front() else {
            return Check::Refuse(Refusal::UNVERIFIED_FRAMING);
        };
        if head.method.as_ref() != Some(method) || !same_target(head.target, uri) {
            return Check::Refuse(Refusal::UNVERIFIED_FRAMING);
        }
        match head.refusal {
            Some(refusal) => Check::Refuse(refusal),
            None => Check::Pass(WireEnd {
                ledger: Arc::clone(self),
                index,
            }),
        }
    }

    /// The verdict on an HTTP/2 request hyper handed over with `method` and `uri`:
    /// the first pending stream with its fingerprint (the ones before it were streams
    /// `h2` refused), refused without one.
    pub(super) fn check_stream(&self, method: &Method, uri: &Uri) -> Result<(), Refusal> {
        let target = uri.path_and_query().map_or("", PathAndQuery::as_str);
        let request = Fingerprint::of_request(method.as_str().as_bytes(), target.as_bytes());
        let mut streams = self.streams.lock();
        let Some(at) = streams.heads.iter().position(|h| h.request == request) else {
            return Err(Refusal::UNVERIFIED_FRAMING);
        };
        let head = streams.heads.drain(..=at).next_back();
        match head.and_then(|h| h.refusal) {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        }
    }

    /// Whether the connection opened with the HTTP/2 client preface (the connection's
    /// clock then counts it idle before its first stream).
    pub(super) fn is_http2(&self) -> bool {
        self.http2.load(Ordering::Acquire)
    }

    /// The connection switched protocols: the scanner stops.
    pub(super) fn upgraded(&self) {
        self.off.store(true, Ordering::Release);
    }

    fn record_stream(&self, head: StreamHead) {
        let mut streams = self.streams.lock();
        if streams.lost {
            return;
        }
        if streams.heads.len() >= MAX_PENDING_STREAMS {
            streams.heads = VecDeque::new();
            streams.lost = true;
            self.off.store(true, Ordering::Release);
            return;
        }
        streams.heads.push_back(head);
    }

    fn record(&self, event: Event) {
        match event {
            Event::Head(head) => self.heads.lock().push_back(head),
            Event::MessageEnd => {
                self.ended.fetch_add(1, Ordering::AcqRel);
            }
        }
    }
}

/// Whether `uri` is the target the scanner fingerprinted. Origin-form and `*` targets
/// are compared byte for byte (hyper keeps them verbatim, without the fragment);
/// absolute and authority forms, which the `http` crate may normalise, only by method.
fn same_target(target: Fingerprint, uri: &Uri) -> bool {
    if uri.scheme().is_some() || uri.authority().is_some() {
        return true;
    }
    uri.path_and_query()
        .is_none_or(|pq| Fingerprint::of(pq.as_str().as_bytes()) == target)
}

/// The [`MessageEnd`] of an HTTP/1 request body: whether the scanner saw message
/// `index` of its connection to the end of its framing.
#[derive(Debug)]
pub(super) struct WireEnd {
    ledger: Arc<Ledger>,
    index: u64,
}

impl MessageEnd for WireEnd {
    fn reached(&self, _end_stream: bool) -> bool {
        self.ledger.ended.load(Ordering::Acquire) >= self.index
    }
}

// === Inspected ===

/// Which protocol the connection's reads are scanned as.
#[derive(Debug)]
enum Wire {
    /// The first bytes, as long as they match the HTTP/2 preface: this many so far.
    Preface(usize),
    Http1(Scanner),
    Http2(Box<FrameScanner>),
}

impl Wire {
    /// Scans `bytes`, the next bytes read, writing what it sees into `ledger`.
    fn feed(&mut self, bytes: &[u8], ledger: &Ledger, limits: Limits) {
        match self {
            Self::Http1(scanner) => {
                if !scanner.is_off() {
                    if ledger.off.load(Ordering::Acquire) {
                        scanner.turn_off();
                    } else {
                        scanner.feed(bytes, &mut |e| ledger.record(e));
                    }
                }
            }
            Self::Http2(scanner) => {
                if !scanner.is_off() {
                    if ledger.off.load(Ordering::Acquire) {
                        scanner.turn_off();
                    } else {
                        scanner.feed(bytes, &mut |head| ledger.record_stream(head));
                    }
                }
            }
            Self::Preface(matched) => {
                // hyper decides the same way: HTTP/2 when all 24 bytes match.
                let want = PREFACE.get(*matched..).unwrap_or_default();
                let n = want.len().min(bytes.len());
                if bytes[..n] != want[..n] {
                    let seen = PREFACE.get(..*matched).unwrap_or_default();
                    *self = Self::Http1(Scanner::new(limits.max_headers));
                    self.feed(seen, ledger, limits);
                    self.feed(bytes, ledger, limits);
                } else if *matched + n == PREFACE.len() {
                    ledger.http2.store(true, Ordering::Release);
                    let scanner = FrameScanner::new(limits.max_header_list_size);
                    *self = Self::Http2(Box::new(scanner));
                    self.feed(&bytes[n..], ledger, limits);
                } else {
                    *matched += n;
                }
            }
        }
    }
}

pin_project! {
    /// An accepted stream whose reads pass the scanner on their way to hyper.
    /// Writes pass through untouched.
    #[derive(Debug)]
    pub(super) struct Inspected<T> {
        #[pin]
        io: T,
        wire: Wire,
        limits: Limits,
        ledger: Arc<Ledger>,
    }
}

impl<T: AsyncRead> AsyncRead for Inspected<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let read = this.io.poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            this.wire
                .feed(&buf.filled()[before..], this.ledger, *this.limits);
        }
        read
    }
}

impl<T: AsyncWrite> AsyncWrite for Inspected<T> {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write(cx, buf)
    }

    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write_vectored(cx, bufs)
    }

    #[inline]
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    #[inline]
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}
