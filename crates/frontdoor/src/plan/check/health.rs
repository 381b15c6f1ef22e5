//! `health_check = { path, interval, timeout, unhealthy, healthy, status }` of a
//! target, checked into [`HealthCheckSettings`], every error naming its key.

use std::time::Duration;

use http::{uri::PathAndQuery, StatusCode};

use super::values;
use crate::plan::{checked::HealthCheckSettings, description::HealthCheck, error::Errors};

/// The default `interval`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// The default `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// The default `unhealthy` threshold.
pub const DEFAULT_UNHEALTHY: u32 = 3;
/// The default `healthy` threshold.
pub const DEFAULT_HEALTHY: u32 = 2;
/// The largest threshold accepted.
const MAX_THRESHOLD: i64 = 1000;

/// The settings of the target at `path` (`route[N]` or `default`), or `None` with
/// the errors recorded.
pub(super) fn health_check(
    path: &str,
    raw: &HealthCheck,
    errors: &mut Errors,
) -> Option<HealthCheckSettings> {
    let before = errors.count();
    let key = |k: &str| format!("{path}.health_check.{k}");
    let checked_path = match raw.path.as_deref() {
        None => {
            errors.push(
                key("path"),
                "missing `path` (the path checked, e.g. \"/healthz\")",
            );
            None
        }
        Some(p) => match p.parse::<PathAndQuery>() {
            Ok(pq) if p.starts_with('/') => Some(pq),
            _ => {
                errors.push(
                    key("path"),
                    format!("expected a path starting with '/', got {p:?}"),
                );
                None
            }
        },
    };
    let mut duration = |name: &str, value: Option<&str>, default| {
        value.map_or(Some(default), |v| {
            errors.check(&key(name), values::duration(v))
        })
    };
    let interval = duration("interval", raw.interval.as_deref(), DEFAULT_INTERVAL);
    let timeout = duration("timeout", raw.timeout.as_deref(), DEFAULT_TIMEOUT);
    let mut threshold = |name: &str, value: Option<i64>, default| match value {
        None => default,
        Some(n) if (1..=MAX_THRESHOLD).contains(&n) => u32::try_from(n).unwrap_or(default),
        Some(n) => {
            errors.push(
                key(name),
                format!("expected a count of checks from 1 to {MAX_THRESHOLD}, got {n}"),
            );
            default
        }
    };
    let unhealthy = threshold("unhealthy", raw.unhealthy, DEFAULT_UNHEALTHY);
    let healthy = threshold("healthy", raw.healthy, DEFAULT_HEALTHY);
    let status = raw
        .status
        .as_ref()
        .map(|list| statuses(&key("status"), list, errors));
    let settings = HealthCheckSettings {
        path: checked_path?,
        interval: interval?,
        timeout: timeout?,
        unhealthy,
        healthy,
        status,
    };
    (errors.count() == before).then_some(settings)
}

/// `status = [..]`: final statuses (100 to 599, not 1xx), at least one.
fn statuses(key: &str, list: &[i64], errors: &mut Errors) -> Vec<StatusCode> {
    if list.is_empty() {
        errors.push(
            key,
            "needs at least one status (leave it out for any 2xx or 3xx)",
        );
    }
    list.iter()
        .enumerate()
        .filter_map(|(i, &n)| {
            let code = u16::try_from(n)
                .ok()
                .and_then(|n| StatusCode::from_u16(n).ok())
                .filter(|c| !c.is_informational() && c.as_u16() < 600);
            if code.is_none() {
                errors.push(
                    format!("{key}[{i}]"),
                    format!("not a final HTTP status: {n}"),
                );
            }
            code
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::plan::Description;

    use super::super::key_errors as errors;

    #[test]
    fn errors_name_their_keys() {
        let text = r#"
[[route]]
spec = "::/"
upstream = ["http://127.0.0.1:1", "http://127.0.0.1:2"]
health_check = { interval = "soon", timeout = "0s", unhealthy = 0, healthy = 5000, status = [99, 200, 700] }

[default]
upstream = "http://127.0.0.1:3"
health_check = { path = "healthz", status = [] }
"#;
        assert_eq!(
            errors(text),
            [
                "route[0].health_check.path: missing `path` (the path checked, e.g. \"/healthz\")",
                "route[0].health_check.interval: not a duration \"soon\" (expected number at 0); write e.g. \"2s\" or \"500ms\"",
                "route[0].health_check.timeout: must be greater than zero",
                "route[0].health_check.unhealthy: expected a count of checks from 1 to 1000, got 0",
                "route[0].health_check.healthy: expected a count of checks from 1 to 1000, got 5000",
                "route[0].health_check.status[0]: not a final HTTP status: 99",
                "route[0].health_check.status[2]: not a final HTTP status: 700",
                "default.health_check.path: expected a path starting with '/', got \"healthz\"",
                "default.health_check.status: needs at least one status (leave it out for any 2xx or 3xx)",
            ]
        );
    }

    #[test]
    fn defaults_and_given_values() {
        use http::StatusCode;
        use std::time::Duration;

        let text = r#"
[[route]]
spec = "::/a"
upstream = "http://127.0.0.1:1"
health_check = { path = "/healthz?full=1" }

[[route]]
spec = "::/b"
upstream = "http://127.0.0.1:1"
health_check = { path = "/up", interval = "100ms", timeout = "50ms", unhealthy = 1, healthy = 4, status = [200, 204] }
"#;
        let checked = Description::from_toml(text).unwrap().check().unwrap();
        let a = checked.routes[0].target.health_check.clone().unwrap();
        assert_eq!(a.path.as_str(), "/healthz?full=1");
        assert_eq!(
            (a.interval, a.timeout),
            (super::DEFAULT_INTERVAL, super::DEFAULT_TIMEOUT)
        );
        assert_eq!((a.unhealthy, a.healthy, a.status.clone()), (3, 2, None));
        assert!(a.passes(StatusCode::OK) && a.passes(StatusCode::FOUND));
        assert!(!a.passes(StatusCode::NOT_FOUND) && !a.passes(StatusCode::SWITCHING_PROTOCOLS));
        let b = checked.routes[1].target.health_check.clone().unwrap();
        assert_eq!(
            (b.interval, b.timeout, b.unhealthy, b.healthy),
            (Duration::from_millis(100), Duration::from_millis(50), 1, 4)
        );
        assert!(b.passes(StatusCode::NO_CONTENT) && !b.passes(StatusCode::FOUND));
        let from_code = Description::new().route(
            crate::plan::Route::new("::/b", "http://127.0.0.1:1").health_check(
                crate::plan::HealthCheck::new("/up")
                    .interval("100ms")
                    .timeout("50ms")
                    .thresholds(1, 4)
                    .status([200, 204]),
            ),
        );
        let code = from_code.check().unwrap();
        assert_eq!(code.routes[0].target, checked.routes[1].target);
    }
}
