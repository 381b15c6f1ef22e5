//! A target whose upstream is `service:NAME`: it ends in a service given in code
//! ([`Options::service`](crate::plan::Options::service)), so it is the target's only
//! upstream, and the keys that configure the built-in upstream client (or relocate
//! from its URL) are errors on it; every other per-route key applies as usual.

use crate::plan::{checked::UpstreamAddr, description as d, error::Errors};

/// The keys that configure the built-in upstream client and its balancer (`tls` and
/// `discovery` are refused by their own checks: a service is not an `https://`
/// upstream and has no name to look up).
const CLIENT_KEYS: [&str; 6] = [
    "host",
    "timeouts",
    "upstream_max_connections",
    "connect",
    "upgrades",
    "health_check",
];

/// The name after `service:`: letters, digits, `-`, `_` and `.`.
pub(super) fn name(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "a service name is one or more letters, digits, '-', '_' or '.', got {name:?}"
        ))
    }
}

/// The rules of a target at `path` whose `upstreams` include a service: it is the
/// only upstream; no `relocate` but `none`; none of the client's keys.
pub(super) fn target(path: &str, raw: &d::Route, upstreams: &[UpstreamAddr], errors: &mut Errors) {
    let Some(service) = upstreams
        .iter()
        .find(|u| matches!(u, UpstreamAddr::Service(_)))
    else {
        return;
    };
    let list = raw.upstream.as_ref().and_then(toml::Value::as_array);
    if upstreams.len() > 1 || list.is_some_and(|l| l.len() > 1) {
        errors.push(
            format!("{path}.upstream"),
            format!("{service} must be the only upstream: a service picks its own targets"),
        );
    }
    if raw.relocate.as_deref().is_some_and(|r| r != "none") {
        errors.push(
            format!("{path}.relocate"),
            format!(
                "relocates from the upstream's URL, and {service} has none: relocate in the \
                 service, per target (frontdoor::RelocatedTargets)"
            ),
        );
    }
    let present = [
        raw.host.is_some(),
        raw.timeouts.is_some(),
        raw.upstream_max_connections.is_some(),
        raw.connect.is_some(),
        raw.upgrades.is_some(),
        raw.health_check.is_some(),
    ];
    for (key, _) in CLIENT_KEYS.iter().zip(present).filter(|(_, p)| *p) {
        errors.push(
            format!("{path}.{key}"),
            format!(
                "configures the built-in upstream client, which {service} replaces: \
                 configure the service instead"
            ),
        );
    }
}
