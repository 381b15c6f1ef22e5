//! The members of a balanced set and what every worker knows of them
//! ([`BalanceHealth`]): a fixed list of upstreams, or addresses that DNS discovery
//! replaces while requests run.

use std::{net::SocketAddr, sync::Arc};

use parking_lot::RwLock;
use tokio::time::Instant;

use super::endpoint::EndpointShared;

/// One member of a balanced set: the upstream (its position in the route's list)
/// and, when discovery found it, the address it connects to (`None`: the upstream's
/// host, resolved at connect time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Member {
    /// The upstream's position in the route's list.
    pub upstream: usize,
    /// The address connected to, when discovered.
    pub addr: Option<SocketAddr>,
}

impl Member {
    /// Upstream number `upstream`, its host resolved at connect time.
    #[must_use]
    pub const fn upstream(upstream: usize) -> Self {
        Self {
            upstream,
            addr: None,
        }
    }

    /// Upstream number `upstream` at the discovered `addr`.
    #[must_use]
    pub const fn discovered(upstream: usize, addr: SocketAddr) -> Self {
        Self {
            upstream,
            addr: Some(addr),
        }
    }
}

/// The members at one moment, each with its shared health; `version` grows with
/// every change.
#[derive(Debug)]
pub(super) struct Snapshot {
    pub(super) version: u64,
    pub(super) members: Vec<(Member, Arc<EndpointShared>)>,
}

/// The health and load of a balanced route's members (consecutive connect failures,
/// ejections, health-check verdicts, requests in flight), to share between
/// [`Balanced`](super::Balanced) services built separately, such as each worker's
/// stack of one route. Cloning shares it.
///
/// Its members start as one per upstream; [`BalanceHealth::set_members`] replaces
/// them (DNS discovery), keeping the health of the members that stay.
#[derive(Clone, Debug)]
pub struct BalanceHealth {
    set: Arc<RwLock<Arc<Snapshot>>>,
}

impl BalanceHealth {
    /// Fresh health for `addresses` upstreams: none failed, none ejected, all
    /// healthy.
    #[must_use]
    pub fn new(addresses: usize) -> Self {
        let members = (0..addresses)
            .map(|i| (Member::upstream(i), Arc::new(EndpointShared::new())))
            .collect();
        Self {
            set: Arc::new(RwLock::new(Arc::new(Snapshot {
                version: 0,
                members,
            }))),
        }
    }

    pub(super) fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.set.read())
    }

    /// The current members, in order.
    #[must_use]
    pub fn members(&self) -> Vec<Member> {
        self.snapshot().members.iter().map(|(m, _)| *m).collect()
    }

    /// Replaces the members with `members` (duplicates dropped), keeping the health
    /// and load of those that stay; new ones start healthy. Whether the set changed.
    /// Requests in flight to a member that left finish on it.
    pub fn set_members(&self, mut members: Vec<Member>) -> bool {
        members.sort_unstable();
        members.dedup();
        let mut set = self.set.write();
        let mut current: Vec<Member> = set.members.iter().map(|(m, _)| *m).collect();
        current.sort_unstable();
        if current == members {
            return false;
        }
        let next = members
            .into_iter()
            .map(|m| {
                let kept = set.members.iter().find(|(old, _)| *old == m);
                let shared =
                    kept.map_or_else(|| Arc::new(EndpointShared::new()), |(_, s)| Arc::clone(s));
                (m, shared)
            })
            .collect();
        *set = Arc::new(Snapshot {
            version: set.version + 1,
            members: next,
        });
        true
    }

    /// How many members are currently ejected.
    #[must_use]
    pub fn ejected(&self) -> usize {
        let now = Instant::now();
        let set = self.snapshot();
        set.members
            .iter()
            .filter(|(_, e)| e.ejected_at(now))
            .count()
    }

    /// How many members there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.set.read().members.len()
    }

    /// Whether there are no members.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the health checks let upstream number `index` (its host resolved at
    /// connect time) take traffic; see [`BalanceHealth::is_member_healthy`].
    #[must_use]
    pub fn is_healthy(&self, index: usize) -> bool {
        self.is_member_healthy(Member::upstream(index))
    }

    /// Records the health checks' verdict on upstream number `index`; see
    /// [`BalanceHealth::set_member_healthy`].
    pub fn set_healthy(&self, index: usize, healthy: bool) -> bool {
        self.set_member_healthy(Member::upstream(index), healthy)
    }

    /// Whether the health checks let `member` take traffic (`true` for a member that
    /// was never checked, or is not in the set).
    #[must_use]
    pub fn is_member_healthy(&self, member: Member) -> bool {
        let set = self.snapshot();
        set.members
            .iter()
            .find(|(m, _)| *m == member)
            .is_none_or(|(_, e)| e.healthy())
    }

    /// Records the health checks' verdict on `member`; whether it changed (a member
    /// not in the set changes nothing). An unhealthy member takes no traffic while
    /// another member is healthy (and not ejected).
    pub fn set_member_healthy(&self, member: Member, healthy: bool) -> bool {
        let set = self.snapshot();
        set.members
            .iter()
            .find(|(m, _)| *m == member)
            .is_some_and(|(_, e)| e.set_healthy(healthy))
    }

    /// How many members the health checks found unhealthy.
    #[must_use]
    pub fn unhealthy(&self) -> usize {
        let set = self.snapshot();
        set.members.iter().filter(|(_, e)| !e.healthy()).count()
    }

    /// Whether `self` and `other` are the same shared health.
    #[must_use]
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.set, &other.set)
    }
}
