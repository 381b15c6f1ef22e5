//! The running front door: the current stack and certificates behind atomic swaps,
//! the built-in backends, and reloads. The [`Plan`] (and its shared state: limits,
//! mirrors, buffer budget) is built once per loaded config and shared by every
//! worker's stack; a reload builds the new plan from the old, so unchanged routes
//! keep their state.

use std::{
    collections::BTreeMap,
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, SystemTime},
};

use arc_swap::ArcSwap;
use frontdoor::{demo, plan::Plan, serve::Server, Body};
use http::{Request, Response};
use parking_lot::Mutex;
use tower::{util::Oneshot, Service, ServiceExt};

use crate::{
    config::{Builtin, Config, ConfigError, ConfigErrors},
    ops::Metrics,
    stack::{self, Built, Builtins, Svc},
    tls::{self, Certificates, Served},
};

/// Where the config comes from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Source {
    /// The embedded demo ([`crate::config::EMBEDDED`]).
    Embedded,
    /// A file.
    File(PathBuf),
}

impl Source {
    /// Reads and validates the config.
    ///
    /// # Errors
    ///
    /// Every problem in the config, or why the file cannot be read.
    pub fn load(&self) -> Result<Config, ConfigErrors> {
        match self {
            Self::Embedded => Config::embedded(),
            Self::File(path) => Config::load(path),
        }
    }

    /// The file, if the config comes from one.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Embedded => None,
            Self::File(p) => Some(p),
        }
    }
}

/// The built-in backends, started on first use and kept across reloads.
#[derive(Debug, Default)]
pub struct Backends {
    started: Mutex<BTreeMap<Builtin, SocketAddr>>,
}

impl Backends {
    /// Starts whatever `config` needs that is not running yet (on the current tokio
    /// runtime), and returns where every started backend listens.
    ///
    /// # Errors
    ///
    /// When a backend cannot bind a loopback port.
    pub async fn ensure(&self, config: &Config) -> std::io::Result<Builtins> {
        for builtin in config.plan.builtins() {
            if self.started.lock().contains_key(&builtin) {
                continue;
            }
            let server = Server::bind(&[SocketAddr::from(([127, 0, 0, 1], 0))]).await?;
            let addr = server
                .local_addrs()?
                .first()
                .copied()
                .ok_or_else(|| std::io::Error::other("backend listener has no address"))?;
            match builtin {
                Builtin::Echo => tokio::spawn(server.serve(demo::echo())),
                Builtin::Redirect => tokio::spawn(server.serve(demo::redirect())),
            };
            tracing::info!(backend = builtin.name(), %addr, "built-in backend listening");
            self.started.lock().insert(builtin, addr);
        }
        Ok(self.started.lock().clone())
    }
}

/// A worker's front door service ([`Live::service`]): each request runs on the stack
/// current when it arrived. A named service whose future is the stack's own, so a
/// request costs no boxed future here.
#[derive(Clone)]
pub struct WorkerService {
    stacks: Arc<[ArcSwap<Built>]>,
    slot: usize,
}

impl std::fmt::Debug for WorkerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerService")
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

impl Service<Request<Body>> for WorkerService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Oneshot<Svc, Request<Body>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Readiness is the stack's, polled by `Oneshot` on the stack of the request.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.stacks[self.slot].load().service.clone().oneshot(req)
    }
}

/// The live stacks, one per worker (so each worker has its own upstream pools):
/// requests load the current one; reloads swap them all.
#[derive(Clone)]
pub struct Live {
    stacks: Arc<[ArcSwap<Built>]>,
    config: Arc<ArcSwap<Config>>,
    /// The plan in force, whose shared state the next reload starts from.
    plan: Arc<ArcSwap<Plan>>,
    /// The `[server]` section the listeners were started with.
    running: Arc<crate::config::Server>,
    backends: Arc<Backends>,
    metrics: Metrics,
    certs: Arc<Served>,
    /// The TLS listeners' addresses once bound (port 0 resolved); stacks are built
    /// with them, so an https redirect names the real port.
    bound_tls: Arc<Mutex<Option<Vec<SocketAddr>>>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("workers", &self.stacks.len())
            .field("backends", &self.backends)
            .finish_non_exhaustive()
    }
}

impl Live {
    /// Loads, validates and builds the first config, once per worker: `workers`
    /// (the command line) wins over `[server] workers`, which wins over one per core.
    ///
    /// # Errors
    ///
    /// Every problem in the config, or why the built-in backends cannot start.
    pub async fn start(
        source: &Source,
        metrics: Metrics,
        workers: Option<usize>,
    ) -> Result<Self, ConfigErrors> {
        let backends = Arc::new(Backends::default());
        let count = |config: &Config| {
            workers
                .or(config.server.workers)
                .unwrap_or_else(|| {
                    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
                })
                .max(1)
        };
        let loaded = load(source, &backends, &metrics, count, None, None).await?;
        loaded.log_warnings();
        let certs = Served::new(loaded.certs);
        metrics.set_certificates(&certs.rows());
        Ok(Self {
            stacks: loaded
                .built
                .into_iter()
                .map(ArcSwap::from_pointee)
                .collect(),
            running: Arc::new(loaded.config.server.clone()),
            config: Arc::new(ArcSwap::from_pointee(loaded.config)),
            plan: Arc::new(ArcSwap::new(loaded.plan)),
            backends,
            metrics,
            certs: Arc::new(certs),
            bound_tls: Arc::default(),
        })
    }

    /// The configuration of the TLS listeners (`None` without certificates): they
    /// share one certificate resolver, which reloads swap.
    ///
    /// # Errors
    ///
    /// When rustls refuses the configuration.
    #[cfg(feature = "tls")]
    pub fn tls_config(
        &self,
    ) -> Result<Option<frontdoor::serve::tls::TlsConfig>, frontdoor::serve::tls::TlsConfigError>
    {
        self.certs.tls_config()
    }

    /// Records where the TLS listeners were bound. When that differs from the config
    /// (port 0), the stacks are rebuilt from the config in force with the real
    /// addresses, so an https redirect names the port clients can reach (over the
    /// same shared state: no target changed).
    ///
    /// # Errors
    ///
    /// When the stacks cannot be rebuilt (not expected: the same config built).
    pub async fn listening_tls(&self, addrs: &[SocketAddr]) -> Result<(), ConfigErrors> {
        *self.bound_tls.lock() = Some(addrs.to_vec());
        let current = self.config();
        if current.server.listen_tls == addrs {
            return Ok(());
        }
        let mut config = (*current).clone();
        config.server.listen_tls = addrs.to_vec();
        let builtins = self
            .backends
            .ensure(&config)
            .await
            .map_err(|e| ConfigError::file(format!("cannot start built-in backends: {e}")))?;
        let plan = stack::plan(&config, &builtins, &self.metrics, Some(&self.plan.load()))?;
        for slot in self.stacks.iter() {
            slot.store(Arc::new(Built::new(&plan, &self.metrics)));
        }
        self.plan.store(Arc::new(plan));
        self.config.store(Arc::new(config));
        Ok(())
    }

    /// The number of workers (one stack each).
    pub fn workers(&self) -> usize {
        self.stacks.len()
    }

    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    /// The route table in force, then the health of the checked upstream addresses
    /// and the certificates served (each when there are any).
    pub fn table(&self) -> String {
        let mut routes = self
            .stacks
            .first()
            .map(|s| s.load().table())
            .unwrap_or_default();
        let health = frontdoor::plan::render_health(&self.plan.load().upstream_health());
        if !health.is_empty() {
            routes = format!("{routes}\n\n{health}");
        }
        crate::check::tables(&routes, &self.certs.rows(), SystemTime::now())
    }

    /// Worker `worker`'s front door service: each request runs on the stack current
    /// when it arrived, so a reload never disturbs requests in flight.
    #[must_use]
    pub fn service(&self, worker: usize) -> WorkerService {
        WorkerService {
            slot: worker % self.stacks.len().max(1),
            stacks: self.stacks.clone(),
        }
    }

    /// Re-reads and rebuilds the config and re-reads its certificate files (even when
    /// the config text is unchanged: renewal tools rewrite them in place); on any
    /// error the old stack and certificates keep serving. The new shared state is
    /// built from the old one: targets that did not change keep their limits (and
    /// the permits of their requests in flight) and mirrors.
    pub async fn reload(&self, source: &Source) -> bool {
        let workers = self.stacks.len();
        let bound = self.bound_tls.lock().clone();
        let previous = self.plan.load_full();
        let loaded = load(
            source,
            &self.backends,
            &self.metrics,
            |_| workers,
            bound,
            Some(&previous),
        )
        .await;
        match loaded {
            Ok(loaded) => {
                loaded.log_warnings();
                // Compared as written: `listen_tls` before the bound addresses.
                let mut as_written = loaded.config.server.clone();
                as_written.listen_tls.clone_from(&loaded.configured_tls);
                for key in self.running.changed_keys(&as_written) {
                    tracing::warn!(
                        key,
                        "{key} differs from the running value: it takes effect on restart"
                    );
                }
                let routes = loaded.built.first().map_or(0, |b| b.rows.len());
                for (slot, built) in self.stacks.iter().zip(loaded.built) {
                    slot.store(Arc::new(built));
                }
                self.swap_certificates(loaded.certs);
                self.config.store(Arc::new(loaded.config));
                self.plan.store(loaded.plan);
                // The previous plan's health checks stop with it: the gauge keeps only
                // the series of the plan now in force.
                drop(previous);
                self.metrics
                    .set_upstream_health(&self.plan.load().upstream_health());
                self.metrics.reload_applied();
                tracing::info!(routes, "config reloaded");
                true
            }
            Err(errors) => {
                self.metrics.reload_rejected();
                for e in &errors {
                    tracing::error!(error = %e, "config reload rejected; the previous config and certificates keep serving");
                }
                false
            }
        }
    }

    /// Serves the reloaded certificates to new handshakes.
    fn swap_certificates(&self, certs: Option<Certificates>) {
        let had = !self.certs.rows().is_empty();
        let some = certs.is_some();
        if self.certs.store(certs) {
            let rows = self.certs.rows();
            self.metrics.set_certificates(&rows);
            tracing::info!(certificates = rows.len(), "certificates reloaded");
        } else if had && !some {
            tracing::warn!("[[tls]] is gone, but TLS listeners change only on restart; keeping the current certificates");
        } else if some {
            tracing::warn!("certificates are configured, but TLS listeners start only on restart");
        }
    }
}

// === reload triggers ===

/// Reloads `source` on every SIGHUP (on Unix; elsewhere returns at once).
///
/// The handler is installed when this is called, not when the returned future first
/// runs, so a SIGHUP sent right after `ready` reloads instead of killing the process.
pub fn reload_on_hangup(live: Live, source: Source) -> impl Future<Output = ()> {
    #[cfg(unix)]
    let hup = {
        use tokio::signal::unix::{signal, SignalKind};
        let hup = signal(SignalKind::hangup());
        if hup.is_err() {
            tracing::warn!("cannot listen for SIGHUP: reload by signal is off");
        }
        hup.ok()
    };
    async move {
        #[cfg(unix)]
        if let Some(mut hup) = hup {
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading");
                live.reload(&source).await;
            }
        }
        #[cfg(not(unix))]
        let _ = (live, source);
    }
}

/// Reloads `source` when the modification time or length of its file, or of a file it
/// names (certificates, keys, CAs: renewal tools rewrite them in place), changes,
/// polled every second (no platform watcher needed). The files are stamped at the
/// call, so a change right after it is seen. Returns at once for the embedded config.
pub fn reload_on_change(live: Live, source: Source) -> impl Future<Output = ()> + Send {
    let path = source.path().map(Path::to_owned);
    let mut last = path.as_deref().map(|p| stamp(p, &live));
    async move {
        let (Some(path), Some(last)) = (path, last.as_mut()) else {
            return;
        };
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let now = stamp(&path, &live);
            if now != *last {
                let what = if now.0 == last.0 {
                    "certificate files changed"
                } else {
                    "config file changed"
                };
                tracing::info!(file = %path.display(), "{what}: reloading");
                live.reload(&source).await;
                *last = stamp(&path, &live);
            }
        }
    }
}

/// The modification time and length of a file, if it can be read.
type Stamp = Option<(Option<SystemTime>, u64)>;

/// The stamps of the config file and of the files of the config in force.
fn stamp(path: &Path, live: &Live) -> (Stamp, Vec<Stamp>) {
    let file = std::fs::metadata(path)
        .ok()
        .map(|m| (m.modified().ok(), m.len()));
    (file, tls::file_stamps(&live.config()))
}

/// A config read, its certificates read, its shared state and its stacks built.
struct Loaded {
    config: Config,
    plan: Arc<Plan>,
    /// `listen_tls` as the file says (before the bound addresses replace it).
    configured_tls: Vec<SocketAddr>,
    certs: Option<Certificates>,
    built: Vec<Built>,
}

impl Loaded {
    fn log_warnings(&self) {
        let tls = self.certs.iter().flat_map(|c| &c.warnings);
        for warning in self.config.warnings.iter().chain(tls) {
            tracing::warn!(warning = %warning, "config warning");
        }
    }
}

/// Reads and validates the config and its certificates, builds its shared state (from
/// `previous`, the state in force, on a reload), and builds `copies(&config)`
/// identical stacks over it, with the TLS listeners at `bound` when they are bound.
async fn load(
    source: &Source,
    backends: &Backends,
    metrics: &Metrics,
    copies: impl FnOnce(&Config) -> usize,
    bound: Option<Vec<SocketAddr>>,
    previous: Option<&Plan>,
) -> Result<Loaded, ConfigErrors> {
    let mut config = source.load()?;
    let configured_tls = config.server.listen_tls.clone();
    if let Some(bound) = bound {
        config.server.listen_tls = bound;
    }
    let certs = tls::load(&config, SystemTime::now());
    let builtins = backends
        .ensure(&config)
        .await
        .map_err(|e| ConfigError::file(format!("cannot start built-in backends: {e}")))?;
    let plan = stack::plan(&config, &builtins, metrics, previous);
    let (certs, plan) = crate::check::both(certs, plan)?;
    let built = (0..copies(&config))
        .map(|_| Built::new(&plan, metrics))
        .collect();
    Ok(Loaded {
        config,
        plan: Arc::new(plan),
        configured_tls,
        certs,
        built,
    })
}
