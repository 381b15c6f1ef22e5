//! DNS discovery: one task per target with `discovery`, shared by every worker,
//! looking its upstreams' names up again and again and making each address found a
//! member of the target's balanced set.
//!
//! * **When it runs**: as the health checks ([`super::health`]): started with the
//!   plan inside a tokio runtime (else on the first `Plan::service` inside one),
//!   kept by a reload that keeps the target, stopped when its state is dropped.
//! * **Lookups**: `dns = "a"`: the A and AAAA records of the URL's host, each
//!   address on the URL's port (the scheme's default without one); `"srv"`: the SRV
//!   records of the URL's host, each target's addresses on the record's port. The
//!   name servers are `[resolve] dns_servers`, else the system's.
//! * **Changes**: the members are replaced at once; a member that stays keeps its
//!   health, load and connection pools, requests in flight to a member that left
//!   finish on it. A failed or empty lookup keeps the name's last addresses
//!   (logged at warn). Until the first lookup answers, the name is resolved at
//!   connect time, as without discovery.
//! * **Timing**: the next lookup is after the smallest TTL of the records, clamped
//!   to 1 s ..= `refresh` (`refresh` after a failure).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use frontdoor_upstream::{BalanceHealth, Member};
use hickory_resolver::{
    config::{NameServerConfig, NameServerConfigGroup, ResolverConfig},
    name_server::TokioConnectionProvider,
    proto::xfer::Protocol,
    TokioResolver,
};
use http::Uri;

use super::{
    checked::{Checked, DiscoverySettings, DnsRecords, Target, UpstreamAddr},
    health::{targets, Checker},
    stack::Options,
    state::{MemberCaps, SharedState},
};

/// The shortest time between lookups.
const MIN_REFRESH: Duration = Duration::from_secs(1);

/// Starts the discovery of every target of `checked` (whose shared state is `state`)
/// that has it and whose task is not running yet; nothing outside a tokio runtime.
pub(super) fn start(checked: &Checked, state: &SharedState, options: &Options) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    for (label, target, shared) in targets(checked, state) {
        let (Some(settings), Some(health)) = (target.discovery, shared.balance_health()) else {
            continue;
        };
        shared.discovery().start_with(|| {
            let discovering = Discovering {
                route: label.clone().into(),
                names: names(target),
                settings,
                servers: checked.resolve.dns_servers.clone(),
                health: health.clone(),
                caps: Arc::clone(shared.member_caps()),
                checker: Checker::of(&label, target, shared, options),
            };
            tokio::spawn(discovering.run())
        });
    }
}

/// Each upstream's URL (a validated target with discovery has URLs only).
fn names(target: &Target) -> Vec<Uri> {
    target
        .upstreams
        .iter()
        .filter_map(|u| match u {
            UpstreamAddr::Url(uri) => Some(uri.clone()),
            UpstreamAddr::Builtin(_) | UpstreamAddr::Service(_) => None,
        })
        .collect()
}

/// One target's discovery. See the [module docs](self).
struct Discovering {
    route: Arc<str>,
    names: Vec<Uri>,
    settings: DiscoverySettings,
    servers: Vec<SocketAddr>,
    health: BalanceHealth,
    caps: Arc<MemberCaps>,
    checker: Option<Checker>,
}

impl Discovering {
    async fn run(self) {
        let resolver = resolver(&self.servers);
        loop {
            let wait = self.refresh(&resolver).await;
            tokio::time::sleep(wait.clamp(MIN_REFRESH, self.settings.refresh.max(MIN_REFRESH)))
                .await;
        }
    }

    /// Looks every name up and replaces the members; how long until the next lookup.
    async fn refresh(&self, resolver: &TokioResolver) -> Duration {
        let route = &*self.route;
        let previous = self.health.members();
        let mut members = Vec::new();
        let mut wait = self.settings.refresh;
        for (index, uri) in self.names.iter().enumerate() {
            match lookup(resolver, uri, self.settings.dns).await {
                Ok((addrs, ttl)) if !addrs.is_empty() => {
                    members.extend(addrs.into_iter().map(|a| Member::discovered(index, a)));
                    wait = wait.min(ttl);
                }
                result => {
                    let error = result.err().unwrap_or_else(|| "no address".to_owned());
                    tracing::warn!(route, upstream = %uri, error, "DNS lookup failed: the last addresses stay");
                    members.extend(previous.iter().filter(|m| m.upstream == index));
                }
            }
        }
        if self.health.set_members(members) {
            let members = self.health.members();
            let addrs: Vec<String> = members
                .iter()
                .filter_map(|m| m.addr.map(|a| a.to_string()))
                .collect();
            tracing::info!(route, addresses = %addrs.join(", "), "upstream addresses changed");
            self.caps.retain(&members);
            if let Some(checker) = &self.checker {
                checker.sync();
            }
        }
        wait
    }
}

/// The resolver: `servers` (UDP, then TCP), else the system's configuration (else
/// its defaults).
fn resolver(servers: &[SocketAddr]) -> TokioResolver {
    let provider = TokioConnectionProvider::default();
    let mut builder = if servers.is_empty() {
        TokioResolver::builder_tokio().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the system's DNS configuration: using defaults");
            TokioResolver::builder_with_config(ResolverConfig::default(), provider)
        })
    } else {
        let group: Vec<NameServerConfig> = servers
            .iter()
            .flat_map(|&addr| {
                [Protocol::Udp, Protocol::Tcp].map(|p| NameServerConfig::new(addr, p))
            })
            .collect();
        let config =
            ResolverConfig::from_parts(None, Vec::new(), NameServerConfigGroup::from(group));
        TokioResolver::builder_with_config(config, provider)
    };
    let options = builder.options_mut();
    options.timeout = Duration::from_secs(2);
    options.attempts = 1;
    builder.build()
}

/// The addresses of `uri`'s host and the smallest TTL of the records that gave them.
async fn lookup(
    resolver: &TokioResolver,
    uri: &Uri,
    dns: DnsRecords,
) -> Result<(Vec<SocketAddr>, Duration), String> {
    let host = uri.host().unwrap_or_default();
    let default_port = if uri.scheme_str() == Some("https") {
        443
    } else {
        80
    };
    let port = uri.port_u16().unwrap_or(default_port);
    match dns {
        DnsRecords::Address => {
            let ips = resolver.lookup_ip(host).await.map_err(|e| e.to_string())?;
            let addrs = ips.iter().map(|ip| SocketAddr::new(ip, port)).collect();
            Ok((addrs, min_ttl(ips.as_lookup())))
        }
        DnsRecords::Srv => {
            let srv = resolver.srv_lookup(host).await.map_err(|e| e.to_string())?;
            let mut ttl = min_ttl(srv.as_lookup());
            let mut addrs = Vec::new();
            for record in srv.iter() {
                let ips = resolver
                    .lookup_ip(record.target().clone())
                    .await
                    .map_err(|e| format!("{}: {e}", record.target()))?;
                ttl = ttl.min(min_ttl(ips.as_lookup()));
                addrs.extend(ips.iter().map(|ip| SocketAddr::new(ip, record.port())));
            }
            Ok((addrs, ttl))
        }
    }
}

/// The smallest TTL of a lookup's records.
fn min_ttl(lookup: &hickory_resolver::lookup::Lookup) -> Duration {
    let seconds = lookup.records().iter().map(|r| r.ttl()).min().unwrap_or(0);
    Duration::from_secs(u64::from(seconds))
}
