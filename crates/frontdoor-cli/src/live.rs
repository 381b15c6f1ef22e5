//! The running front door: the current stack behind an atomic swap, the built-in
//! backends, and reloads.

use std::{
    collections::BTreeMap,
    convert::Infallible,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use arc_swap::ArcSwap;
use frontdoor::{demo, serve::Server, Body};
use http::{Request, Response};
use parking_lot::Mutex;
use tower::{util::BoxCloneSyncService, ServiceExt};

use crate::{
    build::{build, builtins_used, Built, Builtins},
    config::{parse, Builtin, Config, ConfigError},
    ops::Metrics,
};

/// Where the config comes from.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    /// The embedded demo.
    Embedded,
    /// A file.
    File(PathBuf),
}

impl Source {
    pub(crate) fn read(&self) -> Result<String, Vec<ConfigError>> {
        match self {
            Self::Embedded => Ok(include_str!("default.toml").to_owned()),
            Self::File(path) => std::fs::read_to_string(path).map_err(|e| {
                vec![ConfigError {
                    line: None,
                    path: String::new(),
                    message: format!("cannot read {}: {e}", path.display()),
                }]
            }),
        }
    }

    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            Self::Embedded => None,
            Self::File(p) => Some(p),
        }
    }
}

/// The built-in backends, started on first use and kept across reloads.
#[derive(Debug, Default)]
pub(crate) struct Backends {
    started: Mutex<BTreeMap<Builtin, SocketAddr>>,
}

impl Backends {
    /// Starts whatever `config` needs that is not running yet.
    pub(crate) async fn ensure(&self, config: &Config) -> std::io::Result<Builtins> {
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
pub(crate) struct Live {
    stacks: Arc<[ArcSwap<Built>]>,
    config: Arc<ArcSwap<Config>>,
    backends: Arc<Backends>,
    metrics: Metrics,
}

impl Live {
    /// Loads, validates and builds the first config, once per worker: `workers`
    /// (the command line) wins over `[server] workers`, which wins over one per core.
    pub(crate) async fn start(
        source: &Source,
        metrics: Metrics,
        workers: Option<usize>,
    ) -> Result<Self, Vec<ConfigError>> {
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
            config: Arc::new(ArcSwap::from_pointee(config)),
            backends,
            metrics,
        })
    }

    /// The number of workers (one stack each).
    pub(crate) fn workers(&self) -> usize {
        self.stacks.len()
    }

    /// The config in force.
    pub(crate) fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    /// The route table in force.
    pub(crate) fn table(&self) -> String {
        self.stacks
            .first()
            .map(|s| s.load().table())
            .unwrap_or_default()
    }

    /// Worker `worker`'s front door service: each request runs on the stack current
    /// when it arrived, so a reload never disturbs requests in flight.
    pub(crate) fn service(
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
    pub(crate) async fn reload(&self, source: &Source) -> bool {
        let workers = self.stacks.len();
        match load(source, &self.backends, &self.metrics, |_| workers).await {
            Ok((config, built)) => {
                let old = self.config.load();
                if old.server.listen != config.server.listen
                    || old.server.admin != config.server.admin
                {
                    tracing::warn!("listen and admin addresses change only on restart; keeping the current listeners");
                }
                let routes = built.first().map_or(0, |b| b.rows.len());
                for (slot, built) in self.stacks.iter().zip(built) {
                    slot.store(Arc::new(built));
                }
                self.config.store(Arc::new(config));
                self.metrics.reload(true);
                tracing::info!(routes, "config reloaded");
                true
            }
            Err(errors) => {
                self.metrics.reload(false);
                for e in &errors {
                    tracing::error!(error = %e, "config reload rejected; the previous config keeps serving");
                }
                false
            }
        }
    }
}

/// Reads, validates and builds `copies(&config)` identical stacks.
async fn load(
    source: &Source,
    backends: &Backends,
    metrics: &Metrics,
    copies: impl FnOnce(&Config) -> usize,
) -> Result<(Config, Vec<Built>), Vec<ConfigError>> {
    let text = source.read()?;
    let config = parse(&text)?;
    let builtins = backends.ensure(&config).await.map_err(|e| {
        vec![ConfigError {
            line: None,
            path: String::new(),
            message: format!("cannot start built-in backends: {e}"),
        }]
    })?;
    let built = (0..copies(&config))
        .map(|_| build(&config, &builtins, metrics))
        .collect::<Result<_, _>>()?;
    Ok((config, built))
}
