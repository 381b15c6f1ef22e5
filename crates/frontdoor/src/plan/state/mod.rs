//! The shared state of a plan: what every worker's stack shares and a checked
//! description does not hold.
//!
//! Per target (each route's and the default's): the semaphore behind `max_in_flight`,
//! the limiter behind `rate_limit` (its key table), the connection caps behind
//! `upstream_max_connections` (one per upstream), the mirror layer built from
//! `mirror = { .. }` (its shadow pool, in-flight bound and counters), for several
//! upstreams (or a `health_check`) their balancer's health (failures, ejections,
//! health-check verdicts, load), and the health-check tasks (one per upstream
//! address, stopped when the state is dropped). Server-wide: the [`BufferBudget`]
//! behind `request_buffer_total`, and the [`ForwardingWarnings`] every worker's
//! resolver warns through (a trusted proxy's malformed forwarding header, once per
//! peer per minute over all workers).
//!
//! A [`SharedState`] is built once per [`Plan`](super::Plan), before the workers'
//! stacks, and every worker's stack shares it, so a limit counts over all workers.
//!
//! # Reloads
//!
//! [`SharedState::reload`] builds the new state from the new description and the old
//! state. A target keeps its old parts (so requests in flight keep counting against
//! its limit, and its mirror keeps its pool and bound) when
//!
//! - its identity is the same: a route is identified by its matcher text (its `spec`,
//!   or its `regex`, with which key), not its index, which an inserted route would
//!   shift; the default by being the default; and
//! - its whole validated description ([`Target`]) compares equal, and so do the
//!   `[server]` forwarding settings its upstreams and shadow write (`via`,
//!   `via_responses`, `forwarded`).
//!
//! A kept target keeps its health checks running, with their verdicts. Any other target
//! starts fresh: a full semaphore, an empty rate limit key table, new caps, a new
//! mirror layer, new health checks with every address healthy (the old ones stop when
//! the old state is dropped).
//! Requests in flight on the old parts keep their permits, which are released to the
//! old semaphore as they finish and dropped with it; they never count against the new
//! one. The buffer budget is kept when `request_buffer_total` is unchanged; the
//! forwarding warnings always are.

use std::{collections::HashMap, sync::Arc};

use frontdoor_mirror::MirrorLayer;
use frontdoor_resolve::ForwardingWarnings;
use frontdoor_upstream::{BalanceHealth, BufferBudget, ConnectionCap, Forwarding};
use tokio::sync::Semaphore;

use crate::rate_limit::RateLimitLayer;

pub use self::probes::{MemberCaps, Probes, Task};
use super::{
    checked::{Checked, Matcher, Settings, Target},
    error::{PlanError, PlanErrors},
};

/// The state every worker's stack shares, built once per plan. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct SharedState {
    /// One per `[[route]]`, in the config's order.
    routes: Vec<TargetState>,
    /// The default's, when there is one.
    default: Option<TargetState>,
    /// `request_buffer_total`'s budget.
    budget: Arc<BufferBudget>,
    /// The `request_buffer_total` the budget was made for.
    request_buffer_total: u64,
    /// The peers warned about for malformed forwarding headers.
    forwarding_warnings: ForwardingWarnings,
}

/// The running parts of one target, shared (cheaply cloned) by every worker's stack.
#[derive(Clone, Debug)]
pub struct TargetState {
    parts: Arc<Parts>,
}

/// What a target's state was made from, and what it is.
#[derive(Debug)]
struct Parts {
    /// Which target the parts are for.
    id: TargetId,
    /// The description the parts were made for, compared on reload.
    target: Target,
    /// The `[server]` forwarding settings the mirror's shadow writes.
    forwarding: ForwardingKey,
    /// `max_in_flight`'s permits, when it is set.
    in_flight: Option<Arc<Semaphore>>,
    /// `rate_limit`'s limiter (its key table), when it is set.
    rate_limit: Option<RateLimitLayer>,
    /// One connection cap per upstream (in `upstreams` order), when it is set.
    connection_caps: Vec<ConnectionCap>,
    /// The mirror layer, when the target mirrors.
    mirror: Option<MirrorLayer>,
    /// The health and load of its addresses, when it balances over several or
    /// checks its health.
    balance: Option<BalanceHealth>,
    /// Its health checks, when it has them (started by the plan).
    probes: Arc<Probes>,
    /// Its DNS discovery, when it has it (started by the plan).
    discovery: Task,
    /// The connection caps of its discovered addresses.
    member_caps: Arc<MemberCaps>,
}

/// How a target is recognised across a reload.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum TargetId {
    /// A route, by its matcher text.
    Route(Matcher),
    /// The default.
    Default,
}

/// The `[server]` keys behind [`Settings::forwarding`].
#[derive(Clone, Debug, PartialEq, Eq)]
struct ForwardingKey {
    via: Option<String>,
    via_responses: bool,
    forwarded: bool,
}

impl ForwardingKey {
    fn of(server: &Settings) -> Self {
        Self {
            via: server.via.clone(),
            via_responses: server.via_responses,
            forwarded: server.forwarded,
        }
    }
}

// === impl SharedState ===

impl SharedState {
    /// A fresh state for `config`: every target's parts new.
    ///
    /// # Errors
    ///
    /// When a mirror's shadow cannot be built (not expected of a validated config),
    /// naming its key.
    pub fn new(config: &Checked) -> Result<Self, PlanErrors> {
        Self::make(config, None)
    }

    /// The state for `config`, a reload of the config `previous` was built for: the
    /// targets that did not change keep their parts (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// As [`SharedState::new`].
    pub fn reload(config: &Checked, previous: &Self) -> Result<Self, PlanErrors> {
        Self::make(config, Some(previous))
    }

    /// The state of `config.routes[index]`, for the config the state was built for.
    #[must_use]
    pub fn route(&self, index: usize) -> Option<&TargetState> {
        self.routes.get(index)
    }

    /// The default's state, when the config has a default.
    #[must_use]
    pub const fn default_target(&self) -> Option<&TargetState> {
        self.default.as_ref()
    }

    /// The budget of all buffered request bodies (`request_buffer_total`).
    #[must_use]
    pub fn budget(&self) -> &BufferBudget {
        &self.budget
    }

    /// The warnings about trusted proxies' malformed forwarding headers, shared by
    /// every worker's resolver and kept by every reload.
    #[must_use]
    pub const fn forwarding_warnings(&self) -> &ForwardingWarnings {
        &self.forwarding_warnings
    }

    /// Whether `self` and `other` share one buffer budget (a reload kept it).
    #[must_use]
    pub fn shares_budget(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.budget, &other.budget)
    }

    fn make(config: &Checked, previous: Option<&Self>) -> Result<Self, PlanErrors> {
        let forwarding = config
            .settings
            .forwarding()
            .map_err(|e| PlanError::new(None, "server.via", e.message()))?;
        let key = ForwardingKey::of(&config.settings);
        let old = previous.map(Self::by_id).unwrap_or_default();
        let mut errors = Vec::new();
        let mut next = |id: TargetId, target: &Target, path: String| {
            let old = old.get(&id).copied();
            TargetState::next(old, &id, target, &key, &forwarding).unwrap_or_else(|(k, message)| {
                errors.push(PlanError::new(None, format!("{path}.mirror.{k}"), message));
                TargetState::fresh(id, target, &key, None)
            })
        };
        let routes = config
            .routes
            .iter()
            .map(|r| {
                let id = TargetId::Route(r.matcher.clone());
                next(id, &r.target, format!("route[{}]", r.index))
            })
            .collect();
        let default = config
            .default
            .as_ref()
            .map(|t| next(TargetId::Default, t, "default".to_owned()));
        let total = config.settings.request_buffer_total;
        let budget = match previous {
            Some(p) if p.request_buffer_total == total => Arc::clone(&p.budget),
            _ => Arc::new(BufferBudget::new(
                usize::try_from(total).unwrap_or(usize::MAX),
            )),
        };
        if !errors.is_empty() {
            return Err(PlanErrors::from_vec(errors));
        }
        Ok(Self {
            routes,
            default,
            budget,
            request_buffer_total: total,
            forwarding_warnings: previous
                .map_or_else(ForwardingWarnings::new, |p| p.forwarding_warnings.clone()),
        })
    }

    /// Every target's state by its identity (with a matcher twice, which no valid
    /// config has, the first).
    fn by_id(&self) -> HashMap<TargetId, &TargetState> {
        let mut by_id = HashMap::new();
        for t in self.routes.iter().chain(&self.default) {
            by_id.entry(t.parts.id.clone()).or_insert(t);
        }
        by_id
    }
}

// === impl TargetState ===

impl TargetState {
    /// `old`'s parts when it was made for the same description and forwarding, else
    /// fresh ones.
    fn next(
        old: Option<&Self>,
        id: &TargetId,
        target: &Target,
        key: &ForwardingKey,
        forwarding: &Forwarding,
    ) -> Result<Self, (&'static str, String)> {
        match old {
            Some(old) if old.parts.target == *target && old.parts.forwarding == *key => {
                Ok(old.clone())
            }
            _ => {
                let mirror = target
                    .mirror
                    .as_ref()
                    .map(|m| m.layer(forwarding))
                    .transpose()?;
                Ok(Self::fresh(id.clone(), target, key, mirror))
            }
        }
    }

    fn fresh(
        id: TargetId,
        target: &Target,
        key: &ForwardingKey,
        mirror: Option<MirrorLayer>,
    ) -> Self {
        let in_flight = (target.max_in_flight > 0).then(|| {
            Arc::new(Semaphore::new(
                target.max_in_flight.min(Semaphore::MAX_PERMITS),
            ))
        });
        let connection_caps = if target.upstream_max_connections > 0 {
            target
                .upstreams
                .iter()
                .map(|_| ConnectionCap::new(target.upstream_max_connections))
                .collect()
        } else {
            Vec::new()
        };
        let balance = (target.upstreams.len() > 1
            || target.health_check.is_some()
            || target.discovery.is_some())
        .then(|| BalanceHealth::new(target.upstreams.len()));
        Self {
            parts: Arc::new(Parts {
                id,
                target: target.clone(),
                forwarding: key.clone(),
                in_flight,
                rate_limit: target.rate_limit.as_ref().map(|r| r.layer()),
                connection_caps,
                mirror,
                balance,
                probes: Arc::default(),
                discovery: Task::default(),
                member_caps: Arc::new(MemberCaps::new(target.upstream_max_connections)),
            }),
        }
    }

    /// `max_in_flight`'s permits, when it is set.
    #[must_use]
    pub fn in_flight(&self) -> Option<&Arc<Semaphore>> {
        self.parts.in_flight.as_ref()
    }

    /// `rate_limit`'s limiter, shared by every worker, when it is set.
    #[must_use]
    pub fn rate_limit(&self) -> Option<&RateLimitLayer> {
        self.parts.rate_limit.as_ref()
    }

    /// The connection cap of the target's upstream number `index`, when
    /// `upstream_max_connections` is set.
    #[must_use]
    pub fn connection_cap(&self, index: usize) -> Option<&ConnectionCap> {
        self.parts.connection_caps.get(index)
    }

    /// The mirror layer, when the target mirrors.
    #[must_use]
    pub fn mirror(&self) -> Option<&MirrorLayer> {
        self.parts.mirror.as_ref()
    }

    /// The health (failures, ejections, health-check verdicts) and load of the
    /// target's addresses, shared by every worker's balancer, when it balances over
    /// several or checks their health.
    #[must_use]
    pub fn balance_health(&self) -> Option<&BalanceHealth> {
        self.parts.balance.as_ref()
    }

    /// The target's health-check tasks (none started without `health_check`).
    #[must_use]
    pub fn probes(&self) -> &Arc<Probes> {
        &self.parts.probes
    }

    /// The target's DNS discovery task (not started without `discovery`).
    #[must_use]
    pub fn discovery(&self) -> &Task {
        &self.parts.discovery
    }

    /// The connection caps of the target's discovered addresses.
    #[must_use]
    pub fn member_caps(&self) -> &Arc<MemberCaps> {
        &self.parts.member_caps
    }

    /// Whether `self` and `other` are the same parts (a reload kept them).
    #[must_use]
    pub fn shares_parts(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.parts, &other.parts)
    }
}

mod probes;
#[cfg(test)]
mod tests;
