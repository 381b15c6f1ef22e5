//! The second parsing step: every raw value into typed form, collecting every error
//! with its line and key path.

use std::{net::SocketAddr, ops::Range};

use frontdoor_core::{EncodedSlash, Schemes};
use frontdoor_upstream::{Forwarding, HostPolicy, UpgradeProtocols, Upstream};
use http::{StatusCode, Uri};
use ipnet::IpNet;
use toml::Spanned;

use super::{
    error::{ConfigErrors, Errors},
    raw::{
        strings, OneOrMany, RawCompat, RawConfig, RawNotFound, RawResolve, RawTarget, RawTimeouts,
    },
    tls, Builtin, Compat, Config, Matcher, NotFound, Relocate, Resolve, Route, Target, Timeouts,
    UpstreamAddr,
};

/// The default listen address.
use super::server::*;

/// Parses and validates a config file, returning every error found.
pub(super) fn parse(src: &str) -> Result<Config, ConfigErrors> {
    let mut errors = Errors::new(src);
    let raw: RawConfig = match toml::from_str(src) {
        Ok(raw) => raw,
        Err(e) => {
            errors.push(e.span().as_ref(), "", e.message().trim_end().to_owned());
            return Err(errors.into_errors());
        }
    };
    let listen_tls_span = raw.server.listen_tls.as_ref().map(Spanned::span);
    let server = server(raw.server, &mut errors);
    let forwarding = server.forwarding().unwrap_or_else(|e| {
        errors.push(None, "server.via", e.message());
        Forwarding::default()
    });
    let mut resolve = resolve(raw.resolve, &mut errors);
    let tables = raw.tls.len();
    tls::check_listeners(&server, tables, listen_tls_span.as_ref(), &mut errors);
    let certs = tls::certs(raw.tls, &mut errors);
    resolve.schemes = tls::label_tls_ports(resolve.schemes, &server);
    let routes = raw
        .routes
        .into_iter()
        .enumerate()
        .filter_map(|(index, route)| self::route(index, route, &forwarding, &mut errors))
        .collect();
    let default = raw
        .default
        .and_then(|t| default(t, &forwarding, &mut errors));
    let not_found = raw
        .not_found
        .map_or_else(NotFound::default, |nf| not_found(nf, &mut errors));
    let RawCompat { wfront04 } = raw.compat;
    let warnings = errors.take_warnings();
    errors.finish(Config {
        server,
        resolve,
        routes,
        default,
        not_found,
        compat: Compat { wfront04 },
        tls: certs,
        warnings,
    })
}

// === escaped slashes of a route ===

/// A route's `escaped_slashes`: only `reject`, which narrows the server's policy.
fn route_escaped_slashes(
    path: &str,
    raw: &Spanned<String>,
    errors: &mut Errors<'_>,
) -> Option<EncodedSlash> {
    let key = format!("{path}.escaped_slashes");
    match escaped_slashes(path, raw, errors) {
        EncodedSlash::Reject => Some(EncodedSlash::Reject),
        EncodedSlash::Decode => {
            errors.push(
                Some(&raw.span()),
                key,
                "\"decode\" is a [server] setting: paths are decoded before routing",
            );
            None
        }
        _ if raw.get_ref() == "keep" => {
            errors.push(
                Some(&raw.span()),
                key,
                "a route can only narrow [server] escaped_slashes to \"reject\"",
            );
            None
        }
        // Unknown: already reported.
        _ => None,
    }
}

// === [resolve] ===

fn resolve(raw: RawResolve, errors: &mut Errors<'_>) -> Resolve {
    let configured = raw.schemes.is_some();
    let mut schemes = raw
        .schemes
        .map_or_else(Schemes::new, |table| self::schemes(table, errors));
    let labels = raw
        .listener_labels
        .map(|table| listener_labels(table, errors))
        .unwrap_or_default();
    // A listener's label reaches its routes through the listener only: declared here
    // without ports when `schemes` does not have it.
    for (_, label) in &labels {
        if schemes.ports(label).is_none() {
            schemes = schemes.with(label, []);
        }
    }
    Resolve {
        trusted_proxies: trusted_proxies(&raw.trusted_proxies, errors),
        by_scheme: configured || !labels.is_empty(),
        schemes,
        listener_labels: labels,
    }
}

/// Letters, digits, `-`, `_`, `+`, `.`, and not only digits (a number is a port).
fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'.'))
        && !label.bytes().all(|b| b.is_ascii_digit())
}

fn listener_labels(
    table: Spanned<std::collections::BTreeMap<String, String>>,
    errors: &mut Errors<'_>,
) -> Vec<(SocketAddr, String)> {
    let span = table.span();
    let mut labels = Vec::new();
    for (addr, label) in table.into_inner() {
        let key = format!("resolve.listener_labels.{addr:?}");
        match addr.parse::<SocketAddr>() {
            Err(_) => errors.push(
                Some(&span),
                key,
                format!("not an ip:port listen address: {addr:?}"),
            ),
            Ok(_) if !valid_label(&label) => errors.push(
                Some(&span),
                key,
                "a label is letters, digits, '-', '_', '+', '.' and not only digits",
            ),
            Ok(addr) => labels.push((addr, label.to_ascii_lowercase())),
        }
    }
    labels
}

fn trusted_proxies(raw: &[Spanned<String>], errors: &mut Errors<'_>) -> Vec<IpNet> {
    let mut nets = Vec::with_capacity(raw.len());
    for (i, cidr) in raw.iter().enumerate() {
        let text = cidr.get_ref().trim();
        // A bare address means a /32 (or /128).
        let parsed = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => nets.push(net),
            Err(_) => errors.push(
                Some(&cidr.span()),
                format!("resolve.trusted_proxies[{i}]"),
                format!("not a CIDR or IP address: {:?}", cidr.get_ref()),
            ),
        }
    }
    nets
}

fn schemes(
    table: Spanned<std::collections::BTreeMap<String, Vec<u16>>>,
    errors: &mut Errors<'_>,
) -> Schemes {
    let span = table.span();
    let mut schemes = Schemes::new();
    for (label, ports) in table.into_inner() {
        if !valid_label(&label) {
            errors.push(
                Some(&span),
                format!("resolve.schemes.{label}"),
                "a scheme label is letters, digits, '-', '_', '+', '.' and not only digits",
            );
        } else if ports.is_empty() || ports.contains(&0) {
            errors.push(
                Some(&span),
                format!("resolve.schemes.{label}"),
                "needs one or more ports in 1..=65535",
            );
        } else {
            schemes = schemes.with(&label, ports);
        }
    }
    schemes
}

// === [[route]] and [default] ===

fn route(
    index: usize,
    mut raw: RawTarget,
    forwarding: &Forwarding,
    errors: &mut Errors<'_>,
) -> Option<Route> {
    let path = format!("route[{index}]");
    let (matcher, span) = match (raw.spec.take(), raw.regex.take()) {
        (Some(spec), None) => (Matcher::Spec(spec.get_ref().clone()), spec.span()),
        (None, Some(re)) => (Matcher::Regex(re.get_ref().clone()), re.span()),
        (Some(spec), Some(_)) => {
            errors.push(
                Some(&spec.span()),
                path,
                "give either `spec` or `regex`, not both",
            );
            return None;
        }
        (None, None) => {
            let span = raw.upstream.as_ref().map(Spanned::span);
            errors.push(span.as_ref(), path, "missing `spec` (or `regex`)");
            return None;
        }
    };
    let line = errors.line_of(&span);
    let target = target(&path, raw, Some(&span), forwarding, errors)?;
    Some(Route {
        index,
        line,
        matcher,
        target,
    })
}

fn default(mut raw: RawTarget, forwarding: &Forwarding, errors: &mut Errors<'_>) -> Option<Target> {
    for (key, value) in [("spec", raw.spec.take()), ("regex", raw.regex.take())] {
        if let Some(value) = value {
            errors.push(
                Some(&value.span()),
                format!("default.{key}"),
                format!("unknown field `{key}`: [default] takes what no route matches"),
            );
        }
    }
    target("default", raw, None, forwarding, errors)
}

/// The target keys at `path`; `fallback_span` locates a missing `upstream`;
/// `forwarding` is `[server]`'s, for the mirror's shadow.
fn target(
    path: &str,
    raw: RawTarget,
    fallback_span: Option<&Range<usize>>,
    forwarding: &Forwarding,
    errors: &mut Errors<'_>,
) -> Option<Target> {
    let before = errors.count();
    let upstreams = match raw.upstream {
        Some(up) => upstreams(path, &up, errors),
        None => {
            errors.push(
                fallback_span,
                format!("{path}.upstream"),
                "missing `upstream`",
            );
            Vec::new()
        }
    };
    let relocate = raw
        .relocate
        .map_or(Relocate::None, |r| relocate(path, &r, errors));
    let host = raw.host.map_or_else(HostPolicy::default, |h| {
        h.get_ref()
            .parse()
            .unwrap_or_else(|e: frontdoor_upstream::UpstreamConfigError| {
                errors.push(Some(&h.span()), format!("{path}.host"), e.message());
                HostPolicy::default()
            })
    });
    let cleanup = raw.cleanup.map(|c| cleanup(path, c, errors));
    let timeouts = raw.timeouts.map_or_else(Timeouts::default, |t| {
        timeouts(path, t.into_inner(), errors)
    });
    let mirror = raw
        .mirror
        .and_then(|m| super::mirror::mirror(path, m, forwarding, errors));
    let max_in_flight = limit(&format!("{path}.max_in_flight"), raw.max_in_flight, errors);
    let upstream_max_connections = limit(
        &format!("{path}.upstream_max_connections"),
        raw.upstream_max_connections,
        errors,
    );
    let redirect_https = raw.redirect_https.is_some_and(Spanned::into_inner);
    let tls = raw
        .tls
        .and_then(|t| tls::upstream(path, t, &upstreams, errors));
    let escaped_slashes = raw
        .escaped_slashes
        .and_then(|e| route_escaped_slashes(path, &e, errors));
    let request_buffer = raw
        .request_buffer
        .and_then(|v| size(&format!("{path}.request_buffer"), &v, errors));
    let upgrades = raw
        .upgrades
        .map_or_else(UpgradeProtocols::default, |u| upgrades(path, &u, errors));
    (errors.count() == before).then(|| Target {
        upstreams,
        relocate,
        host,
        cleanup: cleanup.unwrap_or_default(),
        timeouts,
        mirror,
        max_in_flight,
        upstream_max_connections,
        redirect_https,
        tls,
        escaped_slashes,
        connect: raw.connect.unwrap_or(false),
        request_buffer,
        upgrades,
    })
}

/// `upgrades = [..]`: protocol tokens the upstream client accepts (its checks, its
/// message: never `h2c`).
fn upgrades(path: &str, raw: &Spanned<toml::Value>, errors: &mut Errors<'_>) -> UpgradeProtocols {
    let key = format!("{path}.upgrades");
    let list = raw.get_ref().as_array().and_then(|items| {
        items
            .iter()
            .map(toml::Value::as_str)
            .collect::<Option<Vec<_>>>()
    });
    let Some(list) = list else {
        errors.push(
            Some(&raw.span()),
            key,
            "expected a list of protocols, such as [\"websocket\"] ([] for none)",
        );
        return UpgradeProtocols::default();
    };
    UpgradeProtocols::try_new(list).unwrap_or_else(|e| {
        errors.push(Some(&raw.span()), key, e.message());
        UpgradeProtocols::default()
    })
}

fn upstreams(path: &str, up: &Spanned<OneOrMany>, errors: &mut Errors<'_>) -> Vec<UpstreamAddr> {
    let span = up.span();
    let list = strings(up.get_ref()).unwrap_or_else(|| {
        errors.push(
            Some(&span),
            format!("{path}.upstream"),
            "expected a URL or a list of URLs",
        );
        Vec::new()
    });
    if list.is_empty() {
        errors.push(
            Some(&span),
            format!("{path}.upstream"),
            "needs at least one upstream",
        );
    }
    list.iter()
        .enumerate()
        .filter_map(|(i, text)| {
            upstream_addr(text)
                .map_err(|message| {
                    let key = if list.len() == 1 {
                        format!("{path}.upstream")
                    } else {
                        format!("{path}.upstream[{i}]")
                    };
                    errors.push(Some(&span), key, message);
                })
                .ok()
        })
        .collect()
}

/// A `builtin:` name, or a URL the upstream client accepts (its checks, its message).
fn upstream_addr(text: &str) -> Result<UpstreamAddr, String> {
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

fn relocate(path: &str, r: &Spanned<String>, errors: &mut Errors<'_>) -> Relocate {
    r.get_ref().parse().unwrap_or_else(|e| {
        errors.push(Some(&r.span()), format!("{path}.relocate"), format!("{e}"));
        Relocate::None
    })
}

/// Cleanup rules in file order: rules of one category run in the order given, and the
/// table keeps it (toml's `preserve_order`).
fn cleanup(
    path: &str,
    table: Spanned<toml::Table>,
    errors: &mut Errors<'_>,
) -> Vec<(String, String)> {
    let span = table.span();
    let mut rules = Vec::new();
    for (key, value) in table.into_inner() {
        match value {
            toml::Value::String(v) => rules.push((key, v)),
            other => errors.push(
                Some(&span),
                format!("{path}.cleanup.{key}"),
                format!(
                    "expected a string (\"None\" removes), got {}",
                    other.type_str()
                ),
            ),
        }
    }
    rules
}

fn timeouts(path: &str, raw: RawTimeouts, errors: &mut Errors<'_>) -> Timeouts {
    let key = |name: &str| format!("{path}.timeouts.{name}");
    Timeouts {
        connect: duration(&key("connect"), raw.connect, errors),
        response: duration(&key("response"), raw.response, errors),
        idle: duration(&key("idle"), raw.idle, errors),
    }
}

// === [not_found] ===

fn not_found(raw: RawNotFound, errors: &mut Errors<'_>) -> NotFound {
    let status = raw.status.map_or(StatusCode::NOT_FOUND, |s| {
        match StatusCode::from_u16(*s.get_ref()) {
            Ok(code) if !code.is_informational() => code,
            _ => {
                errors.push(
                    Some(&s.span()),
                    "not_found.status",
                    format!("not a final HTTP status: {}", s.get_ref()),
                );
                StatusCode::NOT_FOUND
            }
        }
    });
    NotFound {
        status,
        body: raw.body.unwrap_or_else(|| NotFound::default().body),
    }
}
