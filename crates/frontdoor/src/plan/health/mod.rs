//! Active health checks: one task per upstream address of each target with a
//! `health_check`, shared by every worker (not one per worker), recording its
//! verdicts in the target's shared balancer health.
//!
//! * **When they run**: the tasks need a tokio runtime. A plan built inside one
//!   ([`Plan::new`](super::Plan::new) and friends called from a task, as the binary
//!   does) starts them when it is built; one built outside starts them on its first
//!   [`Plan::service`](super::Plan::service) call made inside a runtime. They belong
//!   to the target's [`TargetState`]: a reload that keeps the target keeps them (and
//!   their verdicts), and they stop when the state is dropped.
//! * **What a check is**: a `GET` of `path` at the address's origin, with the
//!   upstream's `Host` (the route's fixed `host` when it has one), over TLS with the
//!   target's `tls` for `https` upstreams, within `timeout` (to the end of the body),
//!   every `interval` give or take a tenth. It passes on a status in `status` (any
//!   2xx or 3xx by default).
//! * **Verdicts**: every address starts healthy; `unhealthy` failures in a row take
//!   it out of the balancer's set, `healthy` passes in a row bring it back at once.
//!   Each change is logged at info and reported to the [`Observer`]. When every
//!   address is unhealthy, requests go to all of them (fail open, logged at warn). A
//!   target with one upstream is checked and reported the same way, but its only
//!   address always takes the traffic.
//! * **Discovered addresses** (`discovery`): each address found is checked on its
//!   own, from when it is found until it is gone.

mod probe;
#[cfg(test)]
mod tls_tests;

use std::{fmt::Write as _, sync::Arc};

use http::Uri;

use frontdoor_upstream::{BalanceHealth, Member};

use self::probe::Probe;
use super::{
    checked::{Checked, HealthCheckSettings, Target, UpstreamAddr},
    stack::{probe_client, Options},
    state::{Probes, SharedState, TargetState},
};

/// One upstream address's health, as the admin `/routes` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthRow {
    /// The route's label (its name, `route[N]` or `default`).
    pub route: String,
    /// The upstream address as configured.
    pub upstream: String,
    /// Whether its health checks let it take traffic.
    pub healthy: bool,
}

/// Starts the health checks of every target of `checked` (whose shared state is
/// `state`) that has them and whose checks are not running yet; nothing outside a
/// tokio runtime. See the [module docs](self).
pub(super) fn start(checked: &Checked, state: &SharedState, options: &Options) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    for (label, target, shared) in targets(checked, state) {
        if let Some(checker) = Checker::of(&label, target, shared, options) {
            if !shared.probes().started() {
                checker.sync();
            }
        }
    }
}

/// What starts the health checks of one target's members: held by its discovery
/// task, which syncs them when the members change.
pub(super) struct Checker {
    route: Arc<str>,
    target: Target,
    settings: Arc<HealthCheckSettings>,
    health: BalanceHealth,
    probes: Arc<Probes>,
    options: Options,
}

impl Checker {
    /// The checker of the target labelled `label`, when it has health checks.
    pub(super) fn of(
        label: &str,
        target: &Target,
        shared: &TargetState,
        options: &Options,
    ) -> Option<Self> {
        Some(Self {
            route: label.into(),
            settings: Arc::new(target.health_check.clone()?),
            health: shared.balance_health()?.clone(),
            target: target.clone(),
            probes: Arc::clone(shared.probes()),
            options: options.clone(),
        })
    }

    /// Runs one checker per current member (inside a tokio runtime): starts those of
    /// new members, stops those of members gone.
    pub(super) fn sync(&self) {
        let members = self.health.members();
        let stopped = self.probes.sync(&members, |member| {
            let addr = self.target.upstreams.get(member.upstream)?;
            let client = probe_client(&self.target, addr, member.addr, &self.options)
                .map_err(|(key, message)| {
                    tracing::warn!(route = %self.route, key, message, "health checks not started");
                })
                .ok()?;
            let path = Uri::from(self.settings.path.clone());
            let probe = Probe {
                route: Arc::clone(&self.route),
                upstream: member_label(addr, member).into(),
                member,
                health: self.health.clone(),
                settings: (*self.settings).clone(),
                observer: self.options.observer.clone(),
            };
            let settings = Arc::clone(&self.settings);
            Some(tokio::spawn(probe.run(move || {
                probe::check(client.clone(), path.clone(), Arc::clone(&settings))
            })))
        });
        let observer = self.options.observer.as_ref();
        for member in stopped {
            let addr = self.target.upstreams.get(member.upstream);
            if let (Some(observer), Some(addr)) = (observer, addr) {
                observer.upstream_gone(&self.route, &member_label(addr, member));
            }
        }
    }
}

/// A member as metrics and `/routes` name it: the upstream as configured, with the
/// discovered address after it.
pub(super) fn member_label(addr: &UpstreamAddr, member: Member) -> String {
    match member.addr {
        None => addr.to_string(),
        Some(found) => format!("{addr} ({found})"),
    }
}

/// The health of every checked address, routes in order, then the default's.
pub(super) fn rows(checked: &Checked, state: &SharedState) -> Vec<HealthRow> {
    let mut rows = Vec::new();
    for (route, target, shared) in targets(checked, state) {
        let Some(health) = shared
            .balance_health()
            .filter(|_| target.health_check.is_some())
        else {
            continue;
        };
        for member in health.members() {
            let Some(addr) = target.upstreams.get(member.upstream) else {
                continue;
            };
            rows.push(HealthRow {
                route: route.clone(),
                upstream: member_label(addr, member),
                healthy: health.is_member_healthy(member),
            });
        }
    }
    rows
}

/// Every target with its label and shared state.
pub(super) fn targets<'a>(
    checked: &'a Checked,
    state: &'a SharedState,
) -> impl Iterator<Item = (String, &'a Target, &'a TargetState)> {
    let routes = checked
        .routes
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((r.label(), &r.target, state.route(i)?)));
    let default = checked
        .default
        .as_ref()
        .zip(state.default_target())
        .map(|(t, s)| ("default".to_owned(), t, s));
    routes.chain(default)
}

/// `rows` as aligned text under a header line (`route upstream health`), without a
/// final newline; empty without rows.
#[must_use]
pub fn render_health(rows: &[HealthRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let width = |f: fn(&HealthRow) -> usize, header: &str| {
        rows.iter().map(f).max().unwrap_or(0).max(header.len())
    };
    let route_w = width(|r| r.route.len(), "route");
    let upstream_w = width(|r| r.upstream.len(), "upstream");
    let mut out = format!("{:<route_w$}  {:<upstream_w$}  health", "route", "upstream");
    for row in rows {
        let state = if row.healthy { "healthy" } else { "unhealthy" };
        let _ = write!(
            out,
            "\n{:<route_w$}  {:<upstream_w$}  {state}",
            row.route, row.upstream
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::plan::{Description, HealthCheck, Plan, Route};

    fn description(interval: &str) -> Description {
        Description::new().route(
            Route::new("::/", "http://127.0.0.1:9")
                .health_check(HealthCheck::new("/healthz").interval(interval)),
        )
    }

    /// Outside a runtime nothing starts; the first `service()` inside one starts the
    /// checks; a reload that keeps the route keeps them, one that changes it starts
    /// new ones.
    #[test]
    fn checks_start_with_a_runtime_and_follow_reloads() {
        let plan = Plan::new(&description("1h")).unwrap();
        let state = || plan.state().route(0).unwrap();
        assert!(!state().probes().started());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            drop(plan.service());
            assert!(state().probes().started());
            let kept = plan
                .reload(description("1h").check().unwrap(), plan.options().clone())
                .unwrap();
            assert!(kept.state().route(0).unwrap().shares_parts(state()));
            let changed = plan
                .reload(description("2h").check().unwrap(), plan.options().clone())
                .unwrap();
            let fresh = changed.state().route(0).unwrap();
            assert!(!fresh.shares_parts(state()));
            assert!(fresh.probes().started(), "built inside a runtime: started");
            let rows = changed.upstream_health();
            assert_eq!(rows.len(), 1);
            assert_eq!(
                (rows[0].route.as_str(), rows[0].healthy),
                ("route[0]", true)
            );
            assert_eq!(
                super::render_health(&rows),
                "route     upstream             health\nroute[0]  http://127.0.0.1:9/  healthy"
            );
        });
    }
}
