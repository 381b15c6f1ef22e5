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
//! HTTP/2 connections (and upgraded ones, once the guard has seen the `101` or the
//! `CONNECT`'s 2xx) are not scanned: their framing is binary and explicit.

mod scan;

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
use http::{Method, Uri};
use parking_lot::Mutex;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use self::scan::{Event, Fingerprint, Head, Scanner};

/// Wraps an accepted stream for scanning, for a hyper configured to accept
/// `max_headers` header lines; the ledger goes to the connection's guard.
pub(super) fn inspect<T>(io: T, max_headers: usize) -> (Inspected<T>, Arc<Ledger>) {
    let ledger = Arc::new(Ledger::default());
    let io = Inspected {
        io,
        scanner: Scanner::new(max_headers),
        ledger: Arc::clone(&ledger),
    };
    (io, ledger)
}

// === Ledger ===

/// What the scanner saw on one connection, for its guard. See the
/// [module docs](self).
#[derive(Debug, Default)]
pub(super) struct Ledger {
    heads: Mutex<VecDeque<Head>>,
    /// Messages received to the end of their framing.
    ended: AtomicU64,
    /// Set by the guard when the connection is upgraded: scanning stops.
    off: AtomicBool,
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

    /// The connection switched protocols: the scanner stops.
    pub(super) fn upgraded(&self) {
        self.off.store(true, Ordering::Release);
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

pin_project! {
    /// An accepted stream whose reads pass the [`Scanner`] on their way to hyper.
    /// Writes pass through untouched.
    #[derive(Debug)]
    pub(super) struct Inspected<T> {
        #[pin]
        io: T,
        scanner: Scanner,
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
            if !this.scanner.is_off() {
                if this.ledger.off.load(Ordering::Acquire) {
                    this.scanner.turn_off();
                } else {
                    let ledger = &**this.ledger;
                    this.scanner
                        .feed(&buf.filled()[before..], &mut |e| ledger.record(e));
                }
            }
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
