//! Builds the live service stack from a validated [`Config`].
//!
//! ```text
//! Observe (access log, metrics)
//!   -> Resolve (forwarded headers from trusted proxies only; by-scheme labels)
//!     -> Router (first match wins; fallback: [default], else [not_found])
//!       -> per route: Tag -> [cleanup filter] -> gateway errors -> Upstream | Balanced
//! ```
//!
//! The semaphores, connection caps, mirror layers and buffer budget come from the
//! [`SharedState`] built once for the config, so every worker's stack (one `build`
//! each) counts against the same ones. Building never binds sockets, so `frontdoor check` runs exactly this code. Every
//! problem is collected: each route spec is checked on its own by the route crate's
//! compiler ([`Table::compile`]), so that every bad spec is reported, then the real
//! route table is built once.
//!
//! # Example
//!
//! ```
//! use frontdoor_cli::{build::{build, Builtins}, config::Config, ops::Metrics, state::SharedState};
//!
//! let config: Config = "[[route]]\nspec = \"::/a\"\nupstream = \"http://127.0.0.1:1\"\n".parse()?;
//! let state = SharedState::new(&config)?;
//! let built = build(&config, &state, &Builtins::new(), &Metrics::new())?;
//! assert_eq!(built.rows.len(), 2); // the route and the miss answer
//! assert!(built.table().starts_with("index  spec"));
//! # Ok::<_, frontdoor_cli::config::ConfigErrors>(())
//! ```

mod client;
mod table;
mod target;

use std::{collections::BTreeMap, convert::Infallible, net::SocketAddr};

use frontdoor::Body;
use frontdoor_core::CanonicalOptions;
use frontdoor_resolve::{ByScheme, ForwardedResolver, ResolveLayer};
use frontdoor_route::{Router, RouterBuilder, Table};
use http::{Request, Response};
use tower::{util::BoxCloneSyncService, ServiceBuilder};

pub use self::table::Row;
use crate::{
    config::{Builtin, Config, ConfigError, ConfigErrors, Route, Target, UpstreamAddr},
    ops::{Metrics, ObserveLayer},
    state::{SharedState, TargetState},
};

/// The erased service type of routes and of the whole stack.
pub type Svc = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// Where the built-in demo backends listen.
pub type Builtins = BTreeMap<Builtin, SocketAddr>;

/// A built stack: the service and its route table.
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
    /// The route table as aligned text, in match order.
    #[must_use]
    pub fn table(&self) -> String {
        table::render(&self.rows)
    }
}

/// The built-ins a config uses.
#[must_use]
pub fn builtins_used(config: &Config) -> Vec<Builtin> {
    let mut used: Vec<Builtin> = config
        .routes
        .iter()
        .map(|r| &r.target)
        .chain(config.default.as_ref())
        .flat_map(|t| &t.upstreams)
        .filter_map(|u| match u {
            UpstreamAddr::Builtin(b) => Some(*b),
            UpstreamAddr::Url(_) => None,
        })
        .collect();
    used.sort();
    used.dedup();
    used
}

/// Builds the stack over `state` (built for `config`: its targets' limits, mirrors
/// and buffer budget), with the built-in backends at `builtins` (a built-in missing
/// there is sent to a closed port, which is what `check` wants).
///
/// # Errors
///
/// Every problem found, each with the route's key path and line.
pub fn build(
    config: &Config,
    state: &SharedState,
    builtins: &Builtins,
    metrics: &Metrics,
) -> Result<Built, ConfigErrors> {
    let mut errors = Vec::new();
    let mut table = RouteTable::new(config, state);
    for (position, route) in config.routes.iter().enumerate() {
        table.route(route, state.route(position), builtins, metrics, &mut errors);
    }
    match &config.default {
        Some(target) => table.default(
            target,
            state.default_target(),
            builtins,
            metrics,
            &mut errors,
        ),
        None => table.not_found(),
    }
    let (router, rows) = table.build(&mut errors);
    let resolve = resolve_layer(config)
        .map_err(|message| errors.push(ConfigError::new(None, "server.server_name", message)))
        .ok();
    match (router, resolve, errors.is_empty()) {
        (Some(router), Some(resolve), true) => {
            let service = ServiceBuilder::new()
                .layer(ObserveLayer::new(metrics.clone()))
                .map_response(|res: Response<_>| res.map(Body::new))
                .layer(resolve)
                .service(router);
            Ok(Built {
                service: BoxCloneSyncService::new(service),
                rows,
            })
        }
        _ => Err(ConfigErrors::from_vec(errors)),
    }
}

// === RouteTable ===

/// The router being built, its rows, and which config route each builder route is.
struct RouteTable<'a> {
    config: &'a Config,
    state: &'a SharedState,
    router: RouterBuilder,
    rows: Vec<Row>,
    /// The config route of each route added to `router`, in order (routes with a bad
    /// spec are left out).
    added: Vec<&'a Route>,
}

impl<'a> RouteTable<'a> {
    fn new(config: &'a Config, state: &'a SharedState) -> Self {
        Self {
            config,
            state,
            router: Router::builder()
                .mode(config.compat.mode())
                .schemes(config.resolve.schemes.clone()),
            rows: Vec::new(),
            added: Vec::new(),
        }
    }

    /// Adds `route`, or records why it cannot be: a bad spec leaves it out; a bad
    /// target adds it with a stand-in service so later duplicates are still found.
    fn route(
        &mut self,
        route: &'a Route,
        shared: Option<&TargetState>,
        builtins: &Builtins,
        metrics: &Metrics,
        errors: &mut Vec<ConfigError>,
    ) {
        let path = format!("route[{}]", route.index);
        let error = |key: &str, message: String| {
            ConfigError::new(Some(route.line), format!("{path}.{key}"), message)
        };
        let spec = route.matcher.route_spec();
        if let Err(message) = check_spec(&spec, self.config) {
            errors.push(error(route.matcher.key(), message));
            return;
        }
        let router = std::mem::take(&mut self.router);
        let inputs = target::Inputs {
            config: self.config,
            state: self.state,
            builtins,
            metrics,
        };
        self.router = match target::build(&route.target, shared, path.clone().into(), &inputs) {
            Ok(built) => {
                self.rows.push(Row {
                    index: route.index.to_string(),
                    matcher: route.matcher.to_string(),
                    upstream: built.upstream,
                    relocate: route.target.relocate.to_string(),
                    filter: target::filter_text(&route.target),
                    mirror: target::mirror_text(shared),
                });
                match built.filter {
                    Some(f) => router.route_with_filter(spec, built.service, f),
                    None => router.route(spec, built.service),
                }
            }
            Err((key, message)) => {
                errors.push(error(key, message));
                router.route(spec, target::not_found(self.config))
            }
        };
        self.added.push(route);
    }

    /// Sends misses to `target`.
    fn default(
        &mut self,
        target: &Target,
        shared: Option<&TargetState>,
        builtins: &Builtins,
        metrics: &Metrics,
        errors: &mut Vec<ConfigError>,
    ) {
        let inputs = target::Inputs {
            config: self.config,
            state: self.state,
            builtins,
            metrics,
        };
        match target::build(target, shared, "default".into(), &inputs) {
            Ok(built) => {
                self.rows.push(Row {
                    index: "-".into(),
                    matcher: "(default)".into(),
                    upstream: built.upstream,
                    relocate: target.relocate.to_string(),
                    filter: target::filter_text(target),
                    mirror: target::mirror_text(shared),
                });
                let router = std::mem::take(&mut self.router).fallback(built.service);
                self.router = match built.filter {
                    Some(f) => router.fallback_filter(f),
                    None => router,
                };
            }
            Err((key, message)) => {
                errors.push(ConfigError::new(None, format!("default.{key}"), message));
            }
        }
    }

    /// Answers misses with `[not_found]`.
    fn not_found(&mut self) {
        let not_found = &self.config.not_found;
        self.rows.push(Row {
            index: "-".into(),
            matcher: "(not found)".into(),
            upstream: format!("{} {:?}", not_found.status.as_u16(), not_found.body),
            relocate: "none".into(),
            filter: "-".into(),
            mirror: "-".into(),
        });
        let router = std::mem::take(&mut self.router);
        self.router = router.fallback(target::not_found(self.config));
    }

    /// Builds the router once; a duplicate spec (or a table too large) is recorded.
    fn build(self, errors: &mut Vec<ConfigError>) -> (Option<Router>, Vec<Row>) {
        match self.router.build() {
            Ok(router) => (Some(router), self.rows),
            Err(e) => {
                let route = e.index().and_then(|i| self.added.get(i));
                errors.push(ConfigError::new(
                    route.map(|r| r.line),
                    route.map_or_else(|| "route".to_owned(), |r| format!("route[{}]", r.index)),
                    format!("{}: {:?}", e.reason(), e.spec()),
                ));
                (None, self.rows)
            }
        }
    }
}

/// Checks one spec alone with the route crate's compiler, so that every bad spec is
/// reported (a router build stops at the first).
fn check_spec(spec: &frontdoor_route::RouteSpec, config: &Config) -> Result<(), String> {
    Table::compile(
        [spec.clone()],
        config.compat.mode(),
        &config.resolve.schemes,
    )
    .map(drop)
    .map_err(|e| format!("{}: {:?}", e.reason(), e.spec()))
}

type Resolver = ByScheme<ForwardedResolver>;

fn resolve_layer(config: &Config) -> Result<ResolveLayer<Resolver>, String> {
    let mut resolver = ForwardedResolver::new(config.resolve.trusted_proxies.iter().copied());
    if let Some(name) = &config.server.server_name {
        resolver = resolver.try_server_name(name).map_err(|e| e.to_string())?;
    }
    // Without a [resolve] schemes table, labels are not stamped (regex specs see the
    // numeric port); route specs may still use the default http/https labels.
    let schemes = if config.resolve.by_scheme {
        config.resolve.schemes.clone()
    } else {
        frontdoor_core::Schemes::empty()
    };
    let by_scheme = config
        .resolve
        .listener_labels
        .iter()
        .fold(ByScheme::new(resolver, schemes), |by, (addr, label)| {
            by.listener(*addr, label)
        });
    let canonical = CanonicalOptions::new().encoded_slash(config.server.escaped_slashes);
    Ok(ResolveLayer::new(by_scheme).canonical_options(canonical))
}

#[cfg(test)]
mod tests;
