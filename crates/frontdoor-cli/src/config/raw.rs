//! The first parsing step: the file as serde reads it, with unknown keys rejected and
//! the span of every value kept, so validation can name the line of each error.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) server: RawServer,
    #[serde(default)]
    pub(super) resolve: RawResolve,
    #[serde(default, rename = "route")]
    pub(super) routes: Vec<RawTarget>,
    pub(super) default: Option<RawTarget>,
    pub(super) not_found: Option<RawNotFound>,
    #[serde(default)]
    pub(super) compat: RawCompat,
    #[serde(default)]
    pub(super) tls: Vec<Spanned<RawTls>>,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) listen: Option<Spanned<OneOrMany>>,
    pub(super) listen_tls: Option<Spanned<OneOrMany>>,
    pub(super) forwarded: Option<bool>,
    pub(super) tls_handshake_timeout: Option<Spanned<String>>,
    pub(super) server_name: Option<Spanned<String>>,
    pub(super) admin: Option<Spanned<String>>,
    pub(super) workers: Option<Spanned<i64>>,
    pub(super) header_timeout: Option<Spanned<String>>,
    pub(super) body_timeout: Option<Spanned<String>>,
    pub(super) drain_timeout: Option<Spanned<String>>,
    pub(super) max_connections: Option<Spanned<i64>>,
    pub(super) idle_timeout: Option<Spanned<String>>,
    pub(super) send_timeout: Option<Spanned<String>>,
    pub(super) max_connections_per_ip: Option<Spanned<i64>>,
    pub(super) proxy_protocol: Option<bool>,
    pub(super) max_header_bytes: Option<Spanned<Size>>,
    pub(super) max_headers: Option<Spanned<i64>>,
    pub(super) h2_max_concurrent_streams: Option<Spanned<i64>>,
    pub(super) max_request_body: Option<Spanned<Size>>,
    pub(super) request_buffer: Option<Spanned<Size>>,
    pub(super) request_buffer_total: Option<Spanned<Size>>,
    pub(super) min_body_rate: Option<Spanned<Size>>,
    pub(super) via: Option<Spanned<toml::Value>>,
    pub(super) via_responses: Option<bool>,
    pub(super) escaped_slashes: Option<Spanned<String>>,
}

/// `[resolve]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResolve {
    #[serde(default)]
    pub(super) trusted_proxies: Vec<Spanned<String>>,
    pub(super) schemes: Option<Spanned<BTreeMap<String, Vec<u16>>>>,
    pub(super) listener_labels: Option<Spanned<BTreeMap<String, String>>>,
}

/// A `[[route]]` or the `[default]`: a matcher (routes only) and the target keys.
///
/// One struct for both, because serde's `flatten` would lose the spans and
/// `deny_unknown_fields`; validation refuses a matcher in `[default]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub(super) spec: Option<Spanned<String>>,
    pub(super) regex: Option<Spanned<String>>,
    pub(super) upstream: Option<Spanned<OneOrMany>>,
    pub(super) relocate: Option<Spanned<String>>,
    pub(super) host: Option<Spanned<String>>,
    pub(super) cleanup: Option<Spanned<toml::Table>>,
    pub(super) timeouts: Option<Spanned<RawTimeouts>>,
    pub(super) mirror: Option<Spanned<RawMirror>>,
    pub(super) max_in_flight: Option<Spanned<i64>>,
    pub(super) upstream_max_connections: Option<Spanned<i64>>,
    pub(super) redirect_https: Option<Spanned<bool>>,
    pub(super) tls: Option<Spanned<RawUpstreamTls>>,
    pub(super) escaped_slashes: Option<Spanned<String>>,
    pub(super) connect: Option<bool>,
    pub(super) request_buffer: Option<Spanned<Size>>,
    pub(super) upgrades: Option<Spanned<toml::Value>>,
}

/// `mirror = { .. }` of a target.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMirror {
    pub(super) upstream: Spanned<String>,
    pub(super) sample: Option<Spanned<f64>>,
    pub(super) methods: Option<Spanned<Vec<String>>>,
    pub(super) max_in_flight: Option<Spanned<i64>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) compare: Option<Spanned<Vec<String>>>,
    pub(super) host: Option<Spanned<String>>,
    pub(super) strip_headers: Option<Spanned<Vec<String>>>,
}

/// A `[[tls]]` certificate.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub(super) cert: Option<Spanned<String>>,
    pub(super) key: Option<Spanned<String>>,
    pub(super) hosts: Option<Spanned<Vec<String>>>,
}

/// `tls = { .. }` of a target: how to reach an `https://` upstream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstreamTls {
    pub(super) ca: Option<Spanned<String>>,
    pub(super) server_name: Option<Spanned<String>>,
    pub(super) verify: Option<Spanned<bool>>,
    pub(super) cert: Option<Spanned<String>>,
    pub(super) key: Option<Spanned<String>>,
}

/// `timeouts = { .. }` of a target.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTimeouts {
    pub(super) connect: Option<Spanned<String>>,
    pub(super) response: Option<Spanned<String>>,
    pub(super) idle: Option<Spanned<String>>,
}

/// `[not_found]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotFound {
    pub(super) status: Option<Spanned<u16>>,
    pub(super) body: Option<String>,
}

/// `[compat]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCompat {
    #[serde(default)]
    pub(super) wfront04: bool,
}

/// A string or a list of strings (kept as a TOML value so its span survives).
pub(super) type OneOrMany = toml::Value;

/// A size: a number of bytes, or a string such as `"64KiB"` (kept as a TOML value so
/// its span survives).
pub(super) type Size = toml::Value;

/// The strings of a [`OneOrMany`], or `None` when it is neither.
pub(super) fn strings(value: &OneOrMany) -> Option<Vec<String>> {
    match value {
        toml::Value::String(s) => Some(vec![s.clone()]),
        toml::Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}
