//! One upstream address's health checks: a check every interval (give or take a
//! tenth), its result counted in a row, and the verdict recorded in the target's
//! shared [`BalanceHealth`] when a threshold is reached.

use std::{future::Future, sync::Arc, time::Duration};

use frontdoor_core::Body;
use frontdoor_upstream::{BalanceHealth, Member, Upstream};
use http::{Request, Uri};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use crate::plan::{checked::HealthCheckSettings, stack::Observer};

/// The most of a check's body read (to reuse its connection); past it the
/// connection is dropped.
const MAX_BODY: usize = 64 * 1024;

// === Verdict ===

/// Checks counted in a row: the verdict changes after `unhealthy` failures in a row
/// (from healthy) or `healthy` passes in a row (from unhealthy). Starts healthy.
#[derive(Clone, Copy, Debug)]
pub(super) struct Verdict {
    healthy: bool,
    run: u32,
    unhealthy_after: u32,
    healthy_after: u32,
}

impl Verdict {
    pub(super) const fn new(settings: &HealthCheckSettings) -> Self {
        Self {
            healthy: true,
            run: 0,
            unhealthy_after: settings.unhealthy,
            healthy_after: settings.healthy,
        }
    }

    /// Records one check; the new verdict when it changed.
    pub(super) fn record(&mut self, passed: bool) -> Option<bool> {
        if passed == self.healthy {
            self.run = 0;
            return None;
        }
        self.run += 1;
        let needed = if self.healthy {
            self.unhealthy_after
        } else {
            self.healthy_after
        };
        if self.run < needed {
            return None;
        }
        self.healthy = passed;
        self.run = 0;
        Some(passed)
    }
}

// === Probe ===

/// The health checks of one address. See the [module docs](self).
pub(super) struct Probe {
    /// The route's label.
    pub(super) route: Arc<str>,
    /// The address as configured.
    pub(super) upstream: Arc<str>,
    /// Which member of the target's set it checks.
    pub(super) member: Member,
    pub(super) health: BalanceHealth,
    pub(super) settings: HealthCheckSettings,
    pub(super) observer: Option<Arc<dyn Observer>>,
}

impl Probe {
    /// Checks with `check` forever (until the task is aborted), recording verdicts.
    pub(super) async fn run<F, Fut>(self, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let mut verdict = Verdict::new(&self.settings);
        self.report(true);
        loop {
            tokio::time::sleep(jittered(self.settings.interval)).await;
            let result = tokio::time::timeout(self.settings.timeout, check())
                .await
                .unwrap_or_else(|_| Err(format!("timed out after {:?}", self.settings.timeout)));
            if let Err(reason) = &result {
                tracing::debug!(route = %self.route, upstream = %self.upstream, reason, "health check failed");
            }
            if let Some(healthy) = verdict.record(result.is_ok()) {
                self.transition(healthy, result.err());
            }
        }
    }

    /// Records and logs a new verdict.
    fn transition(&self, healthy: bool, reason: Option<String>) {
        self.health.set_member_healthy(self.member, healthy);
        self.report(healthy);
        let (route, upstream) = (&*self.route, &*self.upstream);
        if healthy {
            tracing::info!(route, upstream, "upstream healthy: it takes traffic again");
            return;
        }
        let reason = reason.unwrap_or_default();
        tracing::info!(
            route,
            upstream,
            reason,
            "upstream unhealthy: it takes no traffic"
        );
        if self.health.unhealthy() == self.health.len() {
            tracing::warn!(
                route,
                "every upstream of the route is unhealthy: requests go to all of them"
            );
        }
    }

    fn report(&self, healthy: bool) {
        if let Some(observer) = &self.observer {
            observer.upstream_health(&self.route, &self.upstream, healthy);
        }
    }
}

/// `interval`, give or take a tenth at random, so that the checks of many addresses
/// (and front doors) spread out.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + 0.2 * fastrand::f64())
}

/// One check through `client`: a `GET` of `path`, its body read (up to a cap), and
/// whether its status passes.
pub(super) async fn check(
    client: Upstream,
    path: Uri,
    settings: Arc<HealthCheckSettings>,
) -> Result<(), String> {
    let req = Request::get(path)
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    let res = client.oneshot(req).await.map_err(|e| e.to_string())?;
    let status = res.status();
    let mut body = res.into_body();
    let mut read = 0;
    while read <= MAX_BODY {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, bytes::Bytes::len),
            Some(Err(e)) => return Err(format!("body: {e}")),
            None => break,
        }
    }
    if settings.passes(status) {
        Ok(())
    } else {
        Err(format!("status {}", status.as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;

    fn settings() -> HealthCheckSettings {
        HealthCheckSettings {
            path: http::uri::PathAndQuery::from_static("/healthz"),
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
            unhealthy: 3,
            healthy: 2,
            status: None,
        }
    }

    #[test]
    fn verdicts_change_after_runs_of_the_thresholds() {
        let mut v = Verdict::new(&settings());
        let seen: Vec<_> = [
            false, false, true, false, false, false, true, false, true, true,
        ]
        .into_iter()
        .map(|passed| v.record(passed))
        .collect();
        assert_eq!(
            seen,
            [
                None,
                None,
                None,
                None,
                None,
                Some(false),
                None,
                None,
                None,
                Some(true)
            ]
        );
    }

    /// With paused time: three failed checks (5 s each, give or take 0.5 s) take the
    /// address out, not two; two passes bring it back; a check that hangs past the
    /// timeout fails.
    #[tokio::test(start_paused = true)]
    async fn thresholds_over_time() {
        let health = BalanceHealth::new(2);
        let passing = Arc::new(AtomicBool::new(false));
        let checks = Arc::new(AtomicUsize::new(0));
        let probe = Probe {
            route: "r".into(),
            upstream: "u".into(),
            member: Member::upstream(1),
            health: health.clone(),
            settings: settings(),
            observer: None,
        };
        let (p, c) = (Arc::clone(&passing), Arc::clone(&checks));
        let task = tokio::spawn(probe.run(move || {
            let (pass, n) = (p.load(Ordering::SeqCst), c.fetch_add(1, Ordering::SeqCst));
            async move {
                if n == 0 {
                    // The first check hangs: the timeout fails it.
                    std::future::pending::<()>().await;
                }
                if pass {
                    Ok(())
                } else {
                    Err("status 500".to_owned())
                }
            }
        }));
        // Two failures (at most 2 x 5.5 s + 1 s timeout): still healthy.
        tokio::time::sleep(Duration::from_millis(2 * 5500 + 1000 + 10)).await;
        let n = checks.load(Ordering::SeqCst);
        assert!(n == 2 && health.is_healthy(1), "{n}");
        // The third: out.
        tokio::time::sleep(Duration::from_millis(5500)).await;
        assert_eq!(checks.load(Ordering::SeqCst), 3);
        assert!(!health.is_healthy(1));
        passing.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(5500)).await;
        assert!(!health.is_healthy(1), "one pass is not enough");
        tokio::time::sleep(Duration::from_millis(5500)).await;
        assert!(health.is_healthy(1));
        assert!(health.is_healthy(0), "the other address is untouched");
        task.abort();
    }
}
