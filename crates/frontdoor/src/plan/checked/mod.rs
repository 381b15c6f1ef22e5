//! A checked description: what [`Description::check`](super::Description::check)
//! returns, every value in typed form (addresses, URIs, durations, statuses), compared
//! whole on reload to decide which shared state carries over.

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use frontdoor_core::{EncodedSlash, Schemes};
use frontdoor_route::{Mode, Prefix, RouteSpec};
use frontdoor_upstream::{Forwarding, HostPolicy, UpgradeProtocols, UpstreamConfigError};
use http::{StatusCode, Uri};
use ipnet::IpNet;

use frontdoor_mirror::{Comparator, HostMark};
use http::{HeaderName, Method};

use super::error::PlanError;

mod traffic;

pub use self::traffic::{DiscoverySettings, DnsRecords, HealthCheckSettings, RateLimitSettings};

/// A checked [`Description`](super::Description). See the [module docs](self).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Checked {
    /// The `[server]` keys of the stack.
    pub settings: Settings,
    /// `[resolve]`.
    pub resolve: Resolve,
    /// The `[[route]]`s, in match order.
    pub routes: Vec<Route>,
    /// `[default]`: where a miss goes, if anywhere.
    pub default: Option<Target>,
    /// `[not_found]`: the answer to a miss when there is no default.
    pub not_found: NotFound,
    /// `[compat]`.
    pub compat: Compat,
    /// What is allowed but probably not meant (`verify = false`), each with its key
    /// path.
    pub warnings: Vec<PlanError>,
}

impl Checked {
    /// Every target: the routes' in order, then the default's.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.routes
            .iter()
            .map(|r| &r.target)
            .chain(self.default.as_ref())
    }

    /// Makes every relative file path (a target's CA, client certificate and key, the
    /// span exporter's CA) relative to `dir`.
    pub fn rebase_files(&mut self, dir: &Path) {
        let targets = self
            .routes
            .iter_mut()
            .map(|r| &mut r.target)
            .chain(self.default.as_mut());
        let export = self.settings.export.as_mut().and_then(|e| e.ca.as_mut());
        let files = targets
            .filter_map(|t| t.tls.as_mut())
            .flat_map(|tls| [&mut tls.ca, &mut tls.cert, &mut tls.key])
            .flatten()
            .chain(export);
        for file in files {
            if file.is_relative() {
                *file = dir.join(&*file);
            }
        }
    }

    /// Every file the description names (CAs, client certificates, keys).
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        let export = self.settings.export.as_ref().and_then(|e| e.ca.as_ref());
        self.targets()
            .filter_map(|t| t.tls.as_ref())
            .flat_map(|t| [&t.ca, &t.cert, &t.key].into_iter().flatten())
            .chain(export)
            .map(PathBuf::as_path)
    }

    /// The built-in backends the targets name, sorted, each once.
    #[must_use]
    pub fn builtins(&self) -> Vec<Builtin> {
        let mut used: Vec<Builtin> = self
            .targets()
            .flat_map(|t| &t.upstreams)
            .filter_map(|u| match u {
                UpstreamAddr::Builtin(b) => Some(*b),
                UpstreamAddr::Url(_) | UpstreamAddr::Service(_) => None,
            })
            .collect();
        used.sort();
        used.dedup();
        used
    }

    /// Every `service:NAME` upstream, with the key path of its `upstream`
    /// (`route[0].upstream`, `default.upstream`): the services the plan's
    /// [`Options`](super::Options) must register.
    #[must_use]
    pub fn services(&self) -> Vec<(String, &str)> {
        let routes = self
            .routes
            .iter()
            .map(|r| (format!("route[{}]", r.index), &r.target));
        let default = self.default.iter().map(|t| ("default".to_owned(), t));
        routes
            .chain(default)
            .filter_map(|(path, t)| t.service().map(|name| (format!("{path}.upstream"), name)))
            .collect()
    }
}

/// The `[server]` keys of the stack, checked.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Settings {
    /// Whether upstreams also get an RFC 7239 `Forwarded` header (`for`, `proto`,
    /// `host`) beside `X-Forwarded-For/-Proto/-Host`. Default `false`.
    pub forwarded: bool,
    /// The host used when a request has none (HTTP/1.0), lowercased.
    pub server_name: Option<String>,
    /// Request bodies up to this many bytes are read before the upstream request
    /// starts (a target's own `request_buffer` overrides it); 0 streams every body.
    /// Default 64 KiB.
    pub request_buffer: u64,
    /// The bytes all buffered request bodies may hold at once, over every worker;
    /// past it a body streams instead. Default 64 MiB.
    pub request_buffer_total: u64,
    /// The most bytes a compressed body being relocated (gzip, deflate, br, zstd)
    /// may decode to; past it the body is cut off. Default 1 GiB.
    pub max_decoded_body: u64,
    /// The `Via` pseudonym on forwarded requests (`frontdoor` by default); `None`
    /// when `via = false`.
    pub via: Option<String>,
    /// Whether responses get a `Via` too (default: no).
    pub via_responses: bool,
    /// What the resolver does with `%2F`, `%5C`, `\` and `..;` in the request path
    /// and the path of a WebDAV `Destination` (default: keep).
    pub escaped_slashes: EncodedSlash,
    /// The request ID header (`x-request-id` by default); `None` when
    /// `request_id = false`.
    pub request_id: Option<http::HeaderName>,
    /// Whether a sane request ID from any client is kept (default: only from trusted
    /// proxies).
    pub trust_request_id: bool,
    /// `[tracing] trust_client_trace`: whether a client's `traceparent` is continued
    /// (default: only a trusted proxy's).
    pub trust_client_trace: bool,
    /// `[tracing] sample_ratio`: the fraction of new traces sampled (default 1).
    pub sample_ratio: f64,
    /// `[tracing] otlp_endpoint` and its settings: where spans are exported, if
    /// anywhere.
    pub export: Option<crate::telemetry::ExportConfig>,
}

impl Settings {
    /// The forwarding headers written towards every upstream (a route's, and its
    /// mirror's shadow): the defaults, with `via`, `via_responses` and `forwarded`.
    ///
    /// # Errors
    ///
    /// When the `Via` pseudonym is not a token (a checked one always is).
    pub fn forwarding(&self) -> Result<Forwarding, UpstreamConfigError> {
        let forwarding = match &self.via {
            Some(pseudonym) => Forwarding::default().via(pseudonym)?,
            None => Forwarding::default().no_via(),
        };
        Ok(forwarding
            .via_responses(self.via_responses)
            .forwarded(self.forwarded))
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
    /// `dns_servers`: the name servers DNS discovery asks; empty: the system's.
    pub dns_servers: Vec<SocketAddr>,
}

/// One `[[route]]`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Route {
    /// Position in the file (0-based), for error paths (`route[N]`).
    pub index: usize,
    /// Its `name`, when it has one: unique among the routes, and never `default` or
    /// `not_found`.
    pub name: Option<String>,
    /// What the route matches.
    pub matcher: Matcher,
    /// Where it sends requests.
    pub target: Target,
}

impl Route {
    /// The route's label in [`Served`](super::Served) (so in metrics and access
    /// lines) and in the route table: its name, else `route[N]`. A named route keeps
    /// its label when a reload moves it.
    #[must_use]
    pub fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("route[{}]", self.index))
    }
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
/// [`super::state`]), compared whole to decide what a reload keeps.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Target {
    /// One or more upstreams (several are balanced).
    pub upstreams: Vec<UpstreamAddr>,
    /// The relocation profile.
    pub relocate: Relocate,
    /// What the router does with the matched path prefix (`strip_prefix`): consumed
    /// (the default) or kept. Always [`Prefix::Consume`] on the default target.
    pub prefix: Prefix,
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
    /// The request rate limit, over all workers, when configured
    /// (`rate_limit = { .. }`).
    pub rate_limit: Option<RateLimitSettings>,
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
    /// Response compression (`compress`), when on.
    pub compress: Option<Compression>,
    /// Active health checks of each upstream address, when configured.
    pub health_check: Option<HealthCheckSettings>,
    /// DNS discovery of the upstreams' addresses, when configured.
    pub discovery: Option<DiscoverySettings>,
}

impl Target {
    /// The name of the service the target ends in, when its upstream is
    /// `service:NAME` (then it is the only one).
    #[must_use]
    pub fn service(&self) -> Option<&str> {
        self.upstreams.iter().find_map(|u| match u {
            UpstreamAddr::Service(name) => Some(name.as_str()),
            _ => None,
        })
    }
}

/// A target's checked `compress`: which algorithms, from what size, which types
/// ([`Compression::layer`] builds the layer).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Compression {
    /// `algorithms`, in order of preference (default zstd, br, gzip).
    pub algorithms: Vec<crate::compress::Algorithm>,
    /// `min_size`: answers known to be shorter are not compressed (default 1 KiB).
    pub min_size: u64,
    /// `types`: the media types compressed (`None`: the defaults).
    pub types: Option<Vec<crate::compress::MediaRange>>,
}

/// One upstream address: a URL as accepted by [`frontdoor_upstream::Upstream::new`],
/// a built-in backend, or a service given in code.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpstreamAddr {
    /// A built-in demo backend, started on a loopback port.
    Builtin(Builtin),
    /// An `http://` (or, with TLS, `https://`) base URI.
    Url(Uri),
    /// `service:NAME`: a service given in code, registered under `NAME` with
    /// [`Options::service`](super::Options::service); the target's only upstream.
    Service(String),
}

impl fmt::Display for UpstreamAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Builtin(b) => write!(f, "builtin:{}", b.name()),
            Self::Url(u) => write!(f, "{u}"),
            Self::Service(name) => write!(f, "service:{name}"),
        }
    }
}

/// The built-in demo backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
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

/// A target's `tls = { .. }`: how the front door talks TLS to its `https://`
/// upstreams. Relative paths are relative to where the description was read from
/// ([`Checked::rebase_files`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpstreamTls {
    /// PEM CA certificates trusted instead of the webpki roots.
    pub ca: Option<PathBuf>,
    /// The name sent as SNI and verified, instead of the URL's host.
    pub server_name: Option<String>,
    /// Whether the upstream's certificate is verified (default `true`).
    pub verify: bool,
    /// A PEM client certificate chain, for upstreams that require one (mTLS).
    pub cert: Option<PathBuf>,
    /// The client certificate's PEM key.
    pub key: Option<PathBuf>,
}

/// A target's validated `mirror = { .. }`: data only, compared whole when a reload
/// decides whether the target's mirror layer (its shadow pool, in-flight bound and
/// counters) is kept.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MirrorSettings {
    /// `upstream`: the shadow's URL.
    pub upstream: String,
    /// `sample`: the fraction of eligible requests mirrored (`None`: all).
    pub sample: Option<f64>,
    /// `methods`: the methods mirrored (`None`: the layer's default).
    pub methods: Option<Vec<Method>>,
    /// `compare`: how shadow responses are compared (`None`: the layer's default).
    pub compare: Option<Vec<Comparator>>,
    /// `host`: how the shadow's `Host` is marked (`None`: the layer's default).
    pub host: Option<HostMark>,
    /// `strip_headers`: names stripped besides the ones always stripped.
    pub strip_headers: Option<Vec<HeaderName>>,
    /// `max_in_flight`: the most shadow requests at once (`None`: the default).
    pub max_in_flight: Option<usize>,
    /// `timeout`: the shadow's one deadline (`None`: the default).
    pub timeout: Option<Duration>,
}
