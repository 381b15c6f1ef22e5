//! The config file: how it is read, validated and reported on.
//!
//! The file is the text form of a plan's [`Description`](frontdoor::plan::Description)
//! (`[[route]]`, `[default]`, `[not_found]`, `[resolve]`, `[compat]` and the stack's
//! `[server]` keys), plus the server's own tables: the rest of `[server]` and
//! `[[tls]]`. Parsing happens in two steps (style R11), so that every error names its
//! line and key path and `frontdoor check` can print them all at once:
//!
//! 1. serde reads the text: the description ([`frontdoor::plan::Description::from_toml`])
//!    and the server's tables (`raw`), rejecting unknown keys;
//! 2. every value becomes typed: the description by [`Description::check`]
//!    (routes, cleanup rules, upstream URLs, each checked by the crate that runs it),
//!    the server's tables here; every problem is collected as a [`ConfigError`] with
//!    its line and key path.
//!
//! Route specs are checked when the plan is built ([`crate::stack`]).
//!
//! [`Description::check`]: frontdoor::plan::Description::check
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
//! assert_eq!(config.plan.routes[0].matcher.to_string(), "www.example.com::/svn");
//! assert!(matches!(config.plan.routes[0].target.upstreams[0], UpstreamAddr::Url(_)));
//!
//! let errors = "[server]\nadmin = \"x\"\n".parse::<Config>().unwrap_err();
//! assert_eq!(errors.to_string(), "line 2: server.admin: not an ip:port address: \"x\"");
//! # Ok::<_, frontdoor_cli::config::ConfigErrors>(())
//! ```

mod error;
mod raw;
mod server;
mod tls;
mod types;
mod validate;

use std::{path::Path, str::FromStr};

pub use self::{
    error::{ConfigError, ConfigErrors},
    types::{Config, FileRef, Server, TlsCert, DEFAULT_DRAIN_DELAY},
};
pub use frontdoor::plan::checked::{
    Builtin, Matcher, MirrorSettings, Relocate, Route, Target, UpstreamAddr, UpstreamTls,
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
        self.plan.rebase_files(dir);
    }

    /// Every file the config names (certificates, keys, CAs), for reload-on-change.
    #[must_use]
    pub fn files(&self) -> Vec<&Path> {
        let certs = self.tls.iter().flat_map(|c| [&c.cert, &c.key]);
        certs
            .map(|f| f.path.as_path())
            .chain(self.plan.files())
            .collect()
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
