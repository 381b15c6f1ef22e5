//! The config file: raw TOML types, and their validation into [`Config`].
//!
//! Parsing happens in two steps (style R11): serde deserialises the text into raw
//! structs that reject unknown keys, then [`parse`] validates every value into typed
//! form, collecting **every** error with its key path and line, so that
//! `frontdoor check` can print them all at once.

use std::{collections::BTreeMap, fmt, net::SocketAddr, ops::Range, time::Duration};

use frontdoor_core::Schemes;
use http::{HeaderValue, StatusCode, Uri};
use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

// === validated config ===

/// A validated config file.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) server: Server,
    pub(crate) resolve: Resolve,
    pub(crate) routes: Vec<Route>,
    pub(crate) default: Option<Target>,
    pub(crate) not_found: NotFound,
    pub(crate) compat: Compat,
}

/// `[server]`.
#[derive(Clone, Debug)]
pub(crate) struct Server {
    pub(crate) listen: Vec<SocketAddr>,
    pub(crate) server_name: Option<String>,
    pub(crate) admin: Option<SocketAddr>,
    /// Worker threads; `None` means one per core.
    pub(crate) workers: Option<usize>,
    pub(crate) header_timeout: Option<Duration>,
    pub(crate) body_timeout: Option<Duration>,
    pub(crate) drain_timeout: Option<Duration>,
    pub(crate) max_connections: Option<usize>,
}

/// `[resolve]`.
#[derive(Clone, Debug)]
pub(crate) struct Resolve {
    pub(crate) trusted_proxies: Vec<IpNet>,
    pub(crate) schemes: Schemes,
    /// Whether `schemes` was configured: then the resolver stamps scheme labels, so
    /// regex specs see `host:label:path`.
    pub(crate) by_scheme: bool,
}

/// One `[[route]]`.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    /// Position in the file (0-based), for error paths.
    pub(crate) index: usize,
    /// Line of the route's spec or regex.
    pub(crate) line: usize,
    pub(crate) matcher: Matcher,
    pub(crate) target: Target,
}

/// How a route matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Matcher {
    /// A `host:port:path` spec.
    Spec(String),
    /// A regex over `host:port:path`.
    Regex(String),
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Spec(s) => f.write_str(s),
            Self::Regex(r) => write!(f, "regex {r}"),
        }
    }
}

/// Where a route (or the default) sends requests, and how.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) upstreams: Vec<Upstream>,
    pub(crate) relocate: Relocate,
    pub(crate) host: HostPolicy,
    /// Cleanup rules in shortcut syntax, in file order (`None` is the value `None`).
    pub(crate) cleanup: Vec<(String, String)>,
    pub(crate) timeouts: Timeouts,
}

/// One upstream address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Upstream {
    /// A built-in demo backend, started on a loopback port.
    Builtin(Builtin),
    /// An `http://` (or `https://`) base URI.
    Url(Uri),
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Builtin(b) => write!(f, "builtin:{}", b.name()),
            Self::Url(u) => write!(f, "{u}"),
        }
    }
}

/// The built-in demo backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Builtin {
    Echo,
    Redirect,
}

impl Builtin {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Echo => "echo",
            Self::Redirect => "redirect",
        }
    }
}

/// The relocation profile of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Relocate {
    None,
}

impl fmt::Display for Relocate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
        }
    }
}

/// The `Host` the upstream receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostPolicy {
    /// The upstream's authority (default).
    Upstream,
    /// The client's `Host`.
    Preserve,
    /// A fixed value.
    Literal(HeaderValue),
}

/// Per-route upstream timeouts; `None` keeps the upstream client's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Timeouts {
    pub(crate) connect: Option<Duration>,
    pub(crate) response: Option<Duration>,
    pub(crate) idle: Option<Duration>,
}

/// `[not_found]`: the abort404 answer.
#[derive(Clone, Debug)]
pub(crate) struct NotFound {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
}

/// `[compat]`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Compat {
    pub(crate) wfront04: bool,
}

// === errors ===

/// One problem in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConfigError {
    /// 1-based line, when known.
    pub(crate) line: Option<usize>,
    /// Key path, e.g. `route[3].spec`; empty for syntax errors.
    pub(crate) path: String,
    pub(crate) message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Collects errors with line numbers computed from spans.
pub(crate) struct Errors<'a> {
    src: &'a str,
    list: Vec<ConfigError>,
}

impl<'a> Errors<'a> {
    pub(crate) const fn new(src: &'a str) -> Self {
        Self {
            src,
            list: Vec::new(),
        }
    }

    pub(crate) fn line_of(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.src.len());
        self.src.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    pub(crate) fn push(
        &mut self,
        span: Option<&Range<usize>>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        let line = span.map(|s| self.line_of(s));
        self.list.push(ConfigError {
            line,
            path: path.into(),
            message: message.into(),
        });
    }

    pub(crate) fn into_vec(self) -> Vec<ConfigError> {
        self.list
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

// === raw (serde) types ===

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    resolve: RawResolve,
    #[serde(default, rename = "route")]
    routes: Vec<RawRoute>,
    default: Option<RawTarget>,
    not_found: Option<RawNotFound>,
    #[serde(default)]
    compat: RawCompat,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<OneOrMany>>,
    server_name: Option<Spanned<String>>,
    admin: Option<Spanned<String>>,
    workers: Option<Spanned<i64>>,
    header_timeout: Option<Spanned<String>>,
    body_timeout: Option<Spanned<String>>,
    drain_timeout: Option<Spanned<String>>,
    max_connections: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResolve {
    #[serde(default)]
    trusted_proxies: Vec<Spanned<String>>,
    schemes: Option<Spanned<BTreeMap<String, Vec<u16>>>>,
}

/// A string or a list of strings (kept as a TOML value so its span survives).
type OneOrMany = toml::Value;

/// The strings of a [`OneOrMany`], or `None` when it is neither.
fn strings(value: &toml::Value) -> Option<Vec<String>> {
    match value {
        toml::Value::String(s) => Some(vec![s.clone()]),
        toml::Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

/// A `[[route]]`: a matcher plus the target keys (serde's `flatten` would lose spans
/// and `deny_unknown_fields`, so the target keys are repeated here).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    spec: Option<Spanned<String>>,
    regex: Option<Spanned<String>>,
    upstream: Option<Spanned<OneOrMany>>,
    relocate: Option<Spanned<String>>,
    host: Option<Spanned<String>>,
    cleanup: Option<Spanned<toml::Table>>,
    timeouts: Option<Spanned<RawTimeouts>>,
    mirror: Option<Spanned<toml::Value>>,
}

impl RawRoute {
    fn split(self) -> (Option<Spanned<String>>, Option<Spanned<String>>, RawTarget) {
        let target = RawTarget {
            upstream: self.upstream,
            relocate: self.relocate,
            host: self.host,
            cleanup: self.cleanup,
            timeouts: self.timeouts,
            mirror: self.mirror,
        };
        (self.spec, self.regex, target)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    upstream: Option<Spanned<OneOrMany>>,
    relocate: Option<Spanned<String>>,
    host: Option<Spanned<String>>,
    cleanup: Option<Spanned<toml::Table>>,
    timeouts: Option<Spanned<RawTimeouts>>,
    mirror: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeouts {
    connect: Option<Spanned<String>>,
    response: Option<Spanned<String>>,
    idle: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotFound {
    status: Option<Spanned<u16>>,
    body: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompat {
    #[serde(default)]
    wfront04: bool,
}

// === validation ===

/// The default listen address.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Parses and validates a config file, returning every error found.
pub(crate) fn parse(src: &str) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Errors::new(src);
    let raw: RawConfig = match toml::from_str(src) {
        Ok(raw) => raw,
        Err(e) => {
            errors.push(e.span().as_ref(), "", e.message().trim_end().to_owned());
            return Err(errors.into_vec());
        }
    };

    let server = server(raw.server, &mut errors);
    let resolve = resolve(raw.resolve, &mut errors);
    let mut routes = Vec::with_capacity(raw.routes.len());
    for (index, route) in raw.routes.into_iter().enumerate() {
        if let Some(route) = validate_route(index, route, &mut errors) {
            routes.push(route);
        }
    }
    let default = raw
        .default
        .and_then(|t| validate_target("default", t, None, &mut errors));
    let not_found = match raw.not_found {
        None => NotFound {
            status: StatusCode::NOT_FOUND,
            body: "Not Found".to_owned(),
        },
        Some(nf) => {
            let status = match nf.status {
                None => StatusCode::NOT_FOUND,
                Some(s) => match StatusCode::from_u16(*s.get_ref()) {
                    Ok(code) if !code.is_informational() => code,
                    _ => {
                        errors.push(
                            Some(&s.span()),
                            "not_found.status",
                            format!("not a final HTTP status: {}", s.get_ref()),
                        );
                        StatusCode::NOT_FOUND
                    }
                },
            };
            NotFound {
                status,
                body: nf.body.unwrap_or_else(|| "Not Found".to_owned()),
            }
        }
    };
    if errors.is_empty() {
        Ok(Config {
            server,
            resolve,
            routes,
            default,
            not_found,
            compat: Compat {
                wfront04: raw.compat.wfront04,
            },
        })
    } else {
        Err(errors.into_vec())
    }
}

fn server(raw: RawServer, errors: &mut Errors<'_>) -> Server {
    let listen = match raw.listen {
        None => vec![DEFAULT_LISTEN
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))],
        Some(listen) => {
            let span = listen.span();
            let Some(addrs) = strings(listen.get_ref()) else {
                errors.push(
                    Some(&span),
                    "server.listen",
                    "expected an address or a list of addresses",
                );
                return Server {
                    listen: Vec::new(),
                    server_name: None,
                    admin: None,
                    workers: None,
                    header_timeout: None,
                    body_timeout: None,
                    drain_timeout: None,
                    max_connections: None,
                };
            };
            if addrs.is_empty() {
                errors.push(Some(&span), "server.listen", "needs at least one address");
            }
            addrs
                .iter()
                .enumerate()
                .filter_map(|(i, a)| {
                    a.parse::<SocketAddr>()
                        .map_err(|_| {
                            errors.push(
                                Some(&span),
                                format!("server.listen[{i}]"),
                                format!("not an ip:port address: {a:?}"),
                            );
                        })
                        .ok()
                })
                .collect()
        }
    };
    let server_name = raw.server_name.and_then(|n| {
        let name = n.get_ref().trim().to_ascii_lowercase();
        if name.is_empty() || HeaderValue::from_str(&name).is_err() || name.contains(['/', ' ']) {
            errors.push(
                Some(&n.span()),
                "server.server_name",
                format!("not a host name: {:?}", n.get_ref()),
            );
            None
        } else {
            Some(name)
        }
    });
    let admin = raw
        .admin
        .and_then(|a| match a.get_ref().parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                errors.push(
                    Some(&a.span()),
                    "server.admin",
                    format!("not an ip:port address: {:?}", a.get_ref()),
                );
                None
            }
        });
    let count = |key: &str, v: Option<Spanned<i64>>, errors: &mut Errors<'_>| {
        v.and_then(|v| match usize::try_from(*v.get_ref()) {
            Ok(n) if n > 0 => Some(n),
            _ => {
                errors.push(
                    Some(&v.span()),
                    format!("server.{key}"),
                    format!("must be a positive number, got {}", v.get_ref()),
                );
                None
            }
        })
    };
    Server {
        listen,
        server_name,
        admin,
        workers: count("workers", raw.workers, errors),
        header_timeout: duration("server.header_timeout", raw.header_timeout, errors),
        body_timeout: duration("server.body_timeout", raw.body_timeout, errors),
        drain_timeout: duration("server.drain_timeout", raw.drain_timeout, errors),
        max_connections: count("max_connections", raw.max_connections, errors),
    }
}

/// A positive `humantime` duration (`"2s"`, `"500ms"`), or an error at `key`.
fn duration(
    key: &str,
    value: Option<Spanned<String>>,
    errors: &mut Errors<'_>,
) -> Option<Duration> {
    let value = value?;
    match humantime::parse_duration(value.get_ref()) {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            errors.push(Some(&value.span()), key, "must be greater than zero");
            None
        }
        Err(e) => {
            errors.push(
                Some(&value.span()),
                key,
                format!(
                    "not a duration {:?} ({e}); write e.g. \"2s\" or \"500ms\"",
                    value.get_ref()
                ),
            );
            None
        }
    }
}

fn resolve(raw: RawResolve, errors: &mut Errors<'_>) -> Resolve {
    let mut trusted_proxies = Vec::new();
    for (i, cidr) in raw.trusted_proxies.iter().enumerate() {
        let text = cidr.get_ref().trim();
        // A bare address means a /32 (or /128).
        let parsed = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => trusted_proxies.push(net),
            Err(_) => errors.push(
                Some(&cidr.span()),
                format!("resolve.trusted_proxies[{i}]"),
                format!("not a CIDR or IP address: {:?}", cidr.get_ref()),
            ),
        }
    }
    let mut schemes = Schemes::new();
    let by_scheme = raw.schemes.is_some();
    if let Some(table) = raw.schemes {
        let span = table.span();
        for (label, ports) in table.into_inner() {
            let valid_label = !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'.'))
                && !label.bytes().all(|b| b.is_ascii_digit());
            if !valid_label {
                errors.push(
                    Some(&span),
                    format!("resolve.schemes.{label}"),
                    "a scheme label is letters, digits, '-', '_', '+', '.' and not only digits",
                );
                continue;
            }
            if ports.is_empty() || ports.contains(&0) {
                errors.push(
                    Some(&span),
                    format!("resolve.schemes.{label}"),
                    "needs one or more ports in 1..=65535",
                );
                continue;
            }
            schemes = schemes.with(&label, ports);
        }
    }
    Resolve {
        trusted_proxies,
        schemes,
        by_scheme,
    }
}

fn validate_route(index: usize, raw: RawRoute, errors: &mut Errors<'_>) -> Option<Route> {
    let path = format!("route[{index}]");
    let (spec, regex, target) = raw.split();
    let (matcher, span) = match (spec, regex) {
        (Some(spec), None) => (Matcher::Spec(spec.get_ref().clone()), spec.span()),
        (None, Some(re)) => (Matcher::Regex(re.get_ref().clone()), re.span()),
        (Some(spec), Some(_)) => {
            errors.push(
                Some(&spec.span()),
                path,
                "give either `spec` or `regex`, not both",
            );
            return None;
        }
        (None, None) => {
            let span = target.upstream.as_ref().map(Spanned::span);
            errors.push(span.as_ref(), path, "missing `spec` (or `regex`)");
            return None;
        }
    };
    let line = errors.line_of(&span);
    let target = validate_target(&path, target, Some(&span), errors)?;
    Some(Route {
        index,
        line,
        matcher,
        target,
    })
}

fn validate_target(
    path: &str,
    raw: RawTarget,
    fallback_span: Option<&Range<usize>>,
    errors: &mut Errors<'_>,
) -> Option<Target> {
    let before = errors.list.len();
    let upstreams = match raw.upstream {
        None => {
            errors.push(
                fallback_span,
                format!("{path}.upstream"),
                "missing `upstream`",
            );
            Vec::new()
        }
        Some(up) => {
            let span = up.span();
            let list = strings(up.get_ref()).unwrap_or_else(|| {
                errors.push(
                    Some(&span),
                    format!("{path}.upstream"),
                    "expected a URL or a list of URLs",
                );
                Vec::new()
            });
            if list.is_empty() {
                errors.push(
                    Some(&span),
                    format!("{path}.upstream"),
                    "needs at least one upstream",
                );
            }
            list.iter()
                .enumerate()
                .filter_map(|(i, u)| {
                    upstream(u)
                        .map_err(|msg| {
                            let key = if i == 0 && list.len() == 1 {
                                format!("{path}.upstream")
                            } else {
                                format!("{path}.upstream[{i}]")
                            };
                            errors.push(Some(&span), key, msg);
                        })
                        .ok()
                })
                .collect()
        }
    };
    let relocate = match raw.relocate {
        None => Relocate::None,
        Some(r) => match r.get_ref().as_str() {
            "none" => Relocate::None,
            "plain" | "webdav" | "svn" | "html" => {
                errors.push(
                    Some(&r.span()),
                    format!("{path}.relocate"),
                    format!("relocation profile {:?} is not supported yet (the relocation layer has not landed); use \"none\"", r.get_ref()),
                );
                Relocate::None
            }
            other => {
                errors.push(
                    Some(&r.span()),
                    format!("{path}.relocate"),
                    format!("unknown relocation profile {other:?}: expected none, plain, webdav, svn or html"),
                );
                Relocate::None
            }
        },
    };
    let host = match raw.host {
        None => HostPolicy::Upstream,
        Some(h) => {
            match h.get_ref().as_str() {
                "upstream" => HostPolicy::Upstream,
                "preserve" => HostPolicy::Preserve,
                literal => match literal.parse::<http::uri::Authority>() {
                    Ok(a) if !literal.contains('@') => match HeaderValue::from_str(a.as_str()) {
                        Ok(v) => HostPolicy::Literal(v),
                        Err(_) => {
                            errors.push(
                                Some(&h.span()),
                                format!("{path}.host"),
                                format!("not a valid host: {literal:?}"),
                            );
                            HostPolicy::Upstream
                        }
                    },
                    _ => {
                        errors.push(
                        Some(&h.span()),
                        format!("{path}.host"),
                        format!("expected \"upstream\", \"preserve\" or a host[:port], got {literal:?}"),
                    );
                        HostPolicy::Upstream
                    }
                },
            }
        }
    };
    // File order matters (rules of one category run in the order given); the table
    // keeps it (toml's preserve_order).
    let mut cleanup = Vec::new();
    if let Some(c) = raw.cleanup {
        let span = c.span();
        for (key, value) in c.into_inner() {
            match value {
                toml::Value::String(v) => cleanup.push((key, v)),
                other => errors.push(
                    Some(&span),
                    format!("{path}.cleanup.{key}"),
                    format!(
                        "expected a string (\"None\" removes), got {}",
                        other.type_str()
                    ),
                ),
            }
        }
    }
    let timeouts = raw.timeouts.map_or_else(Timeouts::default, |t| {
        let t = t.into_inner();
        let key = |name: &str| format!("{path}.timeouts.{name}");
        Timeouts {
            connect: duration(&key("connect"), t.connect, errors),
            response: duration(&key("response"), t.response, errors),
            idle: duration(&key("idle"), t.idle, errors),
        }
    });
    if let Some(m) = raw.mirror {
        errors.push(
            Some(&m.span()),
            format!("{path}.mirror"),
            "mirroring is not supported yet (the mirror layer has not landed)",
        );
    }
    (errors.list.len() == before).then_some(Target {
        upstreams,
        relocate,
        host,
        cleanup,
        timeouts,
    })
}

fn upstream(text: &str) -> Result<Upstream, String> {
    if let Some(name) = text.strip_prefix("builtin:") {
        return match name {
            "echo" => Ok(Upstream::Builtin(Builtin::Echo)),
            "redirect" => Ok(Upstream::Builtin(Builtin::Redirect)),
            other => Err(format!(
                "unknown built-in backend {other:?}: expected builtin:echo or builtin:redirect"
            )),
        };
    }
    let uri: Uri = text
        .parse()
        .map_err(|e| format!("not a URL {text:?}: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(format!(
                "unsupported upstream scheme {other:?} in {text:?}: use http or https"
            ))
        }
        None => {
            return Err(format!(
                "upstream {text:?} needs a scheme, e.g. http://{text}"
            ))
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("upstream {text:?} has no host"));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(format!("upstream {text:?} must not contain userinfo"));
    }
    if uri.query().is_some() {
        return Err(format!("upstream {text:?} must not have a query"));
    }
    Ok(Upstream::Url(uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(src: &str) -> Vec<String> {
        parse(src)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn full_example_parses() {
        let src = r#"
[server]
listen = ["127.0.0.1:8080", "127.0.0.1:8443"]
server_name = "localhost"
admin = "127.0.0.1:9901"
workers = 3
header_timeout = "5s"
body_timeout = "20s"
drain_timeout = "1m"
max_connections = 500

[resolve]
trusted_proxies = ["10.0.0.0/8", "192.0.2.7"]
schemes = { http = [80, 8080], https = [443, 8443] }

[[route]]
spec = "www.example.com:http:/svn"
upstream = "http://127.0.0.1:8081/repos"
relocate = "none"
host = "upstream"
cleanup = { "-/" = "/x", "HTTP_X_DEBUG" = "None" }
timeouts = { connect = "2s", response = "30s", idle = "60s" }

[[route]]
regex = '^[^:]*:[0-9]+:(?P<pathinfo>/api)'
upstream = ["http://127.0.0.1:9001", "http://127.0.0.1:9002"]
host = "preserve"

[default]
upstream = "builtin:echo"

[not_found]
status = 410
body = "Gone"

[compat]
wfront04 = true
"#;
        let c = parse(src).unwrap();
        assert_eq!(c.server.listen.len(), 2);
        assert_eq!(c.server.server_name.as_deref(), Some("localhost"));
        assert_eq!(c.server.admin, Some("127.0.0.1:9901".parse().unwrap()));
        assert_eq!(c.server.workers, Some(3));
        assert_eq!(c.server.header_timeout, Some(Duration::from_secs(5)));
        assert_eq!(c.server.body_timeout, Some(Duration::from_secs(20)));
        assert_eq!(c.server.drain_timeout, Some(Duration::from_secs(60)));
        assert_eq!(c.server.max_connections, Some(500));
        assert_eq!(c.resolve.trusted_proxies.len(), 2);
        assert_eq!(c.resolve.schemes.ports("https"), Some(&[443, 8443][..]));
        assert_eq!(c.routes.len(), 2);
        let r0 = &c.routes[0];
        assert_eq!(
            r0.matcher,
            Matcher::Spec("www.example.com:http:/svn".into())
        );
        assert_eq!(r0.line, 17);
        assert_eq!(
            r0.target.cleanup,
            vec![
                ("-/".into(), "/x".into()),
                ("HTTP_X_DEBUG".into(), "None".into())
            ]
        );
        assert_eq!(r0.target.timeouts.connect, Some(Duration::from_secs(2)));
        assert_eq!(r0.target.timeouts.idle, Some(Duration::from_secs(60)));
        let r1 = &c.routes[1];
        assert!(matches!(r1.matcher, Matcher::Regex(_)));
        assert_eq!(r1.target.upstreams.len(), 2);
        assert_eq!(r1.target.host, HostPolicy::Preserve);
        assert_eq!(
            c.default.unwrap().upstreams,
            vec![Upstream::Builtin(Builtin::Echo)]
        );
        assert_eq!(c.not_found.status, 410);
        assert_eq!(c.not_found.body, "Gone");
        assert!(c.compat.wfront04);
    }

    #[test]
    fn empty_file_is_the_defaults() {
        let c = parse("").unwrap();
        assert_eq!(
            c.server.listen,
            vec!["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]
        );
        assert!(c.routes.is_empty());
        assert!(c.default.is_none());
        assert_eq!(c.not_found.status, 404);
        assert!(!c.compat.wfront04);
        assert!(c.resolve.trusted_proxies.is_empty());
    }

    #[test]
    fn unknown_keys_are_errors_with_lines() {
        let e = errors("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("line 3: unknown field `lisen`"), "{e:?}");
        let e = errors("[[route]]\nspec = \"::/\"\nupstream = \"http://h\"\ncolour = 1\n");
        assert!(e[0].starts_with("line 4: unknown field `colour`"), "{e:?}");
        let e = errors("[bogus]\n");
        assert!(e[0].contains("unknown field `bogus`"), "{e:?}");
    }

    #[test]
    fn every_value_error_is_reported_with_path_and_line() {
        let src = r#"[server]
listen = ["127.0.0.1:8080", "nope"]
admin = "x"
server_name = "bad host"

[resolve]
trusted_proxies = ["10.0.0.0/33"]

[[route]]
spec = "::/a"
upstream = "ftp://h"
relocate = "svn"
host = "a b"
timeouts = { connect = "soon", idle = "0s" }
mirror = { upstream = "http://127.0.0.1:9000", sample = 0.1 }

[[route]]
upstream = "http://h"

[[route]]
spec = "::/b"
upstream = "builtin:nope"

[not_found]
status = 99
"#;
        let e = errors(src);
        let want = [
            "line 2: server.listen[1]: not an ip:port address: \"nope\"",
            "line 4: server.server_name: not a host name: \"bad host\"",
            "line 3: server.admin: not an ip:port address: \"x\"",
            "line 7: resolve.trusted_proxies[0]: not a CIDR or IP address: \"10.0.0.0/33\"",
            "line 11: route[0].upstream: unsupported upstream scheme \"ftp\" in \"ftp://h\": use http or https",
            "line 12: route[0].relocate: relocation profile \"svn\" is not supported yet (the relocation layer has not landed); use \"none\"",
            "line 13: route[0].host: expected \"upstream\", \"preserve\" or a host[:port], got \"a b\"",
            "line 14: route[0].timeouts.connect: not a duration \"soon\"",
            "line 14: route[0].timeouts.idle: must be greater than zero",
            "line 15: route[0].mirror: mirroring is not supported yet (the mirror layer has not landed)",
            "line 18: route[1]: missing `spec` (or `regex`)",
            "line 22: route[2].upstream: unknown built-in backend \"nope\": expected builtin:echo or builtin:redirect",
            "line 25: not_found.status: not a final HTTP status: 99",
        ];
        assert_eq!(e.len(), want.len(), "{e:#?}");
        for (got, want) in e.iter().zip(want) {
            assert!(got.starts_with(want), "got {got:?}\nwant {want:?}");
        }
    }

    #[test]
    fn upstream_urls_are_checked() {
        assert!(upstream("http://127.0.0.1:8081/repos").is_ok());
        assert!(upstream("https://example.com").is_ok());
        for bad in [
            "127.0.0.1:8081",
            "http://u:p@h/",
            "http://h/?q",
            "http:///x",
            "gopher://h",
        ] {
            assert!(upstream(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn spec_and_regex_together_is_an_error() {
        let e = errors("[[route]]\nspec = \"::/\"\nregex = \"^\"\nupstream = \"http://h\"\n");
        assert_eq!(
            e,
            ["line 2: route[0]: give either `spec` or `regex`, not both"]
        );
    }
}
