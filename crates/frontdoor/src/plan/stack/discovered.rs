//! The upstreams of a target's discovered addresses: each worker's balancer builds
//! one per address (its own pool), as the route's upstream is built, connecting to
//! the address while the name stays in `Host` and TLS SNI, under the address's
//! connection cap (shared by every worker).

use std::sync::Arc;

use frontdoor_upstream::{Forwarding, Member, MemberFactory};

use super::{
    client::{base_url, route_builder, ClientTls},
    options::Options,
};
use crate::plan::{checked::Target, state::TargetState};

/// The factory of the target's discovered upstreams, when it has `discovery`.
pub(super) fn factory(
    target: &Target,
    shared: &TargetState,
    forwarding: &Forwarding,
    options: &Options,
    client_tls: Option<&ClientTls>,
) -> Option<MemberFactory> {
    target.discovery?;
    let bases: Vec<String> = target
        .upstreams
        .iter()
        .map(|addr| base_url(addr, options))
        .collect();
    let (target, forwarding) = (target.clone(), forwarding.clone());
    let tls = client_tls.cloned();
    let caps = Arc::clone(shared.member_caps());
    let splice = options.splice_bodies;
    Some(Arc::new(move |member: Member| {
        // Members come from the target's own upstreams: an index out of range (none
        // is) leaves an empty URL, which the build rejects.
        let base = bases.get(member.upstream).map_or("", String::as_str);
        let mut builder =
            route_builder(&target, &forwarding, base, tls.as_ref()).splice_bodies(splice);
        if let Some(addr) = member.addr {
            builder = builder.connect_to(addr);
        }
        if let Some(cap) = caps.cap(member) {
            builder = builder.connection_cap(cap);
        }
        builder.build()
    }))
}
