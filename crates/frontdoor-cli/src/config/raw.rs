//! The first parsing step: the file as serde reads it, with unknown keys rejected and
//! the span of every value kept, so validation can name the line of each error.

use serde::{de::IgnoredAny, Deserialize};
use toml::Spanned;

/// The server's tables of the file; the route tables are the plan's description
/// ([`frontdoor::plan::Description`]), read from the same text.
#[derive(Debug, Deserialize)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) server: RawServer,
    #[serde(default)]
    pub(super) tls: Vec<Spanned<RawTls>>,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "the keys of the stack are accepted here and read by the plan's description"
)]
pub(super) struct RawServer {
    pub(super) listen: Option<Spanned<OneOrMany>>,
    pub(super) listen_tls: Option<Spanned<OneOrMany>>,
    pub(super) tls_handshake_timeout: Option<Spanned<String>>,
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
    pub(super) min_body_rate: Option<Spanned<Size>>,
    // The keys of the stack, read by the plan's description
    // (`frontdoor::plan::description::Settings`): accepted here, so that
    // `deny_unknown_fields` still catches a typo in the table.
    forwarded: Option<IgnoredAny>,
    server_name: Option<IgnoredAny>,
    request_buffer: Option<IgnoredAny>,
    request_buffer_total: Option<IgnoredAny>,
    via: Option<IgnoredAny>,
    via_responses: Option<IgnoredAny>,
    escaped_slashes: Option<IgnoredAny>,
}

/// A `[[tls]]` certificate.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub(super) cert: Option<Spanned<String>>,
    pub(super) key: Option<Spanned<String>>,
    pub(super) hosts: Option<Spanned<Vec<String>>>,
}

/// A string or a list of strings (kept as a TOML value so its span survives).
pub(super) type OneOrMany = toml::Value;

/// A size: a number of bytes, or a string such as `"64KiB"` (kept as a TOML value so
/// its span survives).
pub(super) type Size = toml::Value;
