//! The traffic-management series: requests a route's `rate_limit` answered 429, and
//! the active health checks' verdicts per upstream address.

use frontdoor::plan::HealthRow;
use prometheus_client::{
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

type Labels = Vec<(&'static str, String)>;

/// `frontdoor_rate_limited_total{route}` and `frontdoor_upstream_healthy{route,upstream}`.
#[derive(Clone, Debug)]
pub(crate) struct TrafficMetrics {
    rate_limited: Family<Labels, Counter>,
    upstream_healthy: Family<Labels, Gauge>,
}

impl TrafficMetrics {
    /// Both families, registered in `registry`.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let rate_limited = Family::<Labels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests answered 429 by a route's rate_limit, by route",
            rate_limited.clone(),
        );
        let upstream_healthy = Family::<Labels, Gauge>::default();
        registry.register(
            "upstream_healthy",
            "1 while the health checks let an upstream address take traffic, else 0",
            upstream_healthy.clone(),
        );
        Self {
            rate_limited,
            upstream_healthy,
        }
    }

    /// Counts a 429 of `route`'s rate limit.
    pub(crate) fn rate_limited(&self, route: &str) {
        self.rate_limited
            .get_or_create(&vec![("route", route.to_owned())])
            .inc();
    }

    /// Sets the verdict of `upstream` of `route`.
    pub(crate) fn health(&self, route: &str, upstream: &str, healthy: bool) {
        self.upstream_healthy
            .get_or_create(&health_labels(route, upstream))
            .set(i64::from(healthy));
    }

    /// Drops the series of `upstream` of `route` (an address discovery dropped).
    pub(crate) fn gone(&self, route: &str, upstream: &str) {
        self.upstream_healthy
            .remove(&health_labels(route, upstream));
    }

    /// Replaces every health series with `rows` (a plan's `upstream_health()`).
    pub(crate) fn replace_health(&self, rows: &[HealthRow]) {
        self.upstream_healthy.clear();
        for row in rows {
            self.health(&row.route, &row.upstream, row.healthy);
        }
    }
}

fn health_labels(route: &str, upstream: &str) -> Labels {
    vec![
        ("route", route.to_owned()),
        ("upstream", upstream.to_owned()),
    ]
}
