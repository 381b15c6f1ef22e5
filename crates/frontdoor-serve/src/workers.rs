//! Thread-per-core serving: see [`Workers`].

use std::{fmt, future::Future, io, net::SocketAddr, sync::Arc};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::{Request, Response};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::{net::TcpListener, sync::mpsc};
use tower::Service;
use tracing::{info, warn};

#[cfg(feature = "tls")]
use crate::tls::TlsConfig;
use crate::{
    accept::accept_loop,
    bounds::{ConnService, ResponseBody},
    config::{limit_setters, Config},
    shared::Shared,
    transport::Transport,
};

/// A server with one worker thread per core, in nginx's shape.
///
/// Each worker is a thread running a single-threaded tokio runtime, with its own
/// `SO_REUSEPORT` listener on every address (the kernel spreads connections over
/// them) and its own service, built by the `make_service` closure **on that worker**,
/// so whatever the service spawns (an upstream client's connection tasks) stays on
/// the worker. Connection handling, timeouts, the connection limit (shared by all
/// workers) and graceful shutdown are those of [`Server`](crate::Server).
///
/// ```no_run
/// use std::convert::Infallible;
///
/// use frontdoor_core::{Body, BoxError};
/// use frontdoor_serve::{shutdown_signal, Workers};
/// use http::{Request, Response};
///
/// # async fn run() -> Result<(), BoxError> {
/// let make_service = |_worker: usize| {
///     tower::service_fn(|_req: Request<Body>| async {
///         Ok::<_, Infallible>(Response::new(Body::from("hello\n")))
///     })
/// };
/// let workers = Workers::bind(&["127.0.0.1:8080".parse()?], 2)?;
/// workers.serve_with_shutdown(make_service, shutdown_signal()).await?;
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct Workers {
    /// `listeners[w]` holds worker `w`'s listener for every address.
    listeners: Vec<Vec<(std::net::TcpListener, Transport)>>,
    /// The plaintext addresses bound.
    addrs: Vec<SocketAddr>,
    /// The TLS addresses bound.
    #[cfg(feature = "tls")]
    tls_addrs: Vec<SocketAddr>,
    config: Config,
}

impl Workers {
    /// Binds every address `workers` times with `SO_REUSEPORT` (at least one worker).
    /// Port 0 picks one free port, shared by all workers.
    ///
    /// # Errors
    ///
    /// The first socket error, with the address in its message.
    pub fn bind(addrs: &[SocketAddr], workers: usize) -> io::Result<Self> {
        let mut listeners: Vec<Vec<_>> = (0..workers.max(1)).map(|_| Vec::new()).collect();
        let addrs = bind_each(&mut listeners, addrs, &Transport::Plain)?;
        Ok(Self {
            listeners,
            addrs,
            #[cfg(feature = "tls")]
            tls_addrs: Vec::new(),
            config: Config::default(),
        })
    }

    /// Also binds every address in `addrs` as a TLS (HTTPS) listener handshaking with
    /// `tls`, once per worker, as [`bind`](Self::bind) does.
    ///
    /// # Errors
    ///
    /// The first socket error, with the address in its message.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn bind_tls(mut self, addrs: &[SocketAddr], tls: &TlsConfig) -> io::Result<Self> {
        let transport = Transport::Tls(tls.acceptor());
        let bound = bind_each(&mut self.listeners, addrs, &transport)?;
        self.tls_addrs.extend(bound);
        Ok(self)
    }

    /// The plaintext addresses bound, in the order given (port 0 resolved).
    #[must_use]
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The TLS addresses bound, in the order given (port 0 resolved).
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    #[must_use]
    pub fn local_tls_addrs(&self) -> &[SocketAddr] {
        &self.tls_addrs
    }

    /// The number of workers.
    #[must_use]
    pub fn workers(&self) -> usize {
        self.listeners.len()
    }

    limit_setters!();

    /// Starts the workers, each serving `make_service(worker_index)`, until `signal`
    /// completes; then, after the [drain delay](Self::drain_delay), shuts every worker
    /// down gracefully and returns when all have finished (see
    /// [`Server::serve_with_shutdown`](crate::Server::serve_with_shutdown)).
    ///
    /// # Errors
    ///
    /// When a worker thread or its runtime cannot start.
    pub async fn serve_with_shutdown<M, S, B, F>(self, make_service: M, signal: F) -> io::Result<()>
    where
        M: Fn(usize) -> S + Send + Sync + 'static,
        S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
        F: Future<Output = ()> + Send,
    {
        for addr in &self.addrs {
            info!(%addr, workers = self.listeners.len(), "listening");
        }
        #[cfg(feature = "tls")]
        for addr in &self.tls_addrs {
            info!(%addr, workers = self.listeners.len(), tls = true, "listening");
        }
        let shared = Shared::new(self.config);
        let mut started = Started::spawn(self.listeners, make_service, &shared);
        started
            .until_signal_or_failure(shared.until_closing(signal))
            .await;
        shared.shutdown.cancel();
        started.join().await
    }
}

// === impl Started ===

/// The worker threads, as seen from the task that started them.
struct Started {
    /// Each worker reports here once, when it has finished (or failed to start).
    reports: mpsc::Receiver<io::Result<()>>,
    /// Workers started that have not reported yet.
    running: usize,
    /// The first error: a thread that could not be spawned, or a worker that failed.
    first_error: Option<io::Error>,
}

impl Started {
    /// Starts a thread for each worker's `listeners`, sharing `shared`'s settings,
    /// tokens and connection limit; stops at the first thread that cannot be spawned.
    fn spawn<M, S, B>(
        listeners: Vec<Vec<(std::net::TcpListener, Transport)>>,
        make_service: M,
        shared: &Shared,
    ) -> Self
    where
        M: Fn(usize) -> S + Send + Sync + 'static,
        S: ConnService<B>,
        B: ResponseBody,
    {
        let make_service = Arc::new(make_service);
        let (report, reports) = mpsc::channel(listeners.len().max(1));
        let mut started = Self {
            reports,
            running: 0,
            first_error: None,
        };
        for (index, listeners) in listeners.into_iter().enumerate() {
            let shared = shared.with_own_tracker();
            let make_service = Arc::clone(&make_service);
            let report = report.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("frontdoor-worker-{index}"))
                .spawn(move || {
                    let result = run_worker(index, listeners, &*make_service, shared);
                    let _ = report.blocking_send(result);
                });
            match spawned {
                Ok(_) => started.running += 1,
                Err(e) => {
                    started.first_error = Some(e);
                    break;
                }
            }
        }
        started
    }

    /// Waits for `signal`, unless a worker fails first (until the signal, a worker
    /// only reports when it failed to start), or one already did.
    async fn until_signal_or_failure<F: Future<Output = ()>>(&mut self, signal: F) {
        if self.first_error.is_some() {
            return;
        }
        tokio::select! {
            () = signal => {}
            Some(result) = self.reports.recv() => {
                self.running -= 1;
                if let Err(error) = result {
                    warn!(%error, "a worker failed: shutting down");
                    self.first_error = Some(error);
                }
            }
        }
    }

    /// Waits for every running worker to report; the first error, if any.
    async fn join(mut self) -> io::Result<()> {
        while self.running > 0 {
            match self.reports.recv().await {
                Some(Ok(())) => {}
                Some(Err(e)) => {
                    self.first_error.get_or_insert(e);
                }
                // A worker thread that panicked dropped its sender.
                None => {
                    self.first_error
                        .get_or_insert_with(|| io::Error::other("a worker thread panicked"));
                    break;
                }
            }
            self.running -= 1;
        }
        self.first_error.map_or(Ok(()), Err)
    }
}

/// One worker thread: a current-thread runtime serving `make_service(index)` on
/// `listeners` until shutdown, then draining.
fn run_worker<M, S, B>(
    index: usize,
    listeners: Vec<(std::net::TcpListener, Transport)>,
    make_service: &M,
    shared: Shared,
) -> io::Result<()>
where
    M: Fn(usize) -> S,
    S: ConnService<B>,
    B: ResponseBody,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let service = make_service(index);
        for (listener, transport) in listeners {
            let listener = TcpListener::from_std(listener)?;
            shared.tracker.spawn(accept_loop(
                listener,
                transport,
                service.clone(),
                shared.clone(),
            ));
        }
        shared.shutdown.cancelled().await;
        shared.drain(Some(index)).await;
        Ok(())
    })
}

/// Binds every address in `addrs` once per worker with `SO_REUSEPORT`, appending
/// each worker's listener (with `transport`) to its list; returns the addresses bound.
/// Port 0 picks one free port, shared by all workers.
fn bind_each(
    listeners: &mut [Vec<(std::net::TcpListener, Transport)>],
    addrs: &[SocketAddr],
    transport: &Transport,
) -> io::Result<Vec<SocketAddr>> {
    let mut bound = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let mut actual = *addr;
        for per_worker in listeners.iter_mut() {
            let listener = reuseport_listener(actual)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            actual = listener.local_addr()?;
            per_worker.push((listener, transport.clone()));
        }
        bound.push(actual);
    }
    Ok(bound)
}

/// A listener socket on `addr` that other workers can bind too (`SO_REUSEPORT`).
fn reuseport_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

impl fmt::Debug for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Workers");
        d.field("local_addrs", &self.addrs);
        #[cfg(feature = "tls")]
        d.field("local_tls_addrs", &self.tls_addrs);
        d.field("workers", &self.listeners.len())
            .field("config", &self.config)
            .finish()
    }
}
