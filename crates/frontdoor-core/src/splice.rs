//! Response bodies a server may move without a user-space copy: the vocabulary
//! between an upstream client that can hand its socket's bytes on ([`SpliceSource`])
//! and a server that can write them straight to its client ([`SpliceSink`], with
//! `splice(2)` through a pipe on Linux).
//!
//! An upstream client that may do so (it was told nothing above it inspects response
//! bodies) puts a [`SpliceOffer`] in the response's extensions. The response body
//! stays what it was, wrapped by every layer as usual. A server that can splice
//! takes the offer out of the extensions, writes the head, and calls
//! [`SpliceOffer::poll_splice`] with its sink until it is ready: the body's data has
//! then moved as far as it will, and the server polls the body as usual for the
//! rest, which is its trailers and end, or its failure. Every layer around the body
//! sees that end (or failure) as it would have; it sees no data frames. A server
//! that cannot splice (TLS, HTTP/2) drops the offer and polls the body as usual.
//!
//! A layer that reads or rewrites response bodies must remove the offer when it
//! wraps one (`res.extensions_mut().remove::<SpliceOffer>()`): the bytes would
//! otherwise bypass it.
//!
//! # Example
//!
//! A source whose data is already in memory, and a sink that collects it:
//!
//! ```
//! use std::{io, os::fd::BorrowedFd, sync::{Arc, Mutex}, task::{Context, Poll, Waker}};
//! use frontdoor_core::splice::{SpliceFrom, SpliceOffer, SpliceSink, SpliceSource};
//!
//! struct InMemory(Mutex<Vec<u8>>);
//! impl SpliceSource for InMemory {
//!     fn poll_splice(&self, _: &mut Context<'_>, sink: &mut dyn SpliceSink) -> Poll<()> {
//!         sink.write(&std::mem::take(&mut *self.0.lock().unwrap()));
//!         Poll::Ready(())
//!     }
//! }
//!
//! struct Collect(Vec<u8>);
//! impl SpliceSink for Collect {
//!     fn write(&mut self, data: &[u8]) {
//!         self.0.extend_from_slice(data);
//!     }
//!     fn poll_splice(&mut self, _: &mut Context<'_>, _: &mut dyn SpliceFrom, _: u64)
//!         -> Poll<io::Result<u64>> {
//!         Poll::Ready(Ok(0))
//!     }
//! }
//!
//! let offer = SpliceOffer::new(Arc::new(InMemory(Mutex::new(b"body".to_vec()))));
//! let mut sink = Collect(Vec::new());
//! let mut cx = Context::from_waker(Waker::noop());
//! assert!(offer.poll_splice(&mut cx, &mut sink).is_ready());
//! assert_eq!(sink.0, b"body");
//! ```

use std::{
    fmt, io,
    os::fd::BorrowedFd,
    sync::Arc,
    task::{Context, Poll},
};

/// The socket a [`SpliceSource`] reads its body from, as a sink sees it.
pub trait SpliceFrom {
    /// Runs `op` with the socket's descriptor once the socket is readable, again
    /// each time `op` fails with [`io::ErrorKind::WouldBlock`] (the readiness is
    /// cleared first); what `op` returned otherwise. The source keeps its own
    /// timeouts while it waits (an idle body fails here).
    fn poll_read_with(
        &mut self,
        cx: &mut Context<'_>,
        op: &mut dyn FnMut(BorrowedFd<'_>) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>>;
}

/// Where a spliced body goes: the server's client connection, which frames what it
/// is given as its answer's framing says (a chunk per call when chunked).
pub trait SpliceSink {
    /// Body bytes the source already holds in memory (read with the head, say):
    /// copied to the sink's write buffer, written before what comes next.
    fn write(&mut self, data: &[u8]);

    /// Moves at most `max` (at least 1) body bytes from `from` to the client; how
    /// many moved, `0` when `from` is at its end. An error ends the splice: the
    /// source fails its body.
    fn poll_splice(
        &mut self,
        cx: &mut Context<'_>,
        from: &mut dyn SpliceFrom,
        max: u64,
    ) -> Poll<io::Result<u64>>;
}

/// The shared state of a response body whose data can be spliced.
pub trait SpliceSource: Send + Sync {
    /// Moves the body's data to `sink` until it has all moved or the body failed;
    /// the body then yields the rest (its trailers and end, or its failure) when
    /// polled.
    fn poll_splice(&self, cx: &mut Context<'_>, sink: &mut dyn SpliceSink) -> Poll<()>;
}

/// A response extension: the response's body can be spliced. See the
/// [module docs](self).
#[derive(Clone)]
pub struct SpliceOffer(Arc<dyn SpliceSource>);

impl SpliceOffer {
    /// The offer of `source`, which the response's body shares.
    #[must_use]
    pub fn new(source: Arc<dyn SpliceSource>) -> Self {
        Self(source)
    }

    /// Moves the body's data to `sink`; see [`SpliceSource::poll_splice`].
    pub fn poll_splice(&self, cx: &mut Context<'_>, sink: &mut dyn SpliceSink) -> Poll<()> {
        self.0.poll_splice(cx, sink)
    }
}

impl fmt::Debug for SpliceOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpliceOffer").finish_non_exhaustive()
    }
}
