//! The validated config: what [`Config::from_str`](std::str::FromStr) returns: the
//! server's settings and certificates, and the plan's checked description of the
//! routes ([`Checked`]).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use frontdoor::{plan::Checked, serve::Settings};

use super::error::ConfigError;

/// A validated config file. See the [module docs](super).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// `[server]`: the listeners' settings (the keys of the stack are in `plan`).
    pub server: Server,
    /// The routes, targets and stack settings, checked: what the plan is built from.
    pub plan: Checked,
    /// The `[[tls]]` certificates, in file order (the first is the default).
    pub tls: Vec<TlsCert>,
    /// What is allowed but probably not meant (`verify = false`, certificates without
    /// a TLS listener), each with its line and key path, for `check` and the log.
    pub warnings: Vec<ConfigError>,
    /// The text, for the lines of errors found building the plan.
    pub(super) text: std::sync::Arc<str>,
}

impl Config {
    /// The text the config was read from.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// How long the front listeners keep serving after SIGTERM when `[server]
/// drain_delay` is not set: 5 seconds, while `/healthz` answers 503 and balancers take
/// the instance out. (The server's own default is none: a program without a health
/// check gains nothing from the wait.)
pub const DEFAULT_DRAIN_DELAY: Duration = Duration::from_secs(5);

/// `[server]`: the listeners, the workers, the admin listener and the connection
/// settings they are started with (the keys of the stack are the plan's).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Server {
    /// The listen addresses (default `127.0.0.1:8080`).
    pub listen: Vec<SocketAddr>,
    /// The TLS (HTTPS) listen addresses (default: none).
    pub listen_tls: Vec<SocketAddr>,
    /// The admin listener (`/metrics`, `/routes`, `/healthz`).
    pub admin: Option<SocketAddr>,
    /// Worker threads; `None` means one per core.
    pub workers: Option<usize>,
    /// The connection settings (`header_timeout`, `max_connections`, ...), as the
    /// server takes them.
    pub settings: Settings,
}

impl Server {
    /// The `[server]` keys whose value differs in `new`, each with the key path
    /// (`server.header_timeout`): what a reload cannot apply to running listeners
    /// (the keys of the stack are the plan's, which a reload applies).
    #[must_use]
    pub fn changed_keys(&self, new: &Self) -> Vec<String> {
        let own = [
            ("listen", self.listen != new.listen),
            ("listen_tls", self.listen_tls != new.listen_tls),
            ("admin", self.admin != new.admin),
            ("workers", self.workers != new.workers),
        ];
        let own = own
            .into_iter()
            .filter(|(_, changed)| *changed)
            .map(|(k, _)| k);
        own.chain(self.settings.changed_keys(&new.settings))
            .map(|key| format!("server.{key}"))
            .collect()
    }
}

/// A file named by the config: its path (relative paths are relative to the config
/// file, once [`Config::load`] has read it) and the line that names it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileRef {
    /// The file.
    pub path: PathBuf,
    /// The line of the key that names it.
    pub line: usize,
}

impl FileRef {
    /// `path` named at `line`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>, line: usize) -> Self {
        Self {
            path: path.into(),
            line,
        }
    }

    /// Makes a relative path relative to `dir`.
    pub(super) fn rebase(&mut self, dir: &Path) {
        if self.path.is_relative() {
            self.path = dir.join(&self.path);
        }
    }
}

/// One `[[tls]]`: a certificate chain, its key, and the names it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsCert {
    /// Position in the file (0-based), for error paths (`tls[N]`).
    pub index: usize,
    /// The PEM certificate chain (end-entity certificate first).
    pub cert: FileRef,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: FileRef,
    /// The names served (DNS names and `*.` wildcards), normalised; `None`: the
    /// certificate's own DNS names.
    pub hosts: Option<Vec<String>>,
    /// The line of `hosts`, when given.
    pub hosts_line: Option<usize>,
}
