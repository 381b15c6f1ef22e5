//! The ways the harness misbehaves on purpose: per response ([`Fault`]), per
//! accepted connection ([`ServerConnector`]) and on the client side
//! ([`ClientFault`], coordinated with the origin through a [`Signal`]).
//!
//! These are plain data; the connection code that executes them is internal.
//!
//! hyper will not send a malformed response, so endpoints built with
//! [`ServerConnector::Raw`] ([`RawConnector`](crate::RawConnector)) read requests and write responses with a small
//! lenient codec, and execute the [`Fault`] a handler attaches to its
//! [`Reply`](crate::Reply). The handling is always recorded before the fault runs.
//!
//! | Fault | Bytes on the wire | What a good proxy does |
//! | --- | --- | --- |
//! | [`Fault::DelayHead`] | nothing for a while, then the response | 504 past its header timeout |
//! | [`Fault::StallAfterStatusLine`] | `HTTP/1.1 200 OK\r\n`, then silence | 502/504 |
//! | [`Fault::StallMidHeaders`] | status line and one header, then silence | 502/504 |
//! | [`Fault::StallAfterHeaders`] | full head, then silence | status passed on, body aborted past an idle timeout |
//! | [`Fault::StallMidBody`] | head and N body bytes, then silence | truncated body (abort), no hang |
//! | [`Fault::CloseMidBody`] | head and N body bytes, then FIN or RST | truncated body (abort) |
//! | [`Fault::CloseWithoutResponse`] | nothing, FIN or RST | 502 |
//! | [`Fault::TrickleBody`] | the body one byte at a time | passes it on, or aborts past an idle timeout |
//! | [`Fault::Raw`] | exactly the given bytes, then FIN | 502 for garbage |
//! | [`Fault::ContentLength`] | a lying `Content-Length`, the real body, then FIN | short: trailing bytes discarded (never a second response); long: truncated body |
//! | [`Fault::BareLf`] | the response with `\n` line ends | accept (RFC 9112 allows it) or 502 |

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;

// === Fault ===

/// A way for an origin to misbehave while sending its response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Wait this long before the first response byte (slow headers).
    DelayHead(Duration),
    /// Send only the status line, then hang (Deproxy's `SlowResponseServerConnector`).
    StallAfterStatusLine,
    /// Send the status line and the first header line, then hang.
    StallMidHeaders,
    /// Send the whole head, then hang before the body.
    StallAfterHeaders,
    /// Send the head and the first `after` body bytes, then hang.
    StallMidBody {
        /// Body bytes sent before hanging.
        after: usize,
    },
    /// Send the head and the first `after` body bytes, then close.
    CloseMidBody {
        /// Body bytes sent before closing.
        after: usize,
        /// Close with an RST (`SO_LINGER 0`) instead of a FIN.
        reset: bool,
    },
    /// Read the request, then close without a byte.
    CloseWithoutResponse {
        /// Close with an RST (`SO_LINGER 0`) instead of a FIN.
        reset: bool,
    },
    /// Send the head, then the body one byte at a time with `every` between bytes.
    TrickleBody {
        /// Pause between two body bytes.
        every: Duration,
    },
    /// Send exactly these bytes instead of the response, then close.
    Raw(Bytes),
    /// Declare this `Content-Length` whatever the body is, send the real body, then close.
    ContentLength {
        /// The declared length.
        declared: u64,
    },
    /// Send the response with bare `\n` line endings.
    BareLf,
}

impl Fault {
    /// Same as [`Fault::StallAfterStatusLine`].
    #[must_use]
    pub fn hang() -> Self {
        Self::StallAfterStatusLine
    }

    /// Same as [`Fault::DelayHead`].
    #[must_use]
    pub fn slow_headers(d: Duration) -> Self {
        Self::DelayHead(d)
    }

    /// Close with an RST right after reading the request.
    #[must_use]
    pub fn reset() -> Self {
        Self::CloseWithoutResponse { reset: true }
    }

    /// Bytes that are not HTTP at all.
    #[must_use]
    pub fn garbage() -> Self {
        Self::Raw(Bytes::from_static(
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage \x00\xff not http\r\n\r\n",
        ))
    }
}

// === ServerConnector ===

/// The built-in [`Connector`](crate::Connector)s by name, and the endpoint-level
/// faults: how an endpoint talks HTTP on its accepted connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ServerConnector {
    /// A conformant hyper HTTP/1.1 server with upgrades (the default):
    /// [`HyperConnector`](crate::HyperConnector).
    #[default]
    Hyper,
    /// The harness's own lenient HTTP/1.x reader and writer, which executes
    /// every [`Fault`] a handler returns: [`RawConnector`](crate::RawConnector).
    Raw,
    /// Accepts, then closes at once (with an RST when `reset`); records nothing.
    AcceptThenClose {
        /// Close with `SO_LINGER 0`, which sends an RST.
        reset: bool,
    },
    /// Accepts, then never reads nor writes; records nothing.
    AcceptThenHang,
}

// === ClientFault, Signal ===

/// A one-shot, clonable signal: a handler fires it, a client fault waits on it.
///
/// This is Deproxy's latch pattern: coordinate a client-side fault with
/// server-side progress, without sleeping. See [`handlers::latch`](crate::handlers::latch).
#[derive(Clone, Debug, Default)]
pub struct Signal(Arc<Notify>);

impl Signal {
    /// A signal not yet fired.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A signal that is already fired.
    #[must_use]
    pub fn fired() -> Self {
        let s = Self::default();
        s.fire();
        s
    }

    /// Fires the signal (the permit is kept if nobody waits yet).
    pub fn fire(&self) {
        self.0.notify_one();
    }

    /// Waits until the signal fires.
    pub async fn wait(&self) {
        self.0.notified().await;
    }
}

/// A way for the client to misbehave.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ClientFault {
    /// Send the whole request, wait for the signal, then close the connection
    /// without reading the response (Deproxy's `DisconnectConnector`).
    DisconnectAfterSend(Signal),
    /// Send the head at once, then the body `chunk` bytes at a time with
    /// `every` between chunks.
    SlowUpload {
        /// Bytes per write.
        chunk: usize,
        /// Pause between writes.
        every: Duration,
    },
    /// Send only the first `bytes` bytes of the request, then wait for an answer.
    Partial {
        /// How many bytes to send.
        bytes: usize,
    },
    /// Send the request, then shut down the write half, then read the answer.
    HalfClose,
}
