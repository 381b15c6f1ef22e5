//! The checked form of a target's traffic-management keys: `rate_limit`,
//! `health_check` and `discovery`.

use std::time::Duration;

use http::StatusCode;
use ipnet::IpNet;

/// A target's validated `rate_limit = { .. }`: data only, compared whole when a reload
/// decides whether the target's limiter (its key table) is kept.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RateLimitSettings {
    /// `rate`: the sustained rate.
    pub rate: crate::rate_limit::Rate,
    /// `burst`: the most requests at once (`None`: the rate's count).
    pub burst: Option<std::num::NonZeroU32>,
    /// `key`: what the limit counts per.
    pub key: crate::rate_limit::Key,
    /// `exempt`: client networks the limit does not apply to.
    pub exempt: Vec<IpNet>,
    /// `max_keys`: the most keys tracked (`None`: the layer's default).
    pub max_keys: Option<std::num::NonZeroUsize>,
}

/// A target's validated `health_check = { .. }`: a `GET` of `path` on each upstream
/// address (with the upstream's `Host`, and TLS with the target's `tls` for `https`
/// upstreams) every `interval`, give or take a tenth. An address failing `unhealthy`
/// checks in a row takes no traffic until it passes `healthy` in a row.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthCheckSettings {
    /// `path`: the path and query checked, from the upstream's origin (not under the
    /// upstream URL's base path).
    pub path: http::uri::PathAndQuery,
    /// `interval`: 5 s by default.
    pub interval: Duration,
    /// `timeout`: the most one check may take, to the end of its body; 1 s by
    /// default.
    pub timeout: Duration,
    /// `unhealthy`: 3 by default.
    pub unhealthy: u32,
    /// `healthy`: 2 by default.
    pub healthy: u32,
    /// `status`: the statuses that pass; `None` (the default) for any 2xx or 3xx.
    pub status: Option<Vec<StatusCode>>,
}

impl HealthCheckSettings {
    /// Whether a check answered `status` passes.
    #[must_use]
    pub fn passes(&self, status: StatusCode) -> bool {
        match &self.status {
            Some(list) => list.contains(&status),
            None => status.is_success() || status.is_redirection(),
        }
    }
}

/// A target's validated `discovery = { .. }`: every upstream's host is looked up
/// again and again, and each address found is an endpoint of the target's balancer
/// (with its own connection pool, connection cap and health checks), reached with
/// the name still in `Host` (as the host policy says) and as TLS SNI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiscoverySettings {
    /// `dns`: which records.
    pub dns: DnsRecords,
    /// `refresh`: the longest time between lookups (10 s by default); the next
    /// lookup is after the records' TTL, clamped to 1 s ..= `refresh`.
    pub refresh: Duration,
}

/// Which records DNS discovery looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DnsRecords {
    /// `"a"`: every A and AAAA address of the host, on the URL's port.
    Address,
    /// `"srv"`: the host is an SRV name; each record's target (its addresses) and
    /// port.
    Srv,
}
