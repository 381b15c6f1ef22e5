//! [`Description::check`]: every value into typed form, collecting every problem
//! with its key path (cleanup rules, route specs and upstream URLs are checked by
//! the crates that run them, with their messages).

mod compress;
pub mod discovery;
pub mod health;
mod mirror;
mod name;
mod rate_limit;
mod service;
mod target;
mod tls;
pub mod values;

use std::net::SocketAddr;

use frontdoor_core::{EncodedSlash, Schemes};
use frontdoor_upstream::Forwarding;
use http::{HeaderValue, StatusCode};
use ipnet::IpNet;

pub(crate) use self::target::rules;
use super::{
    checked::{Checked, Compat, NotFound, Resolve, Route, Settings},
    description::{self as d, Description},
    error::{Errors, PlanErrors},
};

/// The default `request_buffer`: bodies up to 64 KiB are read before the upstream
/// request starts.
pub const DEFAULT_REQUEST_BUFFER: u64 = 64 * 1024;
/// The default `request_buffer_total`: what all buffered bodies may hold at once.
pub const DEFAULT_REQUEST_BUFFER_TOTAL: u64 = 64 * 1024 * 1024;
/// The default `Via` pseudonym.
const DEFAULT_VIA: &str = "frontdoor";

impl Description {
    /// Checks every value, returning the typed form or every problem, each with its
    /// key path (lines come from [`PlanErrors::located`] when the description was
    /// read from text).
    ///
    /// # Errors
    ///
    /// Every problem found.
    pub fn check(&self) -> Result<Checked, PlanErrors> {
        let mut errors = Errors::default();
        let settings = settings(self, &mut errors);
        let forwarding = settings.forwarding().unwrap_or_else(|e| {
            errors.push("server.via", e.message());
            Forwarding::default()
        });
        let resolve = resolve(&self.resolve, &mut errors);
        let mode = self.compat.mode();
        let mut names = name::Names::default();
        let routes = self
            .routes
            .iter()
            .enumerate()
            .filter_map(|(index, route)| {
                let name = names.check(index, route, &mut errors);
                target::route(index, route, name, mode, &forwarding, &mut errors)
            })
            .collect::<Vec<Route>>();
        let default = self
            .default
            .as_ref()
            .and_then(|t| target::default(t, mode, &forwarding, &mut errors));
        let not_found = self
            .not_found
            .as_ref()
            .map_or_else(NotFound::default, |nf| not_found(nf, &mut errors));
        let checked = Checked {
            settings,
            resolve,
            routes,
            default,
            not_found,
            compat: Compat {
                wfront04: self.compat.wfront04,
            },
            warnings: Vec::new(),
        };
        let (mut checked, warnings) = errors.finish(checked)?;
        checked.warnings = warnings;
        Ok(checked)
    }
}

impl d::Compat {
    /// The matching mode of routes and cleanup rules.
    #[must_use]
    pub const fn mode(self) -> frontdoor_route::Mode {
        if self.wfront04 {
            frontdoor_route::Mode::Wfront04
        } else {
            frontdoor_route::Mode::Strict
        }
    }
}

// === [server] ===

fn settings(description: &Description, errors: &mut Errors) -> Settings {
    let raw = &description.server;
    let size = |key: &str, value: &Option<toml::Value>, default, errors: &mut Errors| {
        value
            .as_ref()
            .and_then(|v| errors.check(key, values::size(v)))
            .unwrap_or(default)
    };
    Settings {
        forwarded: raw.forwarded.unwrap_or(false),
        server_name: raw
            .server_name
            .as_deref()
            .and_then(|n| server_name(n, errors)),
        request_buffer: size(
            "server.request_buffer",
            &raw.request_buffer,
            DEFAULT_REQUEST_BUFFER,
            errors,
        ),
        request_buffer_total: size(
            "server.request_buffer_total",
            &raw.request_buffer_total,
            DEFAULT_REQUEST_BUFFER_TOTAL,
            errors,
        ),
        max_decoded_body: size(
            "server.max_decoded_body",
            &raw.max_decoded_body,
            frontdoor_relocate::DEFAULT_MAX_DECODED_BODY,
            errors,
        ),
        via: via(raw.via.as_ref(), errors),
        via_responses: raw.via_responses.unwrap_or(false),
        escaped_slashes: raw
            .escaped_slashes
            .as_deref()
            .map_or(EncodedSlash::Keep, |e| escaped_slashes("server", e, errors)),
        request_id: request_id(raw.request_id.as_ref(), errors),
        trust_request_id: raw.trust_request_id.unwrap_or(false),
        trust_client_trace: description.tracing.trust_client_trace.unwrap_or(false),
        sample_ratio: sample_ratio(description.tracing.sample_ratio, errors),
        export: export(&description.tracing, errors),
    }
}

/// `[tracing] otlp_endpoint` and its settings.
fn export(raw: &d::Tracing, errors: &mut Errors) -> Option<crate::telemetry::ExportConfig> {
    let endpoint = raw.otlp_endpoint.as_deref()?;
    let uri = endpoint
        .parse::<http::Uri>()
        .ok()
        .filter(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.authority().is_some());
    if uri.is_none() {
        errors.push(
            "tracing.otlp_endpoint",
            format!("not an http:// or https:// URL: {endpoint:?}"),
        );
    }
    let mut headers = Vec::new();
    for (name, value) in raw.headers.iter().flatten() {
        let parsed = http::HeaderName::from_bytes(name.as_bytes())
            .ok()
            .zip(http::HeaderValue::from_str(value).ok());
        match parsed {
            Some(pair) => headers.push(pair),
            None => errors.push(
                format!("tracing.headers.{name:?}"),
                "not a header name and value",
            ),
        }
    }
    let timeout = raw
        .export_timeout
        .as_deref()
        .map_or(Some(std::time::Duration::from_secs(10)), |t| {
            errors.check("tracing.export_timeout", values::duration(t))
        })?;
    uri?;
    let mut config = crate::telemetry::ExportConfig::new(endpoint);
    config.full_url = raw.otlp_traces_url;
    config.service_name = raw
        .service_name
        .clone()
        .unwrap_or_else(|| "frontdoor".to_owned());
    config.headers = headers;
    config.timeout = timeout;
    config.ca = raw.ca.as_ref().and_then(|ca| {
        if ca.trim().is_empty() {
            errors.push("tracing.ca", "expected a file path");
            return None;
        }
        Some(std::path::PathBuf::from(ca))
    });
    Some(config)
}

/// `request_id = "header-name" | false` (`true`: the default `x-request-id`).
fn request_id(raw: Option<&toml::Value>, errors: &mut Errors) -> Option<http::HeaderName> {
    let default = http::HeaderName::from_static("x-request-id");
    match raw {
        None | Some(toml::Value::Boolean(true)) => Some(default),
        Some(toml::Value::Boolean(false)) => None,
        Some(toml::Value::String(name)) => {
            let parsed = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("not a header name: {name:?}"));
            errors.check("server.request_id", parsed)
        }
        Some(other) => {
            errors.push(
                "server.request_id",
                format!("expected a header name or false, got {}", other.type_str()),
            );
            None
        }
    }
}

/// `[tracing] sample_ratio`: 0 to 1, default 1.
fn sample_ratio(raw: Option<f64>, errors: &mut Errors) -> f64 {
    match raw {
        None => 1.0,
        Some(r) if (0.0..=1.0).contains(&r) => r,
        Some(r) => {
            errors.push(
                "tracing.sample_ratio",
                format!("must be between 0 and 1, got {r}"),
            );
            1.0
        }
    }
}

fn server_name(name: &str, errors: &mut Errors) -> Option<String> {
    let lower = name.trim().to_ascii_lowercase();
    if lower.is_empty() || HeaderValue::from_str(&lower).is_err() || lower.contains(['/', ' ']) {
        errors.push("server.server_name", format!("not a host name: {name:?}"));
        return None;
    }
    Some(lower)
}

/// `via = true | false | "pseudonym"`: the pseudonym, `frontdoor` by default, `None`
/// when off.
fn via(raw: Option<&toml::Value>, errors: &mut Errors) -> Option<String> {
    let Some(raw) = raw else {
        return Some(DEFAULT_VIA.to_owned());
    };
    match raw {
        toml::Value::Boolean(true) => Some(DEFAULT_VIA.to_owned()),
        toml::Value::Boolean(false) => None,
        toml::Value::String(name) => {
            let valid = !name.is_empty()
                && !name.contains([',', ' '])
                && Forwarding::default().via(name).is_ok();
            if valid {
                Some(name.clone())
            } else {
                errors.push(
                    "server.via",
                    format!("not a pseudonym (a token without spaces or commas): {name:?}"),
                );
                None
            }
        }
        other => {
            errors.push(
                "server.via",
                format!(
                    "expected true, false or a pseudonym string, got {}",
                    other.type_str()
                ),
            );
            None
        }
    }
}

/// An `escaped_slashes` policy at `{path}.escaped_slashes`.
fn escaped_slashes(path: &str, raw: &str, errors: &mut Errors) -> EncodedSlash {
    raw.parse().unwrap_or_else(|message: String| {
        errors.push(format!("{path}.escaped_slashes"), message);
        EncodedSlash::Keep
    })
}

// === [resolve] ===

fn resolve(raw: &d::Resolve, errors: &mut Errors) -> Resolve {
    let configured = raw.schemes.is_some();
    let mut schemes = raw
        .schemes
        .as_ref()
        .map_or_else(Schemes::new, |table| self::schemes(table, errors));
    let labels = raw
        .listener_labels
        .as_ref()
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
        dns_servers: discovery::dns_servers(raw.dns_servers.as_deref().unwrap_or_default(), errors),
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
    table: &std::collections::BTreeMap<String, String>,
    errors: &mut Errors,
) -> Vec<(SocketAddr, String)> {
    let mut labels = Vec::new();
    for (addr, label) in table {
        let key = format!("resolve.listener_labels.{addr:?}");
        match addr.parse::<SocketAddr>() {
            Err(_) => errors.push(key, format!("not an ip:port listen address: {addr:?}")),
            Ok(_) if !valid_label(label) => errors.push(
                key,
                "a label is letters, digits, '-', '_', '+', '.' and not only digits",
            ),
            Ok(addr) => labels.push((addr, label.to_ascii_lowercase())),
        }
    }
    labels
}

fn trusted_proxies(raw: &[String], errors: &mut Errors) -> Vec<IpNet> {
    let mut nets = Vec::with_capacity(raw.len());
    for (i, cidr) in raw.iter().enumerate() {
        let text = cidr.trim();
        // A bare address means a /32 (or /128).
        let parsed = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => nets.push(net),
            Err(_) => errors.push(
                format!("resolve.trusted_proxies[{i}]"),
                format!("not a CIDR or IP address: {cidr:?}"),
            ),
        }
    }
    nets
}

fn schemes(table: &std::collections::BTreeMap<String, Vec<u16>>, errors: &mut Errors) -> Schemes {
    let mut schemes = Schemes::new();
    for (label, ports) in table {
        if !valid_label(label) {
            errors.push(
                format!("resolve.schemes.{label}"),
                "a scheme label is letters, digits, '-', '_', '+', '.' and not only digits",
            );
        } else if ports.is_empty() || ports.contains(&0) {
            errors.push(
                format!("resolve.schemes.{label}"),
                "needs one or more ports in 1..=65535",
            );
        } else {
            schemes = schemes.with(label, ports.iter().copied());
        }
    }
    schemes
}

/// The ports of the TLS listeners join the `https` label, unless the schemes give
/// them a label already, so `host:https:/path` matches requests to the TLS listeners
/// without a `[resolve] schemes` entry.
pub(crate) fn label_tls_ports(schemes: Schemes, tls_ports: &[u16]) -> Schemes {
    let mut https: Vec<u16> = schemes.ports("https").unwrap_or_default().to_vec();
    let before = https.len();
    for &port in tls_ports {
        if port != 0 && schemes.label_of(port).is_none() && !https.contains(&port) {
            https.push(port);
        }
    }
    if https.len() == before {
        schemes
    } else {
        schemes.with("https", https)
    }
}

// === [not_found] ===

fn not_found(raw: &d::NotFound, errors: &mut Errors) -> NotFound {
    let status = raw
        .status
        .map_or(StatusCode::NOT_FOUND, |s| match StatusCode::from_u16(s) {
            Ok(code) if !code.is_informational() => code,
            _ => {
                errors.push("not_found.status", format!("not a final HTTP status: {s}"));
                StatusCode::NOT_FOUND
            }
        });
    NotFound {
        status,
        body: raw.body.clone().unwrap_or_else(|| NotFound::default().body),
    }
}

/// Every error of `text`'s description, as `path: message` (for the checks' tests).
#[cfg(test)]
pub(super) fn key_errors(text: &str) -> Vec<String> {
    let description = crate::plan::Description::from_toml(text).unwrap();
    let errors = description.check().unwrap_err();
    errors
        .iter()
        .map(|e| format!("{}: {}", e.path(), e.message()))
        .collect()
}
