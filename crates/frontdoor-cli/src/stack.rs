//! The front door a config describes: the plan built from the config's checked
//! description ([`frontdoor::plan::Plan`]), and each worker's stack from it, with the
//! access log and metrics of [`ops`](crate::ops) around it.
//!
//! ```text
//! Observe (access log, metrics)
//!   -> the plan's stack: resolve -> router -> per route (frontdoor::plan)
//! ```
//!
//! Building never binds sockets, so `frontdoor check` runs exactly what `serve` runs.
//!
//! # Example
//!
//! ```
//! use frontdoor_cli::{config::Config, ops::Metrics, stack::{self, Builtins}};
//!
//! let config: Config = "[[route]]\nspec = \"::/a\"\nupstream = \"http://127.0.0.1:1\"\n".parse()?;
//! let metrics = Metrics::new();
//! let plan = stack::plan(&config, &Builtins::new(), &metrics, None)?; // once per config
//! let built = stack::Built::new(&plan, &metrics); // once per worker
//! assert_eq!(built.rows.len(), 2); // the route and the miss answer
//! assert!(built.table().starts_with("index  name       spec"));
//! # Ok::<_, frontdoor_cli::config::ConfigErrors>(())
//! ```

use std::{collections::BTreeMap, convert::Infallible, net::SocketAddr, sync::Arc};

use frontdoor::{
    plan::{Located, Options, Plan},
    Body,
};
use http::{Request, Response};
use tower::{util::BoxCloneSyncService, ServiceBuilder};

use crate::{
    config::{Builtin, Config, ConfigErrors},
    ops::{Metrics, ObserveLayer},
};
pub use frontdoor::plan::Row;

/// The erased service type of a worker's whole stack.
pub type Svc = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// Where the built-in demo backends listen.
pub type Builtins = BTreeMap<Builtin, SocketAddr>;

/// The plan of `config`, with the built-in backends at `builtins` (a built-in missing
/// there is sent to a closed port, which is what `check` wants) and `metrics`
/// observing it; on a reload, from `previous`, whose unchanged routes keep their
/// shared state. The TLS listeners are `config`'s `listen_tls`.
///
/// # Errors
///
/// Every problem found, each with its line and key path.
pub fn plan(
    config: &Config,
    builtins: &Builtins,
    metrics: &Metrics,
    previous: Option<&Plan>,
) -> Result<Plan, ConfigErrors> {
    let options = builtins.iter().fold(
        Options::new()
            // The access log and metrics around the plan read no body.
            .splice_bodies(true)
            .tls_ports(config.server.listen_tls.iter().map(SocketAddr::port))
            .observer(Arc::new(metrics.clone())),
        |options, (builtin, addr)| options.builtin(*builtin, *addr),
    );
    let checked = config.plan.clone();
    match previous {
        Some(previous) => previous.reload(checked, options),
        None => Plan::with_options(checked, options),
    }
    .map_err(|e| e.located(&Located::new(config.text())))
}

/// A worker's stack: the service and its route table.
#[derive(Clone)]
#[non_exhaustive]
pub struct Built {
    /// The whole front door: observe, resolve, route, upstreams.
    pub service: Svc,
    /// The route table in match order, then the default (or the miss answer).
    pub rows: Vec<Row>,
}

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Built")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl Built {
    /// A worker's stack of `plan`, observed by `metrics` and the access log.
    #[must_use]
    pub fn new(plan: &Plan, metrics: &Metrics) -> Self {
        let service = ServiceBuilder::new()
            .layer(ObserveLayer::new(metrics.clone()))
            .service(plan.service());
        Self {
            service: BoxCloneSyncService::new(service),
            rows: plan.rows().to_vec(),
        }
    }

    /// The route table as aligned text, in match order.
    #[must_use]
    pub fn table(&self) -> String {
        frontdoor::plan::render_rows(&self.rows)
    }
}
