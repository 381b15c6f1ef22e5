//! The config file: how it is read, validated and reported on.
//!
//! Parsing happens in two steps (style R11), so that every error names its line and
//! key path and `frontdoor check` can print them all at once:
//!
//! 1. `raw`: serde reads the text into raw structs that reject unknown keys and keep
//!    the span of every value;
//! 2. `validate`: every value becomes typed (addresses, URIs, durations, statuses),
//!    and every problem is collected as a [`ConfigError`] with its line and key path.
//!    Upstream URLs and `host` policies are checked by the upstream client itself
//!    ([`frontdoor_upstream::Upstream::new`], [`frontdoor_upstream::HostPolicy`]).
//!
//! Route specs and cleanup rules are checked when the stack is built
//! ([`crate::build`]), by the route and cleanup crates.
//!
//! # Example
//!
//! ```
//! use frontdoor_cli::config::{Config, UpstreamAddr};
//!
//! let config: Config = r#"
//! [[route]]
//! spec = "www.example.com::/svn"
//! upstream = "http://127.0.0.1:8081/repos"
//! "#.parse()?;
//! assert_eq!(config.routes[0].line, 3);
//! assert!(matches!(config.routes[0].target.upstreams[0], UpstreamAddr::Url(_)));
//!
//! let errors = "[server]\nadmin = \"x\"\n".parse::<Config>().unwrap_err();
//! assert_eq!(errors.to_string(), "line 2: server.admin: not an ip:port address: \"x\"");
//! # Ok::<_, frontdoor_cli::config::ConfigErrors>(())
//! ```

mod error;
mod mirror;
mod raw;
mod server;
mod types;
mod validate;

use std::{path::Path, str::FromStr};

pub use self::{
    error::{ConfigError, ConfigErrors},
    types::{
        Builtin, Compat, Config, Matcher, NotFound, Relocate, Resolve, Route, Server, SharedLimits,
        Target, Timeouts, UpstreamAddr,
    },
};

/// The embedded demo config (`frontdoor serve` without `-c`).
pub const EMBEDDED: &str = include_str!("../default.toml");

impl FromStr for Config {
    type Err = ConfigErrors;

    /// Parses and validates a config file's text, returning every error found.
    fn from_str(src: &str) -> Result<Self, ConfigErrors> {
        validate::parse(src)
    }
}

impl Config {
    /// Reads and validates the config file at `path`.
    ///
    /// # Errors
    ///
    /// Every problem in the file, or one error without a line when it cannot be read.
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::file(format!("cannot read {}: {e}", path.display())))?;
        text.parse()
    }

    /// The embedded demo config ([`EMBEDDED`]).
    ///
    /// # Errors
    ///
    /// None in practice: the demo is tested to parse.
    pub fn embedded() -> Result<Self, ConfigErrors> {
        EMBEDDED.parse()
    }
}

#[cfg(test)]
mod tests;
