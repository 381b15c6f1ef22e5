//! `[[route]]` and `[default]`: a matcher (routes only) and the target keys.

use frontdoor_cleanup::{Rules, Syntax};
use frontdoor_core::EncodedSlash;
use frontdoor_route::{Mode, Prefix};
use frontdoor_upstream::{Forwarding, HostPolicy, UpgradeProtocols, Upstream};
use http::Uri;

use super::{compress, discovery, health, mirror, rate_limit, service, tls, values};
use crate::plan::{
    checked::{Builtin, Matcher, Relocate, Route, Target, Timeouts, UpstreamAddr},
    description as d,
    error::Errors,
};

/// A `[[route]]` named `name` (checked by [`super::name`]).
pub(super) fn route(
    index: usize,
    raw: &d::Route,
    name: Option<String>,
    mode: Mode,
    forwarding: &Forwarding,
    errors: &mut Errors,
) -> Option<Route> {
    let path = format!("route[{index}]");
    let matcher = match (&raw.spec, &raw.regex) {
        (Some(spec), None) => Matcher::Spec(spec.clone()),
        (None, Some(re)) => Matcher::Regex(re.clone()),
        (Some(_), Some(_)) => {
            errors.push(path, "give either `spec` or `regex`, not both");
            return None;
        }
        (None, None) => {
            errors.push(path, "missing `spec` (or `regex`)");
            return None;
        }
    };
    let target = target(&path, raw, mode, forwarding, errors)?;
    Some(Route {
        index,
        name,
        matcher,
        target,
    })
}

pub(super) fn default(
    raw: &d::Route,
    mode: Mode,
    forwarding: &Forwarding,
    errors: &mut Errors,
) -> Option<Target> {
    super::name::default(raw, errors);
    for (key, value) in [("spec", &raw.spec), ("regex", &raw.regex)] {
        if value.is_some() {
            errors.push(
                format!("default.{key}"),
                format!("unknown field `{key}`: [default] takes what no route matches"),
            );
        }
    }
    if raw.strip_prefix.is_some() {
        errors.push(
            "default.strip_prefix",
            "unknown field `strip_prefix`: [default] matches no path prefix to strip or keep",
        );
    }
    target("default", raw, mode, forwarding, errors)
}

/// The target keys at `path`; `forwarding` is `[server]`'s, for the mirror's shadow.
fn target(
    path: &str,
    raw: &d::Route,
    mode: Mode,
    forwarding: &Forwarding,
    errors: &mut Errors,
) -> Option<Target> {
    let before = errors.count();
    let key = |name: &str| format!("{path}.{name}");
    let upstreams = required_upstreams(path, raw, errors);
    service::target(path, raw, &upstreams, errors);
    let (relocate, host) = relocate_and_host(path, raw, errors);
    let cleanup = raw
        .cleanup
        .as_ref()
        .map(|c| cleanup(path, c, mode, errors))
        .unwrap_or_default();
    let timeouts = raw
        .timeouts
        .as_ref()
        .map_or_else(Timeouts::default, |t| timeouts(path, t, errors));
    let mirror = raw
        .mirror
        .as_ref()
        .and_then(|m| mirror::mirror(path, m, forwarding, errors));
    let (max_in_flight, upstream_max_connections) = limits(path, raw, errors);
    let rate_limit = raw
        .rate_limit
        .as_ref()
        .and_then(|r| rate_limit::rate_limit(path, r, errors));
    let tls = raw
        .tls
        .as_ref()
        .and_then(|t| tls::upstream(path, t, &upstreams, errors));
    let escaped_slashes = raw
        .escaped_slashes
        .as_deref()
        .and_then(|e| route_escaped_slashes(path, e, errors));
    let request_buffer = raw
        .request_buffer
        .as_ref()
        .and_then(|v| errors.check(&key("request_buffer"), values::size(v)));
    let upgrades = raw
        .upgrades
        .as_ref()
        .map_or_else(UpgradeProtocols::default, |u| upgrades(path, u, errors));
    let compress = compress::compress(path, raw.compress.as_ref(), errors);
    let health_check = raw
        .health_check
        .as_ref()
        .and_then(|h| health::health_check(path, h, errors));
    let discovery = raw
        .discovery
        .as_ref()
        .and_then(|d| discovery::discovery(path, d, &upstreams, errors));
    (errors.count() == before).then_some(Target {
        upstreams,
        relocate,
        prefix: prefix(raw),
        host,
        cleanup,
        timeouts,
        mirror,
        max_in_flight,
        upstream_max_connections,
        rate_limit,
        redirect_https: raw.redirect_https.unwrap_or(false),
        tls,
        escaped_slashes,
        connect: raw.connect.unwrap_or(false),
        request_buffer,
        upgrades,
        compress,
        health_check,
        discovery,
    })
}

/// `strip_prefix`: `false` keeps the matched prefix.
const fn prefix(raw: &d::Route) -> Prefix {
    match raw.strip_prefix {
        Some(false) => Prefix::Keep,
        Some(true) | None => Prefix::Consume,
    }
}

/// `upstream`, which every target needs.
fn required_upstreams(path: &str, raw: &d::Route, errors: &mut Errors) -> Vec<UpstreamAddr> {
    match &raw.upstream {
        Some(up) => upstreams(path, up, errors),
        None => {
            errors.push(format!("{path}.upstream"), "missing `upstream`");
            Vec::new()
        }
    }
}

/// `relocate` (a profile, `none` by default) and `host` (a policy).
fn relocate_and_host(path: &str, raw: &d::Route, errors: &mut Errors) -> (Relocate, HostPolicy) {
    let relocate = raw.relocate.as_ref().map_or(Relocate::None, |r| {
        let parsed = r.parse().map_err(|e| format!("{e}"));
        errors
            .check(&format!("{path}.relocate"), parsed)
            .unwrap_or(Relocate::None)
    });
    let host = raw.host.as_ref().map_or_else(HostPolicy::default, |h| {
        let parsed = h
            .parse()
            .map_err(|e: frontdoor_upstream::UpstreamConfigError| e.message().to_owned());
        errors
            .check(&format!("{path}.host"), parsed)
            .unwrap_or_default()
    });
    (relocate, host)
}

/// `max_in_flight` and `upstream_max_connections`: counts, 0 (the default) for none.
fn limits(path: &str, raw: &d::Route, errors: &mut Errors) -> (usize, usize) {
    let mut limit = |name: &str, value: Option<i64>| {
        value
            .and_then(|n| errors.check(&format!("{path}.{name}"), values::limit(n)))
            .unwrap_or(0)
    };
    (
        limit("max_in_flight", raw.max_in_flight),
        limit("upstream_max_connections", raw.upstream_max_connections),
    )
}

/// A route's `escaped_slashes`: only `reject`, which narrows the server's policy.
fn route_escaped_slashes(path: &str, raw: &str, errors: &mut Errors) -> Option<EncodedSlash> {
    let key = format!("{path}.escaped_slashes");
    match raw.parse::<EncodedSlash>() {
        Ok(EncodedSlash::Reject) => Some(EncodedSlash::Reject),
        Ok(EncodedSlash::Decode) => {
            errors.push(
                key,
                "\"decode\" is a [server] setting: paths are decoded before routing",
            );
            None
        }
        Ok(_) => {
            errors.push(
                key,
                "a route can only narrow [server] escaped_slashes to \"reject\"",
            );
            None
        }
        Err(message) => {
            errors.push(key, message);
            None
        }
    }
}

/// `upgrades = [..]`: protocol tokens the upstream client accepts (its checks, its
/// message: never `h2c`).
fn upgrades(path: &str, raw: &toml::Value, errors: &mut Errors) -> UpgradeProtocols {
    let key = format!("{path}.upgrades");
    let list = raw.as_array().and_then(|items| {
        items
            .iter()
            .map(toml::Value::as_str)
            .collect::<Option<Vec<_>>>()
    });
    let Some(list) = list else {
        errors.push(
            key,
            "expected a list of protocols, such as [\"websocket\"] ([] for none)",
        );
        return UpgradeProtocols::default();
    };
    UpgradeProtocols::try_new(list).unwrap_or_else(|e| {
        errors.push(key, e.message());
        UpgradeProtocols::default()
    })
}

fn upstreams(path: &str, up: &toml::Value, errors: &mut Errors) -> Vec<UpstreamAddr> {
    let key = format!("{path}.upstream");
    let list = values::strings(up).unwrap_or_else(|| {
        errors.push(key.as_str(), "expected a URL or a list of URLs");
        Vec::new()
    });
    if list.is_empty() {
        errors.push(key.as_str(), "needs at least one upstream");
    }
    let one = list.len() == 1;
    list.iter()
        .enumerate()
        .filter_map(|(i, text)| {
            upstream_addr(text)
                .map_err(|message| {
                    let key = if one {
                        key.clone()
                    } else {
                        format!("{key}[{i}]")
                    };
                    errors.push(key, message);
                })
                .ok()
        })
        .collect()
}

/// A `builtin:` name, a `service:` name, or a URL the upstream client accepts (its
/// checks, its message).
fn upstream_addr(text: &str) -> Result<UpstreamAddr, String> {
    if let Some(name) = text.strip_prefix("service:") {
        return service::name(name).map(UpstreamAddr::Service);
    }
    if let Some(name) = text.strip_prefix("builtin:") {
        return match name {
            "echo" => Ok(UpstreamAddr::Builtin(Builtin::Echo)),
            "redirect" => Ok(UpstreamAddr::Builtin(Builtin::Redirect)),
            other => Err(format!(
                "unknown built-in backend {other:?}: expected builtin:echo or builtin:redirect"
            )),
        };
    }
    Upstream::new(text).map_err(|e| e.message().to_owned())?;
    text.parse::<Uri>()
        .map(UpstreamAddr::Url)
        .map_err(|e| format!("not a URL {text:?}: {e}"))
}

/// Cleanup rules in order (rules of one category run in the order given, and the
/// table keeps it), each parsed by the cleanup crate: an error names the rule's key.
fn cleanup(
    path: &str,
    table: &toml::Table,
    mode: Mode,
    errors: &mut Errors,
) -> Vec<(String, String)> {
    let key = |rule: &str| format!("{path}.cleanup.{}", quoted(rule));
    let before = errors.count();
    let mut rules = Vec::new();
    for (name, value) in table {
        match value {
            toml::Value::String(v) => {
                let checked = self::rules([(name.as_str(), v.as_str())], mode);
                if let Err(e) = checked {
                    errors.push(key(name), e.to_string());
                }
                rules.push((name.clone(), v.clone()));
            }
            other => errors.push(
                key(name),
                format!(
                    "expected a string (\"None\" removes), got {}",
                    other.type_str()
                ),
            ),
        }
    }
    // Each rule is fine alone: the set is checked whole once.
    if errors.count() == before {
        let pairs = rules.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        if let Err(e) = self::rules(pairs, mode) {
            errors.push(key(e.rule()), e.to_string());
        }
    }
    rules
}

/// The cleanup rules of `pairs` (shortcut syntax; the value `None` removes).
pub(crate) fn rules<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    mode: Mode,
) -> Result<Rules, frontdoor_cleanup::CleanupError> {
    let pairs = pairs
        .into_iter()
        .map(|(k, v)| (k, (v != "None").then_some(v)));
    Rules::builder()
        .pairs(Syntax::Shortcut, pairs)
        .mode(mode)
        .build()
}

/// A key as a key path writes it: bare when it is letters, digits, `-` and `_`, else
/// quoted.
fn quoted(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

fn timeouts(path: &str, raw: &d::Timeouts, errors: &mut Errors) -> Timeouts {
    let mut one = |name: &str, value: &Option<String>| {
        let key = format!("{path}.timeouts.{name}");
        value
            .as_deref()
            .and_then(|v| errors.check(&key, values::duration(v)))
    };
    Timeouts {
        connect: one("connect", &raw.connect),
        response: one("response", &raw.response),
        idle: one("idle", &raw.idle),
    }
}
