//! Serving a tower service on one or more listeners (WFront's multi-port server,
//! done properly).
//!
//! [`Server`] binds any number of addresses and serves one service on all of them:
//!
//! * HTTP/1.1 and HTTP/2 with prior knowledge (h2c), detected per connection by
//!   hyper-util's auto connection builder; HTTP/1 upgrades are supported;
//! * every request carries a [`ConnInfo`](frontdoor_core::ConnInfo) extension (local
//!   and peer address);
//! * a header-read timeout cuts off clients that never finish their request head
//!   (slowloris), including clients that connect and send nothing, and a body-read
//!   timeout fails request bodies that stall;
//! * a max-connections limit: past it, the server stops accepting until a
//!   connection closes (the kernel backlog holds the rest);
//! * requests whose framing a proxy must not forward (a missing or repeated `Host`
//!   on HTTP/1.1, a non-numeric `Content-Length`, a `Transfer-Encoding` other than a
//!   single `chunked`) are answered `400` with `Connection: close` before the service
//!   sees them; hyper itself rejects the rest of the classic smuggling vectors;
//! * graceful shutdown on a future: listeners close, in-flight requests finish
//!   (HTTP/1 connections close after their current response, HTTP/2 connections get
//!   GOAWAY), and whatever is still running after the drain timeout is dropped.
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
//! listener (`accept.rs`); each accepted connection runs `connection.rs` (wait for
//! the first byte, configure hyper, drive the connection, drain it on shutdown). Per
//! request, `guard.rs` rejects bad framing and inserts `ConnInfo`, `idle_body.rs`
//! times out stalled request bodies, and `head_timer.rs` keeps the connection's
//! header-read timeout.

use std::{future::pending, sync::Arc, time::Duration};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::{Request, Response};
use tokio::sync::Semaphore;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::Service;
use tracing::warn;

mod accept;
mod connection;
mod guard;
mod head_timer;
mod idle_body;
mod server;
mod workers;

pub use server::Server;
pub use workers::Workers;

/// Default header-read timeout: 10 seconds.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default request-body read timeout: 60 seconds.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default maximum number of open connections: 10,000.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default drain timeout for graceful shutdown: 30 seconds.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

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
    max_connections: usize,
    drain_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
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
