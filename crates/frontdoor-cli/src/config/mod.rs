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
mod tls;
mod types;
mod validate;

use std::{path::Path, str::FromStr};

pub use self::{
    error::{ConfigError, ConfigErrors},
    mirror::MirrorSettings,
    types::{
        Builtin, Compat, Config, FileRef, Matcher, NotFound, Relocate, Resolve, Route, Server,
        Target, Timeouts, TlsCert, UpstreamAddr, UpstreamTls,
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
    /// Reads and validates the config file at `path`. Relative file paths in it
    /// (certificates, keys, CAs) are relative to the file's directory; in a config
    /// parsed from text, to the current directory.
    ///
    /// # Errors
    ///
    /// Every problem in the file, or one error without a line when it cannot be read.
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::file(format!("cannot read {}: {e}", path.display())))?;
        let mut config: Self = text.parse()?;
        let dir = path.parent().unwrap_or(Path::new(""));
        config.rebase_files(dir);
        Ok(config)
    }

    /// Makes every relative file path relative to `dir`.
    fn rebase_files(&mut self, dir: &Path) {
        for cert in &mut self.tls {
            cert.cert.rebase(dir);
            cert.key.rebase(dir);
        }
        let targets = self
            .routes
            .iter_mut()
            .map(|r| &mut r.target)
            .chain(self.default.as_mut());
        for tls in targets.filter_map(|t| t.tls.as_mut()) {
            for file in [&mut tls.ca, &mut tls.cert, &mut tls.key]
                .into_iter()
                .flatten()
            {
                file.rebase(dir);
            }
        }
    }

    /// Every file the config names (certificates, keys, CAs), for reload-on-change.
    #[must_use]
    pub fn files(&self) -> Vec<&Path> {
        let certs = self.tls.iter().flat_map(|c| [&c.cert, &c.key]);
        let upstream = self
            .routes
            .iter()
            .map(|r| &r.target)
            .chain(self.default.as_ref())
            .filter_map(|t| t.tls.as_ref())
            .flat_map(|t| [&t.ca, &t.cert, &t.key].into_iter().flatten());
        certs.chain(upstream).map(|f| f.path.as_path()).collect()
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
