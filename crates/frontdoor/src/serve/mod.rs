//! Serving a tower service on one or more listeners (WFront's multi-port server,
//! done properly).
//!
//! [`Server`] binds any number of addresses and serves one service on all of them:
//!
//! * HTTP/1.1 and HTTP/2 with prior knowledge (h2c), detected per connection by
//!   hyper-util's auto connection builder; HTTP/1 upgrades are supported;
//! * every request carries a [`ConnInfo`] extension (local and peer address);
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

use std::{
    fmt,
    future::{pending, Future},
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError, ConnInfo};
use http::{header, HeaderValue, Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use pin_project_lite::pin_project;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::{Service, ServiceExt};
use tracing::{debug, info, warn};

mod head_timer;
mod workers;

use head_timer::{Check, HeadClock, InFlight, Tracked};

pub use workers::Workers;

/// Default header-read timeout: 10 seconds.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default request-body read timeout: 60 seconds.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default maximum number of open connections: 10,000.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default drain timeout for graceful shutdown: 30 seconds.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A set of bound listeners and the connection settings to serve them with.
///
/// See the [module docs](self).
#[must_use]
pub struct Server {
    listeners: Vec<TcpListener>,
    config: Config,
}

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

impl Server {
    /// Binds every address in `addrs` (port 0 picks a free port).
    ///
    /// # Errors
    ///
    /// The first bind error, with the address in its message.
    pub async fn bind(addrs: &[SocketAddr]) -> io::Result<Self> {
        let mut listeners = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            listeners.push(listener);
        }
        Ok(Self::from_listeners(listeners))
    }

    /// Serves already bound listeners.
    pub fn from_listeners(listeners: Vec<TcpListener>) -> Self {
        Self {
            listeners,
            config: Config::default(),
        }
    }

    /// The addresses actually bound, in the order given.
    ///
    /// # Errors
    ///
    /// When the OS cannot report a listener's address.
    pub fn local_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        self.listeners.iter().map(TcpListener::local_addr).collect()
    }

    /// How long a client may take to send a complete request head, counted from the
    /// connection's start or the end of the previous response; so it is also the
    /// idle timeout of an HTTP/1 keep-alive connection. HTTP/2 (h2c) connections are
    /// exempt from their first request on. Default [`DEFAULT_HEADER_READ_TIMEOUT`].
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.header_read_timeout = timeout;
        self
    }

    /// How long a request body may go without delivering a byte (nginx's
    /// `client_body_timeout`). Past it the body fails with a
    /// [`BadRequest`](frontdoor_core::ErrorKind::BadRequest) error, so a proxied
    /// request is abandoned (answered 400 if no response has started) instead of
    /// holding an upstream connection. Default [`DEFAULT_BODY_READ_TIMEOUT`].
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.body_read_timeout = timeout;
        self
    }

    /// The most connections open at once, over all listeners (at least 1). Default
    /// [`DEFAULT_MAX_CONNECTIONS`].
    pub fn max_connections(mut self, max: usize) -> Self {
        self.config.max_connections = max.max(1);
        self
    }

    /// How long graceful shutdown waits for in-flight requests. Default
    /// [`DEFAULT_DRAIN_TIMEOUT`].
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.config.drain_timeout = timeout;
        self
    }

    /// Serves `service` until the process ends.
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for fatal listener errors.
    pub async fn serve<S, B>(self, service: S) -> io::Result<()>
    where
        S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.serve_with_shutdown(service, pending()).await
    }

    /// Serves `service` until `signal` completes, then shuts down gracefully: stop
    /// accepting, let in-flight requests finish within the drain timeout, drop the
    /// rest. Returns when every connection is closed.
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for fatal listener errors.
    pub async fn serve_with_shutdown<S, B, F>(self, service: S, signal: F) -> io::Result<()>
    where
        S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
        F: Future<Output = ()> + Send,
    {
        let shared = Shared {
            config: self.config,
            shutdown: CancellationToken::new(),
            force: CancellationToken::new(),
            tracker: TaskTracker::new(),
            limit: Arc::new(Semaphore::new(self.config.max_connections)),
        };
        for listener in self.listeners {
            if let Ok(addr) = listener.local_addr() {
                info!(%addr, "listening");
            }
            shared
                .tracker
                .spawn(accept_loop(listener, service.clone(), shared.clone()));
        }
        signal.await;
        info!(
            drain_timeout = ?self.config.drain_timeout,
            "shutting down: draining connections"
        );
        shared.shutdown.cancel();
        shared.tracker.close();
        if tokio::time::timeout(self.config.drain_timeout, shared.tracker.wait())
            .await
            .is_err()
        {
            warn!("drain timeout elapsed: closing remaining connections");
            shared.force.cancel();
            shared.tracker.wait().await;
        }
        Ok(())
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addrs", &self.local_addrs().ok())
            .field("header_read_timeout", &self.config.header_read_timeout)
            .field("body_read_timeout", &self.config.body_read_timeout)
            .field("max_connections", &self.config.max_connections)
            .field("drain_timeout", &self.config.drain_timeout)
            .finish()
    }
}

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

async fn accept_loop<S, B>(listener: TcpListener, service: S, shared: Shared)
where
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let Ok(listen_addr) = listener.local_addr() else {
        return;
    };
    loop {
        let permit = tokio::select! {
            biased;
            () = shared.shutdown.cancelled() => return,
            permit = shared.limit.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let (stream, remote) = tokio::select! {
            biased;
            () = shared.shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Per-connection errors (reset before accept) are routine; others
                    // (EMFILE) deserve a pause so the loop does not spin.
                    if !is_connection_error(&error) {
                        warn!(%error, addr = %listen_addr, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
        };
        let local = stream.local_addr().unwrap_or(listen_addr);
        if let Err(error) = stream.set_nodelay(true) {
            debug!(%error, "set_nodelay failed");
        }
        let info = ConnInfo::new(local, remote);
        shared.tracker.spawn(serve_connection(
            stream,
            info,
            service.clone(),
            shared.clone(),
            permit,
        ));
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

async fn serve_connection<S, B>(
    stream: TcpStream,
    info: ConnInfo,
    service: S,
    shared: Shared,
    permit: tokio::sync::OwnedSemaphorePermit,
) where
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let _permit = permit;
    let timeout = shared.config.header_read_timeout;
    // The auto builder sniffs the protocol before hyper's own header timer runs, so
    // a client that connects and sends nothing is cut off here.
    let mut probe = [0u8; 1];
    tokio::select! {
        biased;
        () = shared.shutdown.cancelled() => return,
        peeked = tokio::time::timeout(timeout, stream.peek(&mut probe)) => match peeked {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return,
            Err(_) => {
                debug!(remote = %info.remote, "header read timeout before first byte");
                return;
            }
        },
    }

    let shared_body_timeout = shared.config.body_read_timeout;
    let clock = HeadClock::new();
    let head_clock = Arc::clone(&clock);
    let hyper_service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let token = Some(head_clock.begin(req.version()));
        if let Some(reason) = framing_error(&req) {
            debug!(remote = %info.remote, reason, "rejected request framing");
            return Guarded::Rejected {
                res: Some(rejection(reason)),
                token,
            };
        }
        let body_timeout = shared_body_timeout;
        let mut req = req.map(|body| {
            if http_body::Body::is_end_stream(&body) {
                Body::new(body)
            } else {
                Body::new(IdleBody::new(body, body_timeout))
            }
        });
        req.extensions_mut().insert(info);
        Guarded::Inner {
            fut: service.clone().oneshot(req),
            token,
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // No hyper header timer: `HeadClock` keeps one per connection (see head_timer.rs).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), hyper_service);
    tokio::pin!(conn);
    let head_timer = tokio::time::sleep(timeout);
    tokio::pin!(head_timer);
    let mut timing = true;

    let result = loop {
        tokio::select! {
            result = conn.as_mut() => break Some(result),
            () = head_timer.as_mut(), if timing => {
                match clock.check(tokio::time::Instant::now(), timeout) {
                    Check::TimedOut => {
                        debug!(remote = %info.remote, "header read timeout");
                        break None;
                    }
                    Check::RearmAt(at) => head_timer.as_mut().reset(at),
                    Check::Exempt => timing = false,
                }
            }
            () = shared.shutdown.cancelled() => {
                conn.as_mut().graceful_shutdown();
                break tokio::select! {
                    result = conn.as_mut() => Some(result),
                    () = shared.force.cancelled() => None,
                };
            }
        }
    };
    if let Some(Err(error)) = result {
        debug!(remote = %info.remote, %error, "connection ended with an error");
    }
}

/// Checks what hyper's HTTP/1 parser lets through but a proxy must not forward
/// (RFC 9112 sections 3.2 and 6): a missing or repeated `Host` on HTTP/1.1, a
/// `Content-Length` that is not plain digits, and any `Transfer-Encoding` other than
/// a single `chunked`. Returns the reason to reject, if any.
fn framing_error<B>(req: &Request<B>) -> Option<&'static str> {
    let headers = req.headers();
    let mut hosts = headers.get_all(header::HOST).iter();
    let first_host = hosts.next();
    if hosts.next().is_some() {
        return Some("more than one host header");
    }
    if first_host.is_none() && req.version() == Version::HTTP_11 {
        return Some("missing host header");
    }
    for cl in &headers.get_all(header::CONTENT_LENGTH) {
        let digits = cl.as_bytes();
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Some("invalid content-length");
        }
    }
    let mut te = headers.get_all(header::TRANSFER_ENCODING).iter();
    if let Some(first) = te.next() {
        let single_chunked =
            te.next().is_none() && first.as_bytes().eq_ignore_ascii_case(b"chunked");
        if !single_chunked {
            return Some("unsupported transfer-encoding");
        }
    }
    None
}

/// A 400 that closes the connection: after a framing error the rest of the stream
/// cannot be trusted.
fn rejection<B>(reason: &'static str) -> Response<http_body_util::Either<B, Body>> {
    let mut res = frontdoor_core::text_response(StatusCode::BAD_REQUEST, reason);
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res.map(http_body_util::Either::Right)
}

/// The response body of the connection service: the service's or the framing
/// guard's, holding the request's [`InFlight`] token until hyper drops it.
type GuardedBody<B> = Tracked<http_body_util::Either<B, Body>>;

pin_project! {
    /// The per-request future of the connection service: the service's answer, or
    /// the framing guard's rejection. The request's [`InFlight`] token moves into the
    /// response body.
    #[project = GuardedProj]
    enum Guarded<F, B> {
        Inner { #[pin] fut: F, token: Option<InFlight> },
        Rejected { res: Option<Response<http_body_util::Either<B, Body>>>, token: Option<InFlight> },
    }
}

impl<F, B, E> Future for Guarded<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<GuardedBody<B>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GuardedProj::Inner { fut, token } => fut
                .poll(cx)
                .map_ok(|res| {
                    res.map(|b| Tracked::new(http_body_util::Either::Left(b), token.take()))
                })
                .map_err(Into::into),
            GuardedProj::Rejected { res, token } => match res.take() {
                Some(res) => Poll::Ready(Ok(res.map(|b| Tracked::new(b, token.take())))),
                None => Poll::Ready(Err("guarded future polled after completion".into())),
            },
        }
    }
}

pin_project! {
    /// A request body that fails when it delivers nothing for `timeout`.
    struct IdleBody {
        #[pin]
        inner: Incoming,
        #[pin]
        sleep: tokio::time::Sleep,
        timeout: Duration,
        armed: bool,
    }
}

impl IdleBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            sleep: tokio::time::sleep(timeout),
            timeout,
            armed: false,
        }
    }
}

impl http_body::Body for IdleBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => {
                *this.armed = false;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                if !*this.armed {
                    // The timer runs from the first time the body has nothing to give.
                    let deadline = tokio::time::Instant::now() + *this.timeout;
                    this.sleep.as_mut().reset(deadline);
                    *this.armed = true;
                }
                match this.sleep.poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(frontdoor_core::Error::bad_request(
                        "request body read timeout",
                    )
                    .into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
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
