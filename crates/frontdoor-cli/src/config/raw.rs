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

/// `[server]`: the binary's own keys; the connection settings are the server's
/// ([`frontdoor::serve::Settings`]) and the keys of the stack the plan's, each read
/// from the same table (`rest` holds them, and any unknown key).
#[derive(Debug, Default, Deserialize)]
pub(super) struct RawServer {
    pub(super) listen: Option<Spanned<OneOrMany>>,
    pub(super) listen_tls: Option<Spanned<OneOrMany>>,
    pub(super) admin: Option<Spanned<String>>,
    pub(super) workers: Option<Spanned<i64>>,
    #[serde(flatten)]
    pub(super) rest: std::collections::BTreeMap<String, IgnoredAny>,
}

/// The `[server]` table's values, each read alone by the server's settings.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ServerSettings {
    #[serde(default)]
    pub(super) server: toml::Table,
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
