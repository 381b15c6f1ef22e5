//! The validated config: what [`Config::from_str`](std::str::FromStr) returns, in
//! typed form (addresses, URIs, durations, statuses).

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use super::{ConfigError, MirrorSettings};
use frontdoor_core::{EncodedSlash, Schemes};
use frontdoor_route::{Mode, RouteSpec};
use frontdoor_upstream::{Forwarding, HostPolicy, UpgradeProtocols, UpstreamConfigError};
use http::{StatusCode, Uri};
use ipnet::IpNet;

/// A validated config file. See the [module docs](super).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// `[server]`.
    pub server: Server,
    /// `[resolve]`.
    pub resolve: Resolve,
    /// The `[[route]]`s, in file (and match) order.
    pub routes: Vec<Route>,
    /// `[default]`: where a miss goes, if anywhere.
    pub default: Option<Target>,
    /// `[not_found]`: the answer to a miss when there is no default.
    pub not_found: NotFound,
    /// `[compat]`.
    pub compat: Compat,
    /// The `[[tls]]` certificates, in file order (the first is the default).
    pub tls: Vec<TlsCert>,
    /// What is allowed but probably not meant (`verify = false`, certificates without
    /// a TLS listener), each with its line and key path, for `check` and the log.
    pub warnings: Vec<ConfigError>,
}

/// `[server]`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Server {
    /// The listen addresses (default `127.0.0.1:8080`).
    pub listen: Vec<SocketAddr>,
    /// The TLS (HTTPS) listen addresses (default: none).
    pub listen_tls: Vec<SocketAddr>,
    /// How long a TLS client may take to complete its handshake.
    pub tls_handshake_timeout: Option<Duration>,
    /// Whether upstreams also get an RFC 7239 `Forwarded` header (`for`, `proto`,
    /// `host`) beside `X-Forwarded-For/-Proto/-Host`. Default `false`.
    pub forwarded: bool,
    /// The host used when a request has none (HTTP/1.0), lowercased.
    pub server_name: Option<String>,
    /// The admin listener (`/metrics`, `/routes`, `/healthz`).
    pub admin: Option<SocketAddr>,
    /// Worker threads; `None` means one per core.
    pub workers: Option<usize>,
    /// How long a request head may take.
    pub header_timeout: Option<Duration>,
    /// How long a request body may stay idle.
    pub body_timeout: Option<Duration>,
    /// How long shutdown waits for requests in flight.
    pub drain_timeout: Option<Duration>,
    /// The connection limit over all workers.
    pub max_connections: Option<usize>,
    /// How long a connection with nothing in flight is kept.
    pub idle_timeout: Option<Duration>,
    /// How long a client may accept no response bytes.
    pub send_timeout: Option<Duration>,
    /// The connection limit per client address (IPv6: per /64); 0 is no limit.
    pub max_connections_per_ip: usize,
    /// Whether connections start with a PROXY protocol header.
    pub proxy_protocol: bool,
    /// The request head cap, in bytes.
    pub max_header_bytes: Option<usize>,
    /// The cap on request header lines.
    pub max_headers: Option<usize>,
    /// The cap on concurrent HTTP/2 streams per connection.
    pub h2_max_concurrent_streams: Option<u32>,
    /// The request body cap, in bytes; 0 is no cap.
    pub max_request_body: u64,
    /// Request bodies up to this many bytes are read before the upstream request
    /// starts (a target's own `request_buffer` overrides it); 0 streams every body.
    pub request_buffer: u64,
    /// The bytes all buffered request bodies may hold at once, over every worker;
    /// past it a body streams instead (the budget itself is in the shared state,
    /// `crate::state::SharedState`).
    pub request_buffer_total: u64,
    /// The lowest average request body rate, in bytes a second, once a body has kept
    /// the front door waiting for longer than `body_timeout`; 0 is none.
    pub min_body_rate: u64,
    /// The `Via` pseudonym on forwarded requests (`frontdoor` by default); `None`
    /// when `via = false`.
    pub via: Option<String>,
    /// Whether responses get a `Via` too (default: no).
    pub via_responses: bool,
    /// What the resolver does with `%2F`, `%5C`, `\` and `..;` in the request path
    /// and the path of a WebDAV `Destination` (default: keep).
    pub escaped_slashes: EncodedSlash,
}

impl Server {
    /// The forwarding headers written towards every upstream (a route's, and its
    /// mirror's shadow): the defaults, with `via`, `via_responses` and `forwarded`.
    ///
    /// # Errors
    ///
    /// When the `Via` pseudonym is not a token (a validated config's always is).
    pub fn forwarding(&self) -> Result<Forwarding, UpstreamConfigError> {
        let forwarding = match &self.via {
            Some(pseudonym) => Forwarding::default().via(pseudonym)?,
            None => Forwarding::default().no_via(),
        };
        Ok(forwarding
            .via_responses(self.via_responses)
            .forwarded(self.forwarded))
    }

    /// The `[server]` keys whose value differs in `new`, each with the key path
    /// (`server.header_timeout`): what a reload cannot apply to running listeners.
    /// `server_name` is not among them: it is part of the stack a reload rebuilds.
    #[must_use]
    pub fn changed_keys(&self, new: &Self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        let mut check = |key: &'static str, changed: bool| {
            if changed {
                keys.push(key);
            }
        };
        check("server.listen", self.listen != new.listen);
        check("server.listen_tls", self.listen_tls != new.listen_tls);
        check(
            "server.tls_handshake_timeout",
            self.tls_handshake_timeout != new.tls_handshake_timeout,
        );
        check("server.admin", self.admin != new.admin);
        check("server.workers", self.workers != new.workers);
        check(
            "server.header_timeout",
            self.header_timeout != new.header_timeout,
        );
        check("server.body_timeout", self.body_timeout != new.body_timeout);
        check(
            "server.drain_timeout",
            self.drain_timeout != new.drain_timeout,
        );
        check(
            "server.max_connections",
            self.max_connections != new.max_connections,
        );
        check("server.idle_timeout", self.idle_timeout != new.idle_timeout);
        check("server.send_timeout", self.send_timeout != new.send_timeout);
        check(
            "server.max_connections_per_ip",
            self.max_connections_per_ip != new.max_connections_per_ip,
        );
        check(
            "server.proxy_protocol",
            self.proxy_protocol != new.proxy_protocol,
        );
        check(
            "server.max_header_bytes",
            self.max_header_bytes != new.max_header_bytes,
        );
        check("server.max_headers", self.max_headers != new.max_headers);
        check(
            "server.h2_max_concurrent_streams",
            self.h2_max_concurrent_streams != new.h2_max_concurrent_streams,
        );
        check(
            "server.max_request_body",
            self.max_request_body != new.max_request_body,
        );
        check(
            "server.min_body_rate",
            self.min_body_rate != new.min_body_rate,
        );
        check(
            "server.request_buffer_total",
            self.request_buffer_total != new.request_buffer_total,
        );
        keys
    }
}

/// `[resolve]`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Resolve {
    /// Peers whose forwarding headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Scheme labels for the port field of specs (`http`, `https` by default).
    pub schemes: Schemes,
    /// Whether `schemes` (or `listener_labels`) was configured: then the resolver
    /// stamps scheme labels, so regex specs see `host:label:path`.
    pub by_scheme: bool,
    /// `listener_labels`: the by-scheme label of requests arriving on each listen
    /// address, before TLS or the `Host` port is considered. Each label is also in
    /// `schemes` (with no ports when it was not there).
    pub listener_labels: Vec<(SocketAddr, String)>,
}

/// One `[[route]]`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Route {
    /// Position in the file (0-based), for error paths (`route[N]`).
    pub index: usize,
    /// Line of the route's spec or regex.
    pub line: usize,
    /// What the route matches.
    pub matcher: Matcher,
    /// Where it sends requests.
    pub target: Target,
}

/// How a route matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Matcher {
    /// A `host:port:path` spec.
    Spec(String),
    /// A regex over `host:port:path`.
    Regex(String),
}

impl Matcher {
    /// The route crate's spec for this matcher.
    #[must_use]
    pub fn route_spec(&self) -> RouteSpec {
        match self {
            Self::Spec(s) => RouteSpec::from(s.as_str()),
            Self::Regex(r) => RouteSpec::regex(r.as_str()),
        }
    }

    /// The config key the matcher came from: `spec` or `regex`.
    #[must_use]
    pub const fn key(&self) -> &'static str {
        match self {
            Self::Spec(_) => "spec",
            Self::Regex(_) => "regex",
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Spec(s) => f.write_str(s),
            Self::Regex(r) => write!(f, "regex {r}"),
        }
    }
}

/// Where a route (or the default) sends requests, and how: data only (the semaphores,
/// connection caps and mirror layer it needs at run time are in the shared state,
/// `crate::state::SharedState`), compared whole to decide what a reload keeps.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Target {
    /// One or more upstreams (several are balanced).
    pub upstreams: Vec<UpstreamAddr>,
    /// The relocation profile.
    pub relocate: Relocate,
    /// The `Host` the upstream receives.
    pub host: HostPolicy,
    /// Cleanup rules in shortcut syntax, in file order (`None` is the value `None`).
    pub cleanup: Vec<(String, String)>,
    /// Upstream timeouts.
    pub timeouts: Timeouts,
    /// Traffic shadowing to another upstream, when configured (`mirror = { .. }`).
    pub mirror: Option<MirrorSettings>,
    /// The most requests in flight on this target (to their response head), over
    /// all workers; over it requests are answered 503 at once. 0 is no limit.
    pub max_in_flight: usize,
    /// The most connections to each of the target's upstreams, over all workers; 0
    /// is no cap.
    pub upstream_max_connections: usize,
    /// Answer plaintext requests with a 308 to `https://` (served normally over TLS).
    pub redirect_https: bool,
    /// How to reach `https://` upstreams, when set.
    pub tls: Option<UpstreamTls>,
    /// A route's narrowing of `[server] escaped_slashes`: `Some(Reject)` refuses
    /// escaped slashes on this route, in the request path and `Destination`'s,
    /// whatever the server keeps.
    pub escaped_slashes: Option<EncodedSlash>,
    /// Whether `CONNECT` is forwarded (and tunnelled) to the upstream; else 405.
    pub connect: bool,
    /// The target's own `request_buffer`, overriding `[server] request_buffer` (0:
    /// this target streams every body).
    pub request_buffer: Option<u64>,
    /// The `Upgrade` protocols proxied to the upstream (`upgrades`, default
    /// `["websocket"]`; empty: none). Never `h2c`.
    pub upgrades: UpgradeProtocols,
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

/// A target's `tls = { .. }`: how the front door talks TLS to its `https://`
/// upstreams.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpstreamTls {
    /// The line of the `tls` table.
    pub line: usize,
    /// PEM CA certificates trusted instead of the webpki roots.
    pub ca: Option<FileRef>,
    /// The name sent as SNI and verified, instead of the URL's host.
    pub server_name: Option<String>,
    /// Whether the upstream's certificate is verified (default `true`).
    pub verify: bool,
    /// A PEM client certificate chain, for upstreams that require one (mTLS).
    pub cert: Option<FileRef>,
    /// The client certificate's PEM key.
    pub key: Option<FileRef>,
}

/// One upstream address, as accepted by [`frontdoor_upstream::Upstream::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpstreamAddr {
    /// A built-in demo backend, started on a loopback port.
    Builtin(Builtin),
    /// An `http://` (or, with TLS, `https://`) base URI.
    Url(Uri),
}

impl fmt::Display for UpstreamAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Builtin(b) => write!(f, "builtin:{}", b.name()),
            Self::Url(u) => write!(f, "{u}"),
        }
    }
}

/// The built-in demo backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Builtin {
    /// `builtin:echo`: answers with a JSON description of the request.
    Echo,
    /// `builtin:redirect`: answers 302 with an absolute `Location` and a cookie.
    Redirect,
}

impl Builtin {
    /// The name after `builtin:`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Echo => "echo",
            Self::Redirect => "redirect",
        }
    }
}

/// The relocation profile of a route (`relocate = "none" | "plain" | "webdav" | "svn"
/// | "html"`): the relocation layer's own [`Profile`](frontdoor_relocate::Profile).
pub use frontdoor_relocate::Profile as Relocate;

/// Per-route upstream timeouts; `None` keeps the upstream client's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// TCP connect.
    pub connect: Option<Duration>,
    /// Request sent to response head.
    pub response: Option<Duration>,
    /// Longest pause in the upstream body.
    pub idle: Option<Duration>,
}

/// `[not_found]`: the abort404 answer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NotFound {
    /// The status (404 by default).
    pub status: StatusCode,
    /// The `text/plain` body, sent byte for byte (`Not Found\n` by default).
    pub body: String,
}

impl Default for NotFound {
    fn default() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            body: "Not Found\n".to_owned(),
        }
    }
}

/// `[compat]`.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct Compat {
    /// WFront 0.4 matching quirks.
    pub wfront04: bool,
}

impl Compat {
    /// The matching mode of routes and cleanup rules.
    #[must_use]
    pub const fn mode(self) -> Mode {
        if self.wfront04 {
            Mode::Wfront04
        } else {
            Mode::Strict
        }
    }
}
