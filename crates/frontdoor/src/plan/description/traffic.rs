//! The traffic-management keys of a target as written: `rate_limit`, `health_check`
//! and `discovery`.

use serde::Deserialize;

/// `health_check = { .. }` of a target: a `GET` of `path` on each upstream address,
/// every `interval` (with a little jitter). Absent keys take the defaults in
/// [`HealthCheckSettings`](crate::plan::checked::HealthCheckSettings)'s docs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HealthCheck {
    /// The path (and query) checked, from the upstream's origin: required.
    pub path: Option<String>,
    /// How often each address is checked (`"5s"`).
    pub interval: Option<String>,
    /// How long one check may take (`"1s"`).
    pub timeout: Option<String>,
    /// Failed checks in a row that take an address out (3).
    pub unhealthy: Option<i64>,
    /// Passed checks in a row that bring it back (2).
    pub healthy: Option<i64>,
    /// The statuses that pass (any 2xx or 3xx).
    pub status: Option<Vec<i64>>,
}

impl HealthCheck {
    /// Checks of `path` with the defaults.
    #[must_use]
    pub fn new(path: &str) -> Self {
        Self {
            path: Some(path.to_owned()),
            ..Self::default()
        }
    }

    /// Every `interval` (a duration, `"5s"`).
    #[must_use]
    pub fn interval(mut self, interval: &str) -> Self {
        self.interval = Some(interval.to_owned());
        self
    }

    /// Each check within `timeout` (a duration, `"1s"`).
    #[must_use]
    pub fn timeout(mut self, timeout: &str) -> Self {
        self.timeout = Some(timeout.to_owned());
        self
    }

    /// Out after `unhealthy` failed checks in a row, back after `healthy` passed ones.
    #[must_use]
    pub const fn thresholds(mut self, unhealthy: i64, healthy: i64) -> Self {
        self.unhealthy = Some(unhealthy);
        self.healthy = Some(healthy);
        self
    }

    /// Only `status` passes.
    #[must_use]
    pub fn status(mut self, status: impl IntoIterator<Item = i64>) -> Self {
        self.status = Some(status.into_iter().collect());
        self
    }
}

/// `discovery = { dns, refresh }` of a target: its upstreams' hosts are names whose
/// addresses are looked up again and again, each address an endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Discovery {
    /// `"a"` (every A/AAAA address of the name, on the URL's port; the default) or
    /// `"srv"` (the URL's host is an SRV name: targets and ports from its records).
    pub dns: Option<String>,
    /// The longest time between lookups (`"10s"`); a shorter record TTL wins.
    pub refresh: Option<String>,
}

impl Discovery {
    /// `dns = "a"` or `"srv"`, refreshed at most every `refresh`.
    #[must_use]
    pub fn new(dns: &str, refresh: &str) -> Self {
        Self {
            dns: Some(dns.to_owned()),
            refresh: Some(refresh.to_owned()),
        }
    }
}

/// `rate_limit = { .. }` of a target: see [`crate::rate_limit`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimit {
    /// The sustained rate: `"N/s"`, `"N/m"` or `"N/h"`.
    pub rate: String,
    /// The most requests at once (default: the rate's N).
    pub burst: Option<i64>,
    /// `client` (the default), `route` or `header:NAME`.
    pub key: Option<String>,
    /// Client networks (CIDRs or addresses) the limit does not apply to.
    pub exempt: Option<Vec<String>>,
    /// The most keys tracked at once (default 100000).
    pub max_keys: Option<i64>,
}

impl RateLimit {
    /// A limit of `rate` (`"100/s"`) per client, with the defaults.
    #[must_use]
    pub fn new(rate: &str) -> Self {
        Self {
            rate: rate.to_owned(),
            ..Self::default()
        }
    }

    /// At most `burst` requests at once.
    #[must_use]
    pub fn burst(mut self, burst: i64) -> Self {
        self.burst = Some(burst);
        self
    }

    /// Counted per `key`: `client`, `route` or `header:NAME`.
    #[must_use]
    pub fn key(mut self, key: &str) -> Self {
        self.key = Some(key.to_owned());
        self
    }

    /// Not applied to clients in `networks`.
    #[must_use]
    pub fn exempt<'a>(mut self, networks: impl IntoIterator<Item = &'a str>) -> Self {
        self.exempt = Some(networks.into_iter().map(str::to_owned).collect());
        self
    }
}
