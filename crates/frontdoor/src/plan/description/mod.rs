//! The description of a front door's routes and targets: data only, `serde`
//! deserialisable, so a TOML file is its text form ([`Description::from_toml`]) and
//! code builds the same value ([`Route::new`], [`Description::route`]).
//!
//! Values stay as written (strings, numbers, TOML values) until
//! [`Description::check`] turns them into typed form, collecting every problem with
//! its key path; so a file with five mistakes reports five errors.

use serde::Deserialize;
use toml::Value;

mod traffic;

pub use self::traffic::{Discovery, HealthCheck, RateLimit};

/// A front door's routes, targets and the settings their stacks need. See the
/// [module docs](self) and [the plan](super).
///
/// Its TOML form is the `frontdoor` binary's config file: `[[route]]`, `[default]`,
/// `[not_found]`, `[resolve]`, `[compat]`, and the keys of `[server]` that shape
/// the stack ([`Settings`]); the other `[server]` keys and `[[tls]]` belong to the
/// server and are left to it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Description {
    /// The `[server]` keys of the stack.
    #[serde(default)]
    pub server: Settings,
    /// `[resolve]`: whose forwarding headers are believed, and scheme labels.
    #[serde(default)]
    pub resolve: Resolve,
    /// The `[[route]]`s, in match order.
    #[serde(default, rename = "route")]
    pub routes: Vec<Route>,
    /// `[default]`: where what no route matches goes (a [`Route`] without a matcher).
    #[serde(default)]
    pub default: Option<Route>,
    /// `[not_found]`: the answer to a miss when there is no default.
    #[serde(default)]
    pub not_found: Option<NotFound>,
    /// `[compat]`.
    #[serde(default)]
    pub compat: Compat,
    /// `[tracing]`: W3C trace context.
    #[serde(default)]
    pub tracing: Tracing,
    /// `[[tls]]`: the server's certificates, not the stack's (accepted and left).
    #[serde(default, rename = "tls")]
    server_certificates: Option<serde::de::IgnoredAny>,
}

/// The `[server]` keys that shape the stack; the table's other keys are the server's
/// and are left to it. Absent keys take the defaults in [`super::Checked`]'s docs.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Settings {
    /// The host used when a request has none (HTTP/1.0).
    pub server_name: Option<String>,
    /// Whether upstreams also get an RFC 7239 `Forwarded` header.
    pub forwarded: Option<bool>,
    /// `true`, `false`, or the `Via` pseudonym (`frontdoor` by default).
    pub via: Option<Value>,
    /// Whether responses get a `Via` too.
    pub via_responses: Option<bool>,
    /// `keep`, `reject` or `decode`: escaped slashes in request paths.
    pub escaped_slashes: Option<String>,
    /// A size: bodies up to it are read before the upstream request starts.
    pub request_buffer: Option<Value>,
    /// A size: what all buffered bodies may hold at once, over every worker.
    pub request_buffer_total: Option<Value>,
    /// The request ID header (`x-request-id` by default), or `false` for none.
    pub request_id: Option<Value>,
    /// Whether a sane request ID from any client is kept (else only from trusted
    /// proxies).
    pub trust_request_id: Option<bool>,
    /// A size: the most a compressed body being relocated may decode to.
    pub max_decoded_body: Option<Value>,
}

/// `[tracing]`: how requests join W3C traces.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Tracing {
    /// Whether a client's `traceparent` is continued (else only a trusted proxy's).
    pub trust_client_trace: Option<bool>,
    /// The fraction of new traces sampled (0 to 1, default 1).
    pub sample_ratio: Option<f64>,
    /// The OTLP/HTTP collector's base URL (`http://collector:4318`): spans are
    /// exported to `{otlp_endpoint}/v1/traces`. None: no export.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` of the exported spans (`frontdoor` by default).
    pub service_name: Option<String>,
    /// Extra headers of each export request (the collector's auth).
    pub headers: Option<std::collections::BTreeMap<String, String>>,
    /// How long one export may take (`"10s"` by default).
    pub export_timeout: Option<String>,
    /// Whether `otlp_endpoint` is the traces URL itself rather than the collector's
    /// base URL (set by [`Tracing::apply_env`] from
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; not a key of the file).
    #[serde(skip)]
    pub otlp_traces_url: bool,
    /// A PEM file of CA certificates for an `https` collector (default: the webpki
    /// roots); relative to the config file.
    pub ca: Option<String>,
}

impl Tracing {
    /// Overrides with the standard OpenTelemetry environment variables when they are
    /// set: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the traces URL itself) or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (the base URL), `OTEL_EXPORTER_OTLP_HEADERS`
    /// (`key=value,key2=value2`, added to `headers`) and `OTEL_SERVICE_NAME`.
    pub fn apply_env(&mut self) {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(url) = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            self.otlp_endpoint = Some(url);
            self.otlp_traces_url = true;
        } else if let Some(url) = var("OTEL_EXPORTER_OTLP_ENDPOINT") {
            self.otlp_endpoint = Some(url);
            self.otlp_traces_url = false;
        }
        if let Some(headers) = var("OTEL_EXPORTER_OTLP_HEADERS") {
            let table = self.headers.get_or_insert_with(Default::default);
            for pair in headers.split(',') {
                if let Some((k, v)) = pair.split_once('=') {
                    table.insert(k.trim().to_owned(), v.trim().to_owned());
                }
            }
        }
        if let Some(name) = var("OTEL_SERVICE_NAME") {
            self.service_name = Some(name);
        }
    }
}

/// `[resolve]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Resolve {
    /// Peers (CIDRs or addresses) whose forwarding headers are believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Scheme labels for the port field of specs, with their ports.
    pub schemes: Option<std::collections::BTreeMap<String, Vec<u16>>>,
    /// The by-scheme label of requests arriving on each listen address.
    pub listener_labels: Option<std::collections::BTreeMap<String, String>>,
    /// The name servers DNS discovery asks (`ip:port`), instead of the system's.
    pub dns_servers: Option<Vec<String>>,
}

/// A `[[route]]` (a matcher and a target) or the `[default]` (a target only).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Route {
    /// The route's name: its label in metrics, access lines and the route table
    /// (`route[N]` without one). Not on the `[default]`, which is named `default`.
    pub name: Option<String>,
    /// A `host:port:path` spec.
    pub spec: Option<String>,
    /// A regex over `host:port:path` (instead of `spec`).
    pub regex: Option<String>,
    /// One URL, or a list of them (balanced); `builtin:echo` or `builtin:redirect`; or
    /// `service:NAME`, a service given in code
    /// ([`Options::service`](super::Options::service)).
    pub upstream: Option<Value>,
    /// `none`, `plain`, `webdav`, `svn` or `html`.
    pub relocate: Option<String>,
    /// Whether the path prefix the `spec` (or `regex`) matched is stripped before the
    /// upstream sees the path (default `true`: `::/api` forwards `/api/users` as
    /// `/users`, joined to the upstream's base path); `false` forwards the whole path.
    /// Not on the `[default]`, which matches no prefix.
    pub strip_prefix: Option<bool>,
    /// The `Host` the upstream receives: `preserve`, `upstream` or a name.
    pub host: Option<String>,
    /// Cleanup rules in shortcut syntax, in order (`"None"` removes).
    pub cleanup: Option<toml::Table>,
    /// Upstream timeouts.
    pub timeouts: Option<Timeouts>,
    /// Traffic shadowing to another upstream.
    pub mirror: Option<Mirror>,
    /// The most requests in flight, over all workers (0: no limit).
    pub max_in_flight: Option<i64>,
    /// The most connections to each upstream, over all workers (0: no cap).
    pub upstream_max_connections: Option<i64>,
    /// The request rate limit, over all workers (`rate_limit = { rate = "100/s" }`).
    pub rate_limit: Option<RateLimit>,
    /// Answer plaintext requests with a 308 to `https://`.
    pub redirect_https: Option<bool>,
    /// How to reach `https://` upstreams.
    pub tls: Option<UpstreamTls>,
    /// `reject`: narrows `[server] escaped_slashes` on this route.
    pub escaped_slashes: Option<String>,
    /// Whether `CONNECT` is forwarded and tunnelled.
    pub connect: Option<bool>,
    /// A size: this route's own `request_buffer`.
    pub request_buffer: Option<Value>,
    /// The `Upgrade` protocols proxied (a list; `[]` for none).
    pub upgrades: Option<Value>,
    /// Response compression: `true` (the defaults), `false`, or a table
    /// `{ algorithms = ["zstd", "br", "gzip"], min_size = "1KiB", types = [..] }`
    /// (see [`crate::compress`]).
    pub compress: Option<Value>,
    /// Active health checks of each upstream address.
    pub health_check: Option<HealthCheck>,
    /// DNS discovery of the upstreams' addresses.
    pub discovery: Option<Discovery>,
}

impl Route {
    /// A route matching `spec` (`host:port:path`), sent to `upstream`.
    #[must_use]
    pub fn new(spec: &str, upstream: &str) -> Self {
        Self {
            spec: Some(spec.to_owned()),
            upstream: Some(Value::from(upstream)),
            ..Self::default()
        }
    }

    /// A target without a matcher (the `[default]`), sent to `upstream`.
    #[must_use]
    pub fn target(upstream: &str) -> Self {
        Self {
            upstream: Some(Value::from(upstream)),
            ..Self::default()
        }
    }

    /// Named `name`: the route's label in metrics, access lines and the route table,
    /// instead of `route[N]` (letters, digits, `-`, `_`, `.`; unique among routes).
    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Balances over `upstreams` instead.
    #[must_use]
    pub fn upstreams<'a>(mut self, upstreams: impl IntoIterator<Item = &'a str>) -> Self {
        self.upstream = Some(Value::Array(
            upstreams.into_iter().map(Value::from).collect(),
        ));
        self
    }

    /// With the relocation profile `profile` (`plain`, `webdav`, `svn`, `html`).
    #[must_use]
    pub fn relocate(mut self, profile: &str) -> Self {
        self.relocate = Some(profile.to_owned());
        self
    }

    /// Forwards the whole path: the matched prefix is not stripped
    /// (`strip_prefix = false`).
    #[must_use]
    pub fn keep_prefix(mut self) -> Self {
        self.strip_prefix = Some(false);
        self
    }

    /// With the cleanup rule `key = value` (shortcut syntax), after the others.
    #[must_use]
    pub fn cleanup(mut self, key: &str, value: &str) -> Self {
        self.cleanup
            .get_or_insert_with(toml::Table::new)
            .insert(key.to_owned(), Value::from(value));
        self
    }

    /// With at most `n` requests in flight over all workers.
    #[must_use]
    pub fn max_in_flight(mut self, n: i64) -> Self {
        self.max_in_flight = Some(n);
        self
    }

    /// With response compression, its defaults (`compress = true`); a table
    /// (`algorithms`, `min_size`, `types`) is written in the `compress` field.
    #[must_use]
    pub fn compress(mut self) -> Self {
        self.compress = Some(Value::Boolean(true));
        self
    }

    /// Limited to `limit`'s request rate, over all workers.
    #[must_use]
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Mirrored to `mirror`.
    #[must_use]
    pub fn mirror(mut self, mirror: Mirror) -> Self {
        self.mirror = Some(mirror);
        self
    }

    /// With its upstreams' addresses discovered by DNS.
    #[must_use]
    pub fn discovery(mut self, discovery: Discovery) -> Self {
        self.discovery = Some(discovery);
        self
    }

    /// With active health checks of each upstream address.
    #[must_use]
    pub fn health_check(mut self, check: HealthCheck) -> Self {
        self.health_check = Some(check);
        self
    }
}

impl Description {
    /// An empty description: no routes, misses answered 404.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a description from its TOML text. The first problem of syntax or shape
    /// (an unknown key, a wrong type) is reported with its line; values are checked
    /// by [`Description::check`].
    ///
    /// # Errors
    ///
    /// The first syntax or shape problem.
    pub fn from_toml(text: &str) -> Result<Self, super::PlanErrors> {
        super::text::from_toml(text)
    }

    /// This description with `route` after its routes.
    #[must_use]
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    /// This description with `target` as its `[default]`.
    #[must_use]
    pub fn default_target(mut self, target: Route) -> Self {
        self.default = Some(target);
        self
    }
}

/// `mirror = { .. }` of a target.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Mirror {
    /// The shadow's URL.
    pub upstream: String,
    /// The fraction of eligible requests mirrored.
    pub sample: Option<f64>,
    /// The methods mirrored.
    pub methods: Option<Vec<String>>,
    /// The most shadow requests at once.
    pub max_in_flight: Option<i64>,
    /// The shadow's one deadline.
    pub timeout: Option<String>,
    /// How shadow responses are compared.
    pub compare: Option<Vec<String>>,
    /// How the shadow's `Host` is marked.
    pub host: Option<String>,
    /// Header names stripped besides the ones always stripped.
    pub strip_headers: Option<Vec<String>>,
}

impl Mirror {
    /// Every eligible request shadowed to `upstream`, with the mirror's defaults.
    #[must_use]
    pub fn new(upstream: &str) -> Self {
        Self {
            upstream: upstream.to_owned(),
            ..Self::default()
        }
    }
}

/// `tls = { .. }` of a target: how to reach an `https://` upstream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UpstreamTls {
    /// A PEM file of CA certificates trusted instead of the webpki roots.
    pub ca: Option<String>,
    /// The name sent as SNI and verified.
    pub server_name: Option<String>,
    /// Whether the upstream's certificate is verified (default `true`).
    pub verify: Option<bool>,
    /// A PEM client certificate chain (mTLS).
    pub cert: Option<String>,
    /// The client certificate's PEM key.
    pub key: Option<String>,
}

/// `timeouts = { .. }` of a target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Timeouts {
    /// TCP connect.
    pub connect: Option<String>,
    /// Request sent to response head.
    pub response: Option<String>,
    /// Longest pause in the upstream body.
    pub idle: Option<String>,
}

/// `[not_found]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NotFound {
    /// The status (404 by default).
    pub status: Option<u16>,
    /// The `text/plain` body.
    pub body: Option<String>,
}

/// `[compat]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Compat {
    /// WFront 0.4 matching quirks.
    #[serde(default)]
    pub wfront04: bool,
}
