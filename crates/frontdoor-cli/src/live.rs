//! The running front door: the current stack behind an atomic swap, the built-in
//! backends, and reloads.

use std::{
    collections::BTreeMap,
    convert::Infallible,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use arc_swap::ArcSwap;
use frontdoor::{demo, serve::Server, Body};
use http::{Request, Response};
use parking_lot::Mutex;
use tower::{util::BoxCloneSyncService, ServiceExt};

use crate::{
    build::{build, builtins_used, Built, Builtins},
    config::{Builtin, Config, ConfigError, ConfigErrors},
    ops::Metrics,
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
        for builtin in builtins_used(config) {
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

/// The live stacks, one per worker (so each worker has its own upstream pools):
/// requests load the current one; reloads swap them all.
#[derive(Clone)]
pub struct Live {
    stacks: Arc<[ArcSwap<Built>]>,
    config: Arc<ArcSwap<Config>>,
    /// The `[server]` section the listeners were started with.
    running: Arc<crate::config::Server>,
    backends: Arc<Backends>,
    metrics: Metrics,
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
        let (config, built) = load(source, &backends, &metrics, count).await?;
        Ok(Self {
            stacks: built.into_iter().map(ArcSwap::from_pointee).collect(),
            running: Arc::new(config.server.clone()),
            config: Arc::new(ArcSwap::from_pointee(config)),
            backends,
            metrics,
        })
    }

    /// The number of workers (one stack each).
    pub fn workers(&self) -> usize {
        self.stacks.len()
    }

    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    /// The route table in force.
    pub fn table(&self) -> String {
        self.stacks
            .first()
            .map(|s| s.load().table())
            .unwrap_or_default()
    }

    /// Worker `worker`'s front door service: each request runs on the stack current
    /// when it arrived, so a reload never disturbs requests in flight.
    pub fn service(
        &self,
        worker: usize,
    ) -> BoxCloneSyncService<Request<Body>, Response<Body>, Infallible> {
        let stacks = self.stacks.clone();
        let slot = worker % stacks.len().max(1);
        BoxCloneSyncService::new(tower::service_fn(move |req: Request<Body>| {
            let svc = stacks[slot].load().service.clone();
            svc.oneshot(req)
        }))
    }

    /// Re-reads and rebuilds the config; on any error the old stack keeps serving.
    pub async fn reload(&self, source: &Source) -> bool {
        let workers = self.stacks.len();
        match load(source, &self.backends, &self.metrics, |_| workers).await {
            Ok((config, built)) => {
                for key in self.running.changed_keys(&config.server) {
                    tracing::warn!(
                        key,
                        "{key} differs from the running value: it takes effect on restart"
                    );
                }
                let routes = built.first().map_or(0, |b| b.rows.len());
                for (slot, built) in self.stacks.iter().zip(built) {
                    slot.store(Arc::new(built));
                }
                self.config.store(Arc::new(config));
                self.metrics.reload_applied();
                tracing::info!(routes, "config reloaded");
                true
            }
            Err(errors) => {
                self.metrics.reload_rejected();
                for e in &errors {
                    tracing::error!(error = %e, "config reload rejected; the previous config keeps serving");
                }
                false
            }
        }
    }
}

// === reload triggers ===

/// Reloads `source` on every SIGHUP (on Unix; elsewhere returns at once).
///
/// The handler is installed when this is called, not when the returned future first
/// runs, so a SIGHUP sent right after `ready` reloads instead of killing the process.
pub fn reload_on_hangup(live: Live, source: Source) -> impl std::future::Future<Output = ()> {
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

/// Reloads `source` when the modification time or length of its file changes (polled
/// every second, which needs no platform watcher). Returns at once for the embedded
/// config.
pub async fn reload_on_change(live: Live, source: Source) {
    let Some(path) = source.path().map(Path::to_owned) else {
        return;
    };
    let stamp = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().ok(), m.len()))
    };
    let mut last = stamp(&path);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = stamp(&path);
        if now != last {
            last = now;
            tracing::info!(file = %path.display(), "config file changed: reloading");
            live.reload(&source).await;
        }
    }
}

/// Reads, validates and builds `copies(&config)` identical stacks.
async fn load(
    source: &Source,
    backends: &Backends,
    metrics: &Metrics,
    copies: impl FnOnce(&Config) -> usize,
) -> Result<(Config, Vec<Built>), ConfigErrors> {
    let config = source.load()?;
    let builtins = backends
        .ensure(&config)
        .await
        .map_err(|e| ConfigError::file(format!("cannot start built-in backends: {e}")))?;
    let built = (0..copies(&config))
        .map(|_| build(&config, &builtins, metrics))
        .collect::<Result<_, _>>()?;
    Ok((config, built))
}
