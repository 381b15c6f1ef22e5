//! The validated config: what [`Config::from_str`](std::str::FromStr) returns: the
//! server's settings and certificates, and the plan's checked description of the
//! routes ([`Checked`]).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use frontdoor::plan::Checked;

use super::ConfigError;

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

/// Declares [`Server`] and its [`Server::changed_keys`] from one list of keys: every
/// key is a reload-time difference unless listed after `applied`.
macro_rules! server_settings {
    ($( $(#[$doc:meta])* $key:ident: $ty:ty, )*) => {
        /// `[server]`: what the listeners and connections are started with.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub struct Server {
            $( $(#[$doc])* pub $key: $ty, )*
        }

        impl Server {
            /// The `[server]` keys whose value differs in `new`, each with the key path
            /// (`server.header_timeout`): what a reload cannot apply to running
            /// listeners (the keys of the stack are the plan's, which a reload applies).
            #[must_use]
            pub fn changed_keys(&self, new: &Self) -> Vec<&'static str> {
                let mut keys = Vec::new();
                $( if self.$key != new.$key {
                    keys.push(concat!("server.", stringify!($key)));
                } )*
                keys
            }
        }
    };
}

server_settings! {
    /// The listen addresses (default `127.0.0.1:8080`).
    listen: Vec<SocketAddr>,
    /// The TLS (HTTPS) listen addresses (default: none).
    listen_tls: Vec<SocketAddr>,
    /// How long a TLS client may take to complete its handshake.
    tls_handshake_timeout: Option<Duration>,
    /// The admin listener (`/metrics`, `/routes`, `/healthz`).
    admin: Option<SocketAddr>,
    /// Worker threads; `None` means one per core.
    workers: Option<usize>,
    /// How long a request head may take.
    header_timeout: Option<Duration>,
    /// How long a request body may stay idle.
    body_timeout: Option<Duration>,
    /// How long shutdown waits for requests in flight.
    drain_timeout: Option<Duration>,
    /// The connection limit over all workers.
    max_connections: Option<usize>,
    /// How long a connection with nothing in flight is kept.
    idle_timeout: Option<Duration>,
    /// How long a client may accept no response bytes.
    send_timeout: Option<Duration>,
    /// The connection limit per client address (IPv6: per /64); 0 is no limit.
    max_connections_per_ip: usize,
    /// Whether connections start with a PROXY protocol header.
    proxy_protocol: bool,
    /// The request head cap, in bytes.
    max_header_bytes: Option<usize>,
    /// The cap on request header lines.
    max_headers: Option<usize>,
    /// The cap on concurrent HTTP/2 streams per connection.
    h2_max_concurrent_streams: Option<u32>,
    /// The request body cap, in bytes; 0 is no cap.
    max_request_body: u64,
    /// The lowest average request body rate, in bytes a second, once a body has kept
    /// the front door waiting for longer than `body_timeout`; 0 is none.
    min_body_rate: u64,
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
