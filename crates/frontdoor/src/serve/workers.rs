//! Thread-per-core serving: see [`Workers`].

use std::{fmt, future::Future, io, net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::{Request, Response};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::Service;
use tracing::{info, warn};

use super::{accept_loop, Config, Shared};

/// A server with one worker thread per core, in nginx's shape.
///
/// Each worker is a thread running a single-threaded tokio runtime, with its own
/// `SO_REUSEPORT` listener on every address (the kernel spreads connections over
/// them) and its own service, built by the `make_service` closure **on that worker**,
/// so whatever the service spawns (an upstream client's connection tasks) stays on
/// the worker. Connection handling, timeouts, the connection limit (shared by all
/// workers) and graceful shutdown are those of [`Server`](super::Server).
///
/// ```no_run
/// use frontdoor::{demo, serve::Workers};
///
/// # async fn run() -> Result<(), frontdoor::BoxError> {
/// let workers = Workers::bind(&["127.0.0.1:8080".parse()?], 2)?;
/// workers
///     .serve_with_shutdown(|_worker| demo::echo(), frontdoor::serve::shutdown_signal())
///     .await?;
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct Workers {
    /// `listeners[w]` holds worker `w`'s listener for every address.
    listeners: Vec<Vec<std::net::TcpListener>>,
    addrs: Vec<SocketAddr>,
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
        let workers = workers.max(1);
        let mut listeners: Vec<Vec<std::net::TcpListener>> = (0..workers)
            .map(|_| Vec::with_capacity(addrs.len()))
            .collect();
        let mut bound = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let mut actual = *addr;
            for per_worker in &mut listeners {
                let listener = reuseport_listener(actual).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
                })?;
                actual = listener.local_addr()?;
                per_worker.push(listener);
            }
            bound.push(actual);
        }
        Ok(Self {
            listeners,
            addrs: bound,
            config: Config::default(),
        })
    }

    /// The addresses bound, in the order given (port 0 resolved).
    #[must_use]
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The number of workers.
    #[must_use]
    pub fn workers(&self) -> usize {
        self.listeners.len()
    }

    /// As [`Server::header_read_timeout`](super::Server::header_read_timeout).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.header_read_timeout = timeout;
        self
    }

    /// As [`Server::body_read_timeout`](super::Server::body_read_timeout).
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.body_read_timeout = timeout;
        self
    }

    /// As [`Server::max_connections`](super::Server::max_connections): the limit is
    /// over all workers together.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.config.max_connections = max.max(1);
        self
    }

    /// As [`Server::drain_timeout`](super::Server::drain_timeout).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.config.drain_timeout = timeout;
        self
    }

    /// Starts the workers, each serving `make_service(worker_index)`, until `signal`
    /// completes; then shuts every worker down gracefully and returns when all have
    /// finished.
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
        let make_service = Arc::new(make_service);
        let shutdown = CancellationToken::new();
        let force = CancellationToken::new();
        let limit = Arc::new(Semaphore::new(self.config.max_connections));
        let workers = self.listeners.len();
        // Each worker reports once, when it has finished (or failed to start).
        let (done_tx, mut done) = tokio::sync::mpsc::channel(workers);
        for addr in &self.addrs {
            info!(%addr, workers, "listening");
        }
        let mut started = 0;
        let mut first_error = None;
        for (index, listeners) in self.listeners.into_iter().enumerate() {
            let shared = Shared {
                config: self.config,
                shutdown: shutdown.clone(),
                force: force.clone(),
                tracker: TaskTracker::new(),
                limit: limit.clone(),
            };
            let make_service = make_service.clone();
            let done_tx = done_tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("frontdoor-worker-{index}"))
                .spawn(move || {
                    let result = run_worker(index, listeners, &*make_service, shared);
                    let _ = done_tx.blocking_send(result);
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => {
                    first_error = Some(e);
                    break;
                }
            }
        }
        drop(done_tx);

        let mut finished = 0;
        if first_error.is_none() {
            // Until the signal, a worker only reports when it failed to start.
            tokio::select! {
                () = signal => {}
                Some(result) = done.recv() => {
                    finished += 1;
                    if let Err(error) = result {
                        warn!(%error, "a worker failed: shutting down");
                        first_error = Some(error);
                    }
                }
            }
        }
        shutdown.cancel();
        while finished < started {
            match done.recv().await {
                Some(Ok(())) => {}
                Some(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                // A worker thread that panicked dropped its sender.
                None => {
                    first_error.get_or_insert_with(|| io::Error::other("a worker thread panicked"));
                    break;
                }
            }
            finished += 1;
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn run_worker<M, S, B>(
    index: usize,
    listeners: Vec<std::net::TcpListener>,
    make_service: &M,
    shared: Shared,
) -> io::Result<()>
where
    M: Fn(usize) -> S,
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let service = make_service(index);
        for listener in listeners {
            let listener = TcpListener::from_std(listener)?;
            shared
                .tracker
                .spawn(accept_loop(listener, service.clone(), shared.clone()));
        }
        shared.shutdown.cancelled().await;
        shared.tracker.close();
        if tokio::time::timeout(shared.config.drain_timeout, shared.tracker.wait())
            .await
            .is_err()
        {
            warn!(
                worker = index,
                "drain timeout elapsed: closing remaining connections"
            );
            shared.force.cancel();
            shared.tracker.wait().await;
        }
        Ok(())
    })
}

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
        f.debug_struct("Workers")
            .field("local_addrs", &self.addrs)
            .field("workers", &self.listeners.len())
            .field("config", &self.config)
            .finish()
    }
}
