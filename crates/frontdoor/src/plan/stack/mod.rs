//! A plan's stack, built per worker: the resolver over the router, each route's
//! service in the plan's one order ([`target`]), over the plan's shared state.
//!
//! ```text
//! Resolve (forwarded headers from trusted proxies only; by-scheme labels)
//!   -> Router (first match wins; fallback: [default], else [not_found])
//!     -> per route: see `target`
//! ```

mod client;
mod discovered;
mod options;
#[cfg(test)]
mod rate_limit_tests;
mod service;
mod table;
mod target;

use frontdoor_core::{CanonicalOptions, Schemes};
use frontdoor_resolve::{ByScheme, ForwardedResolver, ResolveLayer};
use frontdoor_route::{RouteOptions, RouteSpec, Router, RouterBuilder, Table};
use http::Response;
use tower::{util::BoxCloneSyncService, ServiceBuilder};

pub(crate) use self::client::{probe_client, tls_config};
pub(crate) use self::table::render;
pub use self::{
    options::{Observer, Options, RouteService},
    table::Row,
};
use super::{
    checked::{Checked, Route, Target},
    error::{PlanError, PlanErrors},
    state::{SharedState, TargetState},
};
use crate::telemetry::{OtlpExporter, RequestIdLayer, TraceContextLayer};
use frontdoor_core::Body;

/// One worker's stack: the service and its route table.
#[derive(Clone)]
pub(super) struct Stack {
    pub(super) service: RouteService,
    pub(super) rows: Vec<Row>,
}

/// Builds a stack of `checked` over `state` (built for it).
pub(super) fn build(
    checked: &Checked,
    state: &SharedState,
    options: &Options,
    exporter: Option<&OtlpExporter>,
) -> Result<Stack, PlanErrors> {
    let mut errors = Vec::new();
    let mut table = RouteTable::new(checked, state, options, exporter);
    for (position, route) in checked.routes.iter().enumerate() {
        table.route(route, state.route(position), &mut errors);
    }
    match &checked.default {
        Some(target) => table.default(target, state.default_target(), &mut errors),
        None => table.not_found(),
    }
    let (router, rows) = table.build(&mut errors);
    let resolve = resolve_layer(checked, state)
        .map_err(|message| errors.push(PlanError::new(None, "server.server_name", message)))
        .ok();
    match (router, resolve, errors.is_empty()) {
        (Some(router), Some(resolve), true) => {
            let settings = &checked.settings;
            let request_id = settings.request_id.clone().map(|header| {
                RequestIdLayer::new()
                    .header(header)
                    .trust_all(settings.trust_request_id)
            });
            let trace = TraceContextLayer::new()
                .trust_client(settings.trust_client_trace)
                .sample_ratio(settings.sample_ratio)
                .exporter(exporter.cloned());
            let service = ServiceBuilder::new()
                .map_response(|res: Response<_>| res.map(Body::new))
                .layer(resolve)
                .option_layer(request_id)
                .layer(trace)
                .service(router);
            Ok(Stack {
                service: BoxCloneSyncService::new(service),
                rows,
            })
        }
        _ => Err(PlanErrors::from_vec(errors)),
    }
}

// === RouteTable ===

/// The router being built, its rows, and which route each builder route is.
struct RouteTable<'a> {
    checked: &'a Checked,
    state: &'a SharedState,
    options: &'a Options,
    exporter: Option<&'a OtlpExporter>,
    router: RouterBuilder,
    rows: Vec<Row>,
    /// The route of each route added to `router`, in order (routes with a bad spec
    /// are left out).
    added: Vec<&'a Route>,
}

impl<'a> RouteTable<'a> {
    fn new(
        checked: &'a Checked,
        state: &'a SharedState,
        options: &'a Options,
        exporter: Option<&'a OtlpExporter>,
    ) -> Self {
        Self {
            checked,
            state,
            options,
            exporter,
            router: Router::builder()
                .mode(checked.compat.mode())
                .schemes(checked.resolve.schemes.clone()),
            rows: Vec::new(),
            added: Vec::new(),
        }
    }

    fn target(
        &self,
        target: &Target,
        shared: Option<&TargetState>,
        (label, spec): (&str, Option<String>),
    ) -> Result<(target::Built, String), target::Problem> {
        let shared = shared.ok_or((
            "upstream",
            "the shared state was built for another plan".to_owned(),
        ))?;
        let built = target::build(
            target,
            shared,
            (label.into(), spec.map(Into::into)),
            self.checked,
            self.options,
            (self.state.budget(), self.exporter),
        )?;
        Ok((built, target::mirror_text(shared)))
    }

    /// Adds `route`, or records why it cannot be: a bad spec leaves it out; a bad
    /// target adds it with a stand-in service so later duplicates are still found.
    fn route(
        &mut self,
        route: &'a Route,
        shared: Option<&TargetState>,
        errors: &mut Vec<PlanError>,
    ) {
        let path = format!("route[{}]", route.index);
        let spec = route.matcher.route_spec();
        if let Err(message) = check_spec(&spec, self.checked) {
            errors.push(PlanError::new(
                None,
                format!("{path}.{}", route.matcher.key()),
                message,
            ));
            return;
        }
        let label = route.label();
        let router = std::mem::take(&mut self.router);
        self.router = match self.target(
            &route.target,
            shared,
            (&label, Some(route.matcher.to_string())),
        ) {
            Ok((built, mirror)) => {
                self.rows.push(Row {
                    index: route.index.to_string(),
                    name: label,
                    matcher: route.matcher.to_string(),
                    upstream: built.upstream,
                    relocate: route.target.relocate.to_string(),
                    filter: target::filter_text(&route.target),
                    mirror,
                });
                let options = RouteOptions::new().prefix(route.target.prefix);
                let options = match built.filter {
                    Some(f) => options.filter(f),
                    None => options,
                };
                router.route_with_options(spec, built.service, options)
            }
            Err((key, message)) => {
                errors.push(PlanError::new(None, format!("{path}.{key}"), message));
                router.route(spec, target::not_found(self.checked))
            }
        };
        self.added.push(route);
    }

    /// Sends misses to `target`.
    fn default(
        &mut self,
        target: &Target,
        shared: Option<&TargetState>,
        errors: &mut Vec<PlanError>,
    ) {
        match self.target(target, shared, ("default", None)) {
            Ok((built, mirror)) => {
                self.rows.push(Row {
                    index: "-".into(),
                    name: "default".into(),
                    matcher: "(default)".into(),
                    upstream: built.upstream,
                    relocate: target.relocate.to_string(),
                    filter: target::filter_text(target),
                    mirror,
                });
                let router = std::mem::take(&mut self.router).fallback(built.service);
                self.router = match built.filter {
                    Some(f) => router.fallback_filter(f),
                    None => router,
                };
            }
            Err((key, message)) => {
                errors.push(PlanError::new(None, format!("default.{key}"), message));
            }
        }
    }

    /// Answers misses with `[not_found]`.
    fn not_found(&mut self) {
        let not_found = &self.checked.not_found;
        self.rows.push(Row {
            index: "-".into(),
            name: "not_found".into(),
            matcher: "(not found)".into(),
            upstream: format!("{} {:?}", not_found.status.as_u16(), not_found.body),
            relocate: "none".into(),
            filter: "-".into(),
            mirror: "-".into(),
        });
        let router = std::mem::take(&mut self.router);
        self.router = router.fallback(target::not_found(self.checked));
    }

    /// Builds the router once; a duplicate spec (or a table too large) is recorded.
    fn build(self, errors: &mut Vec<PlanError>) -> (Option<Router>, Vec<Row>) {
        match self.router.build() {
            Ok(router) => (Some(router), self.rows),
            Err(e) => {
                let route = e.index().and_then(|i| self.added.get(i));
                errors.push(PlanError::new(
                    None,
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
fn check_spec(spec: &RouteSpec, checked: &Checked) -> Result<(), String> {
    Table::compile(
        [spec.clone()],
        checked.compat.mode(),
        &checked.resolve.schemes,
    )
    .map(drop)
    .map_err(|e| format!("{}: {:?}", e.reason(), e.spec()))
}

type Resolver = ByScheme<ForwardedResolver>;

/// The resolver layer, warning about malformed forwarding headers through `state`'s
/// warnings (one per peer per minute over every worker).
fn resolve_layer(checked: &Checked, state: &SharedState) -> Result<ResolveLayer<Resolver>, String> {
    let mut resolver = ForwardedResolver::new(checked.resolve.trusted_proxies.iter().copied())
        .warnings(state.forwarding_warnings().clone());
    if let Some(name) = &checked.settings.server_name {
        resolver = resolver.try_server_name(name).map_err(|e| e.to_string())?;
    }
    // Without a [resolve] schemes table, labels are not stamped (regex specs see the
    // numeric port); route specs may still use the default http/https labels.
    let schemes = if checked.resolve.by_scheme {
        checked.resolve.schemes.clone()
    } else {
        Schemes::empty()
    };
    let by_scheme = checked
        .resolve
        .listener_labels
        .iter()
        .fold(ByScheme::new(resolver, schemes), |by, (addr, label)| {
            by.listener(*addr, label)
        });
    let canonical = CanonicalOptions::new().encoded_slash(checked.settings.escaped_slashes);
    Ok(ResolveLayer::new(by_scheme).canonical_options(canonical))
}
