//! Serving a tower service on one or more listeners (WFront's multi-port server,
//! done properly).
//!
//! [`Server`] binds any number of addresses and serves one service on all of them:
//!
//! * HTTP/1.1 and HTTP/2 with prior knowledge (h2c), detected per connection by
//!   hyper-util's auto connection builder; HTTP/1 upgrades are supported (which
//!   protocols reach an upstream is the upstream client's allow-list,
//!   `frontdoor_upstream::UpgradeProtocols`). HTTP/2 extended `CONNECT` (RFC 8441,
//!   WebSocket over HTTP/2) is not enabled: `SETTINGS_ENABLE_CONNECT_PROTOCOL` is
//!   never sent and a stream carrying `:protocol` is reset (`PROTOCOL_ERROR`) by
//!   `h2` before the service sees it;
//! * every request carries a [`ConnInfo`](frontdoor_core::ConnInfo) extension (local
//!   and peer address);
//! * every resource is bounded and timed: a header-read timeout cuts off clients that
//!   never finish a request head (slowloris), including clients that connect and send
//!   nothing; an idle timeout closes connections with nothing in flight (HTTP/1
//!   keep-alive, HTTP/2 with a GOAWAY, upgraded connections); a send timeout drops
//!   clients that stop reading their response; a body-read timeout fails request
//!   bodies that stall; heads, header counts, HTTP/2 streams and request bodies have
//!   caps (`431`, `413`);
//! * a max-connections limit: past it, the server stops accepting until a
//!   connection closes (the kernel backlog holds the rest); a per-address limit
//!   closes a client's connections past its share. Upgraded connections count
//!   against both for their whole life, and graceful shutdown waits for them;
//! * optionally, the PROXY protocol (v1 and v2) on every connection: the client
//!   address an L4 balancer sends becomes the connection's peer address;
//! * requests whose framing a proxy must not forward are refused before the service
//!   sees them, and an HTTP/1 connection is closed: `Content-Length` together with
//!   `Transfer-Encoding` and a `#fragment` in the target, seen on the raw bytes
//!   (hyper would drop the `Content-Length`, the `http` crate the fragment), a
//!   `#fragment` in an HTTP/2 `:path`, seen in the header block decoded on the wire
//!   (400; the other streams go on), a missing or repeated `Host` on HTTP/1.1, a
//!   `Content-Length` that is not plain digits, a `Transfer-Encoding` that does not
//!   end in one `chunked` (400), or that applies another coding (501). hyper's
//!   parser refuses the rest of the classic smuggling vectors itself (400, 431, 414,
//!   505). What it *repairs* is forwarded repaired, as RFC 9112 allows a
//!   re-serialising recipient: bare-LF line ends in a head, identical duplicate
//!   `Content-Length` values, an empty chunk-extension name;
//! * the headers a client nominates in `Connection` are removed before the service
//!   sees the request, so no layer's header can be deleted that way;
//! * a request body that fails, or stops before its framing says it ends (a
//!   connection dropped mid-body, an HTTP/2 stream reset), fails rather than ends
//!   ([`UploadBody`](frontdoor_core::UploadBody)): an upstream request streaming it
//!   is aborted, never completed;
//! * graceful shutdown on a future: listeners close, in-flight requests finish
//!   (HTTP/1 connections close after their current response, HTTP/2 connections get
//!   GOAWAY), and whatever is still running after the drain timeout is dropped.
//!
//! With the `tls` feature, both also serve HTTPS listeners (`bind_tls`): TLS 1.2 and
//! 1.3 with ALPN `h2`/`http/1.1`, certificates chosen by SNI and swapped at runtime,
//! a handshake deadline; see the `tls` module.
//!
//! [`Workers`] is the same server in nginx's shape: one thread per core, each a
//! single-threaded runtime with its own `SO_REUSEPORT` listeners and its own service
//! instance (so an upstream client's connection pool is per worker, and a request
//! never hops between threads). It uses markedly less CPU per proxied request than
//! one multi-threaded runtime.
//!
//! The request body is [`frontdoor_core::Body`]; the service's errors are logged and
//! close the connection (hyper's behaviour), so put an error-rescue layer (such as
//! the upstream crate's gateway layer) in front of anything that can fail.
//!
//! # Example
//!
//! ```no_run
//! use std::convert::Infallible;
//!
//! use frontdoor::{serve::Server, Body, BoxError};
//! use http::{Request, Response};
//!
//! # async fn run() -> Result<(), BoxError> {
//! let svc = tower::service_fn(|_req: Request<Body>| async {
//!     Ok::<_, Infallible>(Response::new(Body::from("hello\n")))
//! });
//! let server = Server::bind(&["127.0.0.1:8080".parse()?, "127.0.0.1:8081".parse()?]).await?;
//! server.serve_with_shutdown(svc, frontdoor::serve::shutdown_signal()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! [`Server`] (`server.rs`) and [`Workers`] (`workers.rs`) start one accept loop per
//! listener (`accept.rs`); each accepted connection runs `connection.rs` (read the
//! PROXY header with `proxy_protocol.rs`, take a per-address slot from `per_ip.rs`,
//! configure hyper, drive the connection, drain it on shutdown) over the I/O of
//! `conn_io.rs`, its reads scanned by `strict/` (the framing only the raw bytes
//! show, and where each message ends; after the HTTP/2 preface, every request
//! stream's method and `:path`), and `clock.rs` keeps its header, idle and send
//! timeouts. Per request, `guard.rs` refuses bad framing and oversized announced
//! bodies, removes nominated hop-by-hop headers and inserts `ConnInfo`, and
//! `idle_body.rs` times out stalled request bodies and caps them. A TLS listener's
//! connections handshake (`tls/`) after the PROXY header, and the connection's clock
//! starts at the handshake's end. [`serve_stream`] (`stream.rs`) runs the same
//! per-connection code on a stream of any transport.

use std::{future::pending, sync::Arc, time::Duration};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::{Request, Response};
use tokio::sync::Semaphore;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::Service;
use tracing::warn;

use self::per_ip::PerIp;

mod accept;
mod clock;
mod conn_io;
mod connection;
mod guard;
mod idle_body;
mod per_ip;
mod proxy_protocol;
mod server;
mod stream;
mod strict;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
mod workers;

pub use server::Server;
pub use stream::serve_stream;
pub use workers::Workers;

/// Default header-read timeout: 10 seconds.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default request-body read timeout: 60 seconds.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default minimum average rate of a request body, once it has kept its reader
/// waiting for longer than the body read timeout: 256 bytes a second.
pub const DEFAULT_MIN_BODY_RATE: u64 = 256;
/// Default maximum number of open connections: 10,000.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default drain timeout for graceful shutdown: 30 seconds.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Default idle timeout of a connection with nothing in flight: 60 seconds.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default send timeout (a client accepting no response bytes): 60 seconds.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on a request head (request line and headers): 64 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// The smallest head cap hyper accepts (its read buffer's minimum): 8 KiB.
pub const MIN_MAX_HEADER_BYTES: usize = 8 * 1024;
/// Default cap on the number of request header lines: 100.
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Default cap on concurrent HTTP/2 streams per connection: 100.
pub const DEFAULT_H2_MAX_CONCURRENT_STREAMS: u32 = 100;
/// Default TLS handshake timeout: 10 seconds.
#[cfg(feature = "tls")]
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

// === bounds ===

/// The services [`Server`] and [`Workers`] serve, answering with bodies of type `B`:
/// the bounds of their public `serve` methods, named once for the connection code.
trait ConnService<B>:
    Service<Request<Body>, Response = Response<B>, Error: Into<BoxError>, Future: Send + 'static>
    + Clone
    + Send
    + 'static
{
}

impl<S, B> ConnService<B> for S
where
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
}

/// The response bodies a [`ConnService`] may answer with.
trait ResponseBody: http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static {}

impl<B> ResponseBody for B
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
}

// === impl Config ===

/// The connection settings shared by [`Server`] and [`Workers`].
#[derive(Clone, Copy, Debug)]
struct Config {
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    min_body_rate: u64,
    idle_timeout: Duration,
    send_timeout: Duration,
    max_connections: usize,
    max_connections_per_ip: usize,
    proxy_protocol: bool,
    max_header_bytes: usize,
    max_headers: usize,
    h2_max_concurrent_streams: u32,
    max_request_body: u64,
    drain_timeout: Duration,
    #[cfg(feature = "tls")]
    tls_handshake_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            min_body_rate: DEFAULT_MIN_BODY_RATE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: 0,
            proxy_protocol: false,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            h2_max_concurrent_streams: DEFAULT_H2_MAX_CONCURRENT_STREAMS,
            max_request_body: 0,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            #[cfg(feature = "tls")]
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
        }
    }
}

/// The longest timeout the server arms: longer settings are clamped to it, so that a
/// deadline (`now + timeout`) can never overflow.
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// `timeout`, at most [`MAX_TIMEOUT`].
fn clamp(timeout: Duration) -> Duration {
    timeout.min(MAX_TIMEOUT)
}

// === setters ===

/// The setters of the limits added to [`Config`] after the first four, written once
/// for [`Server`] and [`Workers`] (both hold a `config: Config`).
macro_rules! limit_setters {
    () => {
        /// How long a connection with nothing in flight is kept: HTTP/1 keep-alive
        /// between requests, HTTP/2 with no open stream (closed with a GOAWAY), an
        /// upgraded connection (WebSocket) with no byte either way. It is also the
        /// interval of HTTP/2 keep-alive pings. Default
        /// [`DEFAULT_IDLE_TIMEOUT`](super::DEFAULT_IDLE_TIMEOUT).
        pub fn idle_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.config.idle_timeout = super::clamp(timeout);
            self
        }

        /// How long writes to a client may make no progress (it reads nothing)
        /// before the connection is dropped, releasing whatever its requests hold
        /// upstream; also how long an HTTP/2 keep-alive ping may go unanswered.
        /// Default [`DEFAULT_SEND_TIMEOUT`](super::DEFAULT_SEND_TIMEOUT).
        pub fn send_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.config.send_timeout = super::clamp(timeout);
            self
        }

        /// The most connections one client address may hold at once, over all
        /// listeners (IPv6 clients are counted per /64); past it a new connection is
        /// closed at once. With [`proxy_protocol`](Self::proxy_protocol), the address
        /// is the one the PROXY header names. Default 0: no limit.
        pub fn max_connections_per_ip(mut self, max: usize) -> Self {
            self.config.max_connections_per_ip = max;
            self
        }

        /// Whether every connection starts with a PROXY protocol header (version 1
        /// or 2, as an L4 balancer sends): its source address becomes the
        /// connection's [`ConnInfo::remote`](frontdoor_core::ConnInfo::remote), so
        /// resolvers, `X-Forwarded-For` and the per-address limit see the real
        /// client. A connection without a valid header within the header timeout is
        /// closed, nothing of it served. Default off.
        pub fn proxy_protocol(mut self, on: bool) -> Self {
            self.config.proxy_protocol = on;
            self
        }

        /// The most bytes of a request head (request line and headers; HTTP/2:
        /// the header list); over it HTTP/1 is answered `431` and the request never
        /// reaches the service. At least
        /// [`MIN_MAX_HEADER_BYTES`](super::MIN_MAX_HEADER_BYTES) (hyper's minimum
        /// read buffer); smaller values are raised to it. Default
        /// [`DEFAULT_MAX_HEADER_BYTES`](super::DEFAULT_MAX_HEADER_BYTES).
        pub fn max_header_bytes(mut self, max: usize) -> Self {
            self.config.max_header_bytes = max.max(super::MIN_MAX_HEADER_BYTES);
            self
        }

        /// The most header lines of an HTTP/1 request (`431` over it). Default
        /// [`DEFAULT_MAX_HEADERS`](super::DEFAULT_MAX_HEADERS).
        pub fn max_headers(mut self, max: usize) -> Self {
            self.config.max_headers = max;
            self
        }

        /// The most concurrent streams of one HTTP/2 connection. Default
        /// [`DEFAULT_H2_MAX_CONCURRENT_STREAMS`](super::DEFAULT_H2_MAX_CONCURRENT_STREAMS).
        pub fn h2_max_concurrent_streams(mut self, max: u32) -> Self {
            self.config.h2_max_concurrent_streams = max;
            self
        }

        /// The lowest average rate, in bytes a second, a request body (HTTP/1 body or
        /// HTTP/2 stream) may arrive at once it has kept its reader waiting for longer
        /// than the body read timeout in all (only the waiting counts: a reader slow
        /// to take the body is not the client's fault): a client sending one byte a
        /// second is cut off instead of holding what its request holds.
        /// Below it the body fails with a
        /// [`RequestTimeout`](frontdoor_core::ErrorKind::RequestTimeout) error (`408`
        /// when nothing was answered yet, as for the body read timeout), the upstream
        /// request it feeds is aborted, and an HTTP/1 connection is closed after the
        /// answer, lingering: its write half is shut down and what the client still
        /// sends is discarded for up to two seconds, so the client reads the `408`
        /// rather than a reset (an HTTP/2 stream is reset; the connection stays).
        /// Default [`DEFAULT_MIN_BODY_RATE`](super::DEFAULT_MIN_BODY_RATE); 0 turns it
        /// off.
        pub fn min_body_rate(mut self, bytes_per_second: u64) -> Self {
            self.config.min_body_rate = bytes_per_second;
            self
        }

        /// The most bytes a request body may have (nginx's `client_max_body_size`):
        /// an announced `Content-Length` over it is answered `413` before the
        /// service sees the request; a chunked body that crosses it fails with a
        /// [`PayloadTooLarge`](frontdoor_core::ErrorKind::PayloadTooLarge) error
        /// (`413` when nothing was answered yet). Default 0: no cap.
        pub fn max_request_body(mut self, max: u64) -> Self {
            self.config.max_request_body = max;
            self
        }
    };
}
pub(crate) use limit_setters;

// === Transport ===

/// How a listener's connections start.
#[derive(Clone)]
enum Transport {
    /// Plaintext: HTTP/1.1 or h2c from the first byte.
    Plain,
    /// A TLS handshake first.
    #[cfg(feature = "tls")]
    Tls(tokio_rustls::TlsAcceptor),
}

impl Transport {
    const fn is_tls(&self) -> bool {
        !matches!(self, Self::Plain)
    }
}

// === impl Shared ===

/// What every accept loop and connection task shares.
#[derive(Clone)]
struct Shared {
    config: Config,
    /// Stop accepting and start graceful connection shutdown.
    shutdown: CancellationToken,
    /// The drain timeout elapsed: drop connections now.
    force: CancellationToken,
    tracker: TaskTracker,
    limit: Arc<Semaphore>,
    per_ip: PerIp,
}

impl Shared {
    /// Fresh shutdown tokens, task tracker and connection limit.
    fn new(config: Config) -> Self {
        Self {
            config,
            shutdown: CancellationToken::new(),
            force: CancellationToken::new(),
            tracker: TaskTracker::new(),
            limit: Arc::new(Semaphore::new(config.max_connections)),
            per_ip: PerIp::new(config.max_connections_per_ip),
        }
    }

    /// The same settings, tokens and connection limit, with a task tracker of its
    /// own: one worker's share.
    fn with_own_tracker(&self) -> Self {
        Self {
            tracker: TaskTracker::new(),
            ..self.clone()
        }
    }

    /// Waits for the tracked accept loops and connections to finish, after
    /// [`shutdown`](Self::shutdown) has been cancelled; when the drain timeout
    /// elapses first, logs it (naming `worker`, if any), drops the remaining
    /// connections and waits for them to go.
    async fn drain(&self, worker: Option<usize>) {
        self.tracker.close();
        let drained = tokio::time::timeout(self.config.drain_timeout, self.tracker.wait()).await;
        if drained.is_err() {
            match worker {
                Some(worker) => warn!(
                    worker,
                    "drain timeout elapsed: closing remaining connections"
                ),
                None => warn!("drain timeout elapsed: closing remaining connections"),
            }
            self.force.cancel();
            self.tracker.wait().await;
        }
    }
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM. Pass it to
/// [`Server::serve_with_shutdown`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
