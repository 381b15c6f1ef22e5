//! Typed request extensions shared by the layers.

use std::{collections::BTreeMap, fmt, net::IpAddr, net::SocketAddr, str::FromStr, sync::Arc};

use http::{uri::Scheme, Request, Uri};

use crate::{CanonicalOptions, EncodedSlash};

// === ConnInfo ===

/// What the acceptor knows about the connection a request arrived on.
///
/// Inserted by `frontdoor::serve` on every request; resolvers read the local port and
/// the TLS flag from it, and trusted-proxy decisions use [`ConnInfo::remote`].
///
/// ```
/// use frontdoor_core::ConnInfo;
///
/// let info = ConnInfo::new("127.0.0.1:8080".parse()?, "127.0.0.1:50000".parse()?);
/// assert!(!info.tls);
/// assert!(info.with_tls(true).tls);
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnInfo {
    /// The local address the connection was accepted on.
    pub local: SocketAddr,
    /// The peer's address.
    pub remote: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}

impl ConnInfo {
    /// A plaintext connection between `local` and `remote`.
    #[must_use]
    pub const fn new(local: SocketAddr, remote: SocketAddr) -> Self {
        Self {
            local,
            remote,
            tls: false,
        }
    }

    /// Sets the TLS flag.
    #[must_use]
    pub const fn with_tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Sets the peer's address (the client's, when a PROXY protocol header named it).
    #[must_use]
    pub const fn with_remote(mut self, remote: SocketAddr) -> Self {
        self.remote = remote;
        self
    }
}

// === TlsInfo ===

/// What the TLS handshake of the connection a request arrived on agreed.
///
/// Inserted by `frontdoor::serve` on every request of a TLS connection, beside
/// [`ConnInfo`] (whose [`tls`](ConnInfo::tls) flag is then `true`); absent on plaintext
/// connections. It is its own extension rather than a field of [`ConnInfo`] so that
/// `ConnInfo` stays `Copy` and plaintext connections carry nothing for it.
///
/// ```
/// use frontdoor_core::TlsInfo;
///
/// let info = TlsInfo::new(Some("www.example.com".into()));
/// assert_eq!(info.server_name.as_deref(), Some("www.example.com"));
/// assert_eq!(TlsInfo::new(None).server_name, None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The server name the client asked for (SNI), as the handshake received it;
    /// `None` when the client sent none (clients connecting to an IP address).
    pub server_name: Option<Arc<str>>,
}

impl TlsInfo {
    /// The handshake's agreed values.
    #[must_use]
    pub const fn new(server_name: Option<Arc<str>>) -> Self {
        Self { server_name }
    }
}

// === OriginalUri ===

/// The request target as the outermost frontdoor layer first saw it.
///
/// Inserted once, by whichever layer sees the request first
/// ([`OriginalUri::insert_if_absent`]); the URI rewrites further in (router
/// consumption, a cleanup rule writing the path info) leave it intact. The one later
/// change is a cleanup rule whose target is the original URI itself (`REQUEST_URI`):
/// it sets, edits or removes it, through [`OriginalUri::rewrite`] and
/// [`OriginalUri::remove`] only. For logs and for rules that act on the original URI;
/// never a matching input.
///
/// ```
/// use frontdoor_core::OriginalUri;
/// use http::Request;
///
/// let mut req = Request::new(());
/// *req.uri_mut() = "/a?b".parse().unwrap();
/// OriginalUri::insert_if_absent(&mut req);
/// *req.uri_mut() = "/rewritten".parse().unwrap();
/// OriginalUri::insert_if_absent(&mut req);
/// assert_eq!(req.extensions().get::<OriginalUri>().unwrap().0, "/a?b");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalUri(pub Uri);

impl OriginalUri {
    /// Records the request's current URI unless an `OriginalUri` is already present.
    pub fn insert_if_absent<B>(req: &mut Request<B>) {
        if req.extensions().get::<Self>().is_none() {
            let uri = req.uri().clone();
            req.extensions_mut().insert(Self(uri));
        }
    }

    /// As [`OriginalUri::insert_if_absent`], for a request already taken apart.
    pub fn insert_if_absent_parts(parts: &mut http::request::Parts) {
        if parts.extensions.get::<Self>().is_none() {
            let uri = parts.uri.clone();
            parts.extensions.insert(Self(uri));
        }
    }

    /// Sets the request's original URI to `uri`, inserting it when absent: the change
    /// a cleanup rule that writes the original URI (`REQUEST_URI`) makes, and no other
    /// layer's. The request's own URI is not touched.
    ///
    /// ```
    /// use frontdoor_core::OriginalUri;
    /// use http::Request;
    ///
    /// let mut req = Request::new(());
    /// OriginalUri::insert_if_absent(&mut req);
    /// OriginalUri::rewrite(&mut req, "/public/x?q".parse().unwrap());
    /// assert_eq!(req.extensions().get::<OriginalUri>().unwrap().0, "/public/x?q");
    /// assert_eq!(req.uri(), "/");
    /// ```
    pub fn rewrite<B>(req: &mut Request<B>, uri: Uri) {
        req.extensions_mut().insert(Self(uri));
    }

    /// Removes the request's original URI, returning it: the change a cleanup rule
    /// that removes the original URI (`REQUEST_URI`) makes, and no other layer's.
    /// Readers then treat it as absent, as when no layer recorded one.
    pub fn remove<B>(req: &mut Request<B>) -> Option<Self> {
        req.extensions_mut().remove::<Self>()
    }
}

// === Resolved ===

/// Where the resolved host came from, for logs and for debugging trust decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HostSource {
    /// The authority of an absolute-form target or HTTP/2 `:authority`.
    Authority,
    /// The `Host` header.
    Host,
    /// RFC 7239 `Forwarded: host=` from a trusted peer.
    Forwarded,
    /// `X-Forwarded-Host` from a trusted peer.
    XForwardedHost,
    /// `X-Forwarded-Server` from a trusted peer (used when it sent no host).
    XForwardedServer,
    /// The configured server name (the request had no host).
    ServerName,
    /// Parsed from text with [`Resolved::from_str`] (tests, fixtures).
    Parsed,
}

impl HostSource {
    /// A short lowercase name for logs.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Authority => "authority",
            Self::Host => "host",
            Self::Forwarded => "forwarded",
            Self::XForwardedHost => "x-forwarded-host",
            Self::XForwardedServer => "x-forwarded-server",
            Self::ServerName => "server-name",
            Self::Parsed => "parsed",
        }
    }
}

/// The resolver's verdict: which virtual host, port and path a request is for.
///
/// `Display` gives WFront's `host:port:path`, with an IPv6 host in brackets (and the
/// by-scheme [`label`](Resolved::label) in place of the port when one is set); it is
/// the string regex route specs match against. `FromStr` parses it back (for tests);
/// the scheme of a parsed value is `https` for port 443 and `http` otherwise.
///
/// The host is normalised by the resolver (ASCII lowercase, no trailing dot) and kept
/// in URI form: an IPv6 address includes its brackets. The path is canonical and
/// never includes the query.
///
/// ```
/// use frontdoor_core::Resolved;
///
/// let r: Resolved = "[::1]:8080:/a:b".parse()?;
/// assert_eq!(r.host, "[::1]");
/// assert_eq!(r.port, 8080);
/// assert_eq!(r.path, "/a:b");
/// assert_eq!(r.to_string(), "[::1]:8080:/a:b");
/// # Ok::<(), frontdoor_core::ParseResolvedError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolved {
    /// The effective scheme (from the connection, or a trusted forwarded proto). Set
    /// later only by a cleanup rule, through [`Resolved::set_scheme`].
    pub scheme: Scheme,
    /// The normalised host, IPv6 in brackets.
    pub host: String,
    /// The port, explicit or defaulted from the scheme.
    pub port: u16,
    /// The canonical path, without the query.
    pub path: String,
    /// Where the host came from.
    pub source: HostSource,
    /// The by-scheme label of the port (`http`, `https`, ...), when a by-scheme
    /// resolver stamped one. `Display` shows it in place of the port.
    pub label: Option<Arc<str>>,
    /// See [`Resolved::canonical`].
    canonical: CanonicalOptions,
}

impl Resolved {
    /// Builds a value from already normalised parts.
    pub fn new(
        scheme: Scheme,
        host: impl Into<String>,
        port: u16,
        path: impl Into<String>,
        source: HostSource,
    ) -> Self {
        Self {
            scheme,
            host: host.into(),
            port,
            path: path.into(),
            source,
            label: None,
            canonical: CanonicalOptions::new(),
        }
    }

    /// Records the canonicalisation options that produced [`Resolved::path`] (the
    /// resolver does, before it inserts the value).
    #[must_use]
    pub const fn with_canonical(mut self, options: CanonicalOptions) -> Self {
        self.canonical = options;
        self
    }

    /// The canonicalisation options the resolver applied to [`Resolved::path`] (and to
    /// the request URI), narrowed by any route since ([`Resolved::narrow_canonical`]).
    /// A router behind the resolver matches on that path as is and never
    /// canonicalises it again with other options; paths written further in are held
    /// to them.
    #[must_use]
    pub const fn canonical(&self) -> CanonicalOptions {
        self.canonical
    }

    /// Narrows the recorded escaped-slash policy to `policy`
    /// ([`CanonicalOptions::narrowed`]: to `reject`, never wider), so paths written
    /// further in are held to it too: the change a route's escaped-slash filter
    /// (`frontdoor_resolve::EscapedSlashesLayer`) makes once it has checked the path.
    /// [`Resolved::path`] itself is not touched: a narrower policy only refuses more.
    ///
    /// ```
    /// use frontdoor_core::{EncodedSlash, Resolved};
    ///
    /// let mut r: Resolved = "h:80:/admin".parse()?;
    /// r.narrow_canonical(EncodedSlash::Reject);
    /// assert_eq!(r.canonical().encoded_slash, EncodedSlash::Reject);
    /// r.narrow_canonical(EncodedSlash::Keep);
    /// assert_eq!(r.canonical().encoded_slash, EncodedSlash::Reject);
    /// # Ok::<(), frontdoor_core::ParseResolvedError>(())
    /// ```
    pub const fn narrow_canonical(&mut self, policy: EncodedSlash) {
        self.canonical = self.canonical.narrowed(policy);
    }

    /// Sets the effective scheme: the change a cleanup rule's scheme target makes
    /// (`HTTPS`, `wsgi.url_scheme`: a front end says the client spoke https), and no
    /// other layer's. Only the scheme changes; the host, port, path, label and
    /// canonical options stay as resolved, so [`Resolved::default_port`] and
    /// [`Resolved::authority`] compare the resolved port with the new scheme's
    /// default.
    ///
    /// ```
    /// use frontdoor_core::Resolved;
    /// use http::uri::Scheme;
    ///
    /// let mut r: Resolved = "h:443:/".parse()?;
    /// r.set_scheme(Scheme::HTTP);
    /// assert_eq!((r.scheme.as_str(), r.port), ("http", 443));
    /// assert_eq!(r.authority(), "h:443");
    /// # Ok::<(), frontdoor_core::ParseResolvedError>(())
    /// ```
    pub fn set_scheme(&mut self, scheme: Scheme) {
        self.scheme = scheme;
    }

    /// Sets the by-scheme label shown in place of the port by `Display`.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<Arc<str>>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Whether the host is an IPv6 literal (`[..]`).
    #[must_use]
    pub fn is_ipv6(&self) -> bool {
        self.host.starts_with('[')
    }

    /// The port that is the default for [`Resolved::scheme`] (443 for https, else 80).
    #[must_use]
    pub fn default_port(&self) -> u16 {
        crate::proto::default_port(&self.scheme)
    }

    /// `host` or `host:port`, omitting the port only when it is the scheme's default;
    /// what a `Host` header for this resolution should say.
    #[must_use]
    pub fn authority(&self) -> String {
        if self.port == self.default_port() {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.label {
            Some(label) => write!(f, "{}:{}:{}", self.host, label, self.path),
            None => write!(f, "{}:{}:{}", self.host, self.port, self.path),
        }
    }
}

/// The error of parsing a [`Resolved`] from `host:port:path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseResolvedError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for ParseResolvedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid host:port:path {:?}: {}",
            self.input, self.reason
        )
    }
}

impl std::error::Error for ParseResolvedError {}

impl FromStr for Resolved {
    type Err = ParseResolvedError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseResolvedError {
            input: s.to_owned(),
            reason,
        };
        let (host, rest) = if s.starts_with('[') {
            let end = s.find(']').ok_or_else(|| err("unclosed ipv6 bracket"))?;
            let rest = s[end + 1..]
                .strip_prefix(':')
                .ok_or_else(|| err("missing port"))?;
            (&s[..=end], rest)
        } else {
            s.split_once(':').ok_or_else(|| err("missing port"))?
        };
        let (port, path) = rest.split_once(':').ok_or_else(|| err("missing path"))?;
        let port: u16 = port.parse().map_err(|_| err("port is not a number"))?;
        if !path.is_empty() && !path.starts_with('/') {
            return Err(err("path must start with '/'"));
        }
        let scheme = if port == 443 {
            Scheme::HTTPS
        } else {
            Scheme::HTTP
        };
        let host = match crate::proto::parse_host(host) {
            Ok(Some(hp)) => hp.host.into_owned(),
            Ok(None) => String::new(),
            Err(_) => return Err(err("invalid host")),
        };
        Ok(Self::new(scheme, host, port, path, HostSource::Parsed))
    }
}

// === Mode ===

/// Strict (the default) or WFront 0.4 compatible semantics, for the layers that
/// reproduce WFront: the router and the cleanup rules.
///
/// `Wfront04` exists for migrations and the compat test vectors only: it brings back
/// the 0.4 quirks that are safe to emulate, several of which are security defects
/// in strict terms (wildcards crossing fields, prefixes without segment boundaries).
/// Each layer documents exactly what flips on its `mode` setter. One value serves
/// both layers, so a migration switches the whole front door at once.
///
/// Deliberately exhaustive: a new compatibility mode must be handled by every layer
/// that matches on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Secure, fixed semantics (spec part 4).
    #[default]
    Strict,
    /// WFront 0.4 semantics where they differ and are safe to emulate (spec 4.8).
    Wfront04,
}

// === PeerTrust ===

/// The resolver's trust decision about the connection's peer.
///
/// Inserted by the resolver layer. `peer_trusted` says whether the immediate peer is a
/// configured trusted proxy (so its forwarded headers were honoured); `client` is the
/// client address found by walking the `for` chain from the right past trusted hops
/// (the peer itself when it is untrusted). The upstream client reads it to decide
/// whether inbound `X-Forwarded-*` headers are appended to or replaced; absent means
/// untrusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerTrust {
    /// Whether the immediate peer is a trusted proxy.
    pub peer_trusted: bool,
    /// The client address, as far as trusted hops vouch for it.
    pub client: IpAddr,
}

impl PeerTrust {
    /// A decision about a peer.
    #[must_use]
    pub const fn new(peer_trusted: bool, client: IpAddr) -> Self {
        Self {
            peer_trusted,
            client,
        }
    }

    /// Whether a request's peer was trusted; `false` when no decision was stamped.
    pub fn is_trusted<B>(req: &Request<B>) -> bool {
        req.extensions()
            .get::<Self>()
            .is_some_and(|t| t.peer_trusted)
    }
}

// === MatchedRoute ===

/// Which route of a router's table a request matched. Inserted by the router; read by
/// logs, metrics and the CLI. A miss served by the default service carries no
/// `MatchedRoute`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MatchedRoute {
    /// The route's position in the table (0-based, table order).
    pub index: usize,
    /// The route's normalised spec or regex, as in `dump_mappings()`.
    pub spec: Arc<str>,
}

impl MatchedRoute {
    /// A matched route.
    pub fn new(index: usize, spec: impl Into<Arc<str>>) -> Self {
        Self {
            index,
            spec: spec.into(),
        }
    }
}

// === Vars ===

/// Free request variables set by cleanup rules (the successor of arbitrary WSGI
/// environ keys such as WFront's `{'mode': 'wap'}`), for inner services to read.
///
/// Typed extensions are preferred for anything a layer consumes; `Vars` exists for
/// user configuration that names its own keys.
///
/// ```
/// use frontdoor_core::Vars;
///
/// let mut vars = Vars::default();
/// vars.set("mode", "wap");
/// assert_eq!(vars.get("mode"), Some("wap"));
/// assert_eq!(vars.remove("mode").as_deref(), Some("wap"));
/// assert!(vars.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vars(BTreeMap<String, String>);

impl Vars {
    /// The value of `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.0.insert(key.into(), value.into())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    /// Whether no variable is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates the variables in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mount;

    #[test]
    fn resolved_round_trips() {
        let table = [
            "www.example.com:80:/",
            "www.example.com:443:/svn/trunk",
            "[::1]:8080:/x",
            "[2001:db8::1]:80:/a:b:c",
            "localhost:0:",
            "h:65535:/%2F",
        ];
        for s in table {
            let r: Resolved = s.parse().unwrap();
            assert_eq!(r.to_string(), s);
        }
        let r: Resolved = "Example.COM:443:/p".parse().unwrap();
        assert_eq!(r.host, "example.com");
        assert_eq!(r.scheme, Scheme::HTTPS);
        assert_eq!(r.source, HostSource::Parsed);
        let labelled = r.with_label("https");
        assert_eq!(labelled.to_string(), "example.com:https:/p");
        assert_eq!(labelled.port, 443);
    }

    #[test]
    fn peer_trust_matched_route_vars() {
        let mut req = Request::new(());
        assert!(!PeerTrust::is_trusted(&req));
        req.extensions_mut()
            .insert(PeerTrust::new(true, "10.0.0.1".parse().unwrap()));
        assert!(PeerTrust::is_trusted(&req));
        let m = MatchedRoute::new(3, "::/svn");
        assert_eq!((m.index, &*m.spec), (3, "::/svn"));
        let mut v = Vars::default();
        assert_eq!(v.set("a", "1"), None);
        assert_eq!(v.set("a", "2").as_deref(), Some("1"));
        assert_eq!(v.iter().collect::<Vec<_>>(), [("a", "2")]);
    }

    #[test]
    fn resolved_parse_errors() {
        for s in [
            "",
            "host",
            "host:80",
            "host:x:/",
            "[::1:80:/",
            "[::1]80:/",
            "h:80:p",
            "h:70000:/",
        ] {
            assert!(s.parse::<Resolved>().is_err(), "{s:?} should not parse");
        }
        let e = "h:x:/".parse::<Resolved>().unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"invalid host:port:path "h:x:/": port is not a number"#
        );
    }

    #[test]
    fn resolved_authority_omits_default_port_only() {
        let r = |s: &str| s.parse::<Resolved>().unwrap();
        assert_eq!(r("a:80:/").authority(), "a");
        assert_eq!(r("a:443:/").authority(), "a");
        assert_eq!(r("a:8080:/").authority(), "a:8080");
        assert_eq!(r("[::1]:81:/").authority(), "[::1]:81");
        let mut https_on_80 = r("a:80:/");
        https_on_80.set_scheme(Scheme::HTTPS);
        assert_eq!(https_on_80.authority(), "a:80");
        assert!(r("[::1]:81:/").is_ipv6());
    }

    #[test]
    fn narrow_canonical_only_narrows_the_escaped_slash_policy() {
        use EncodedSlash::{Decode, Keep, Reject};
        let resolved = |policy| {
            let opts = CanonicalOptions::new()
                .encoded_slash(policy)
                .merge_slashes(false);
            "h:80:/a%2Fb"
                .parse::<Resolved>()
                .unwrap()
                .with_canonical(opts)
        };
        // (recorded, asked for, recorded after): only `reject` is ever taken on.
        let table = [
            (Keep, Keep, Keep),
            (Keep, Reject, Reject),
            (Keep, Decode, Keep),
            (Reject, Keep, Reject),
            (Reject, Reject, Reject),
            (Reject, Decode, Reject),
            (Decode, Keep, Decode),
            (Decode, Reject, Reject),
            (Decode, Decode, Decode),
        ];
        for (from, to, want) in table {
            let mut r = resolved(from);
            r.narrow_canonical(to);
            assert_eq!(r.canonical().encoded_slash, want, "{from} narrowed to {to}");
            // Nothing else changes: not the path, not `merge_slashes`.
            assert_eq!(r, resolved(want), "{from} narrowed to {to}");
            assert_eq!(r.path, "/a%2Fb");
        }
    }

    #[test]
    fn set_scheme_changes_the_scheme_alone() {
        let r = "h:8443:/p".parse::<Resolved>().unwrap().with_label("https");
        let mut changed = r.clone();
        changed.set_scheme(Scheme::HTTPS);
        assert_eq!(changed.scheme, Scheme::HTTPS);
        assert_eq!(
            (&*changed.host, changed.port, &*changed.path, changed.source),
            ("h", 8443, "/p", HostSource::Parsed)
        );
        assert_eq!(changed.label.as_deref(), Some("https"));
        assert_eq!(changed.canonical(), r.canonical());
        assert_eq!(changed.to_string(), "h:https:/p");
        let mut on_443: Resolved = "h:443:/".parse().unwrap();
        on_443.set_scheme(Scheme::HTTP);
        assert_eq!(
            (on_443.default_port(), on_443.authority().as_str()),
            (80, "h:443")
        );
        on_443.set_scheme(Scheme::HTTPS);
        assert_eq!(on_443.authority(), "h");
    }

    #[test]
    fn original_uri_rewrite_and_remove() {
        let mut req = Request::new(());
        *req.uri_mut() = "/a?b".parse().unwrap();
        assert_eq!(OriginalUri::remove(&mut req), None);
        OriginalUri::rewrite(&mut req, "/set?x".parse().unwrap());
        assert_eq!(req.extensions().get::<OriginalUri>().unwrap().0, "/set?x");
        OriginalUri::insert_if_absent(&mut req);
        assert_eq!(req.extensions().get::<OriginalUri>().unwrap().0, "/set?x");
        OriginalUri::rewrite(&mut req, "http://h/c".parse().unwrap());
        assert_eq!(req.uri(), "/a?b");
        let removed = OriginalUri::remove(&mut req).unwrap();
        assert_eq!(removed.0, "http://h/c");
        assert!(req.extensions().get::<OriginalUri>().is_none());
    }

    #[test]
    fn mount_consumes_and_joins() {
        let mut m = Mount::from_path("/svn/trunk/x");
        assert!(!m.consume("/git"));
        assert!(m.consume("/svn"));
        assert!(m.consume("/trunk"));
        assert_eq!(m.script_name(), "/svn/trunk");
        assert_eq!(m.path_info(), "/x");
        assert_eq!(m.full_path(), "/svn/trunk/x");
        assert!(m.consume("/x"));
        assert_eq!(m.path_info(), "");
        assert_eq!(m.uri_path(), "/");
        assert_eq!(m.full_path(), "/svn/trunk/x");
    }

    #[test]
    fn rebuild_keeps_query_byte_for_byte() {
        let m = Mount::new("/app", "/b");
        let table = [
            ("/app/b?x=1&y=%2F", "/b?x=1&y=%2F"),
            ("/app/b", "/b"),
            ("/app/b?", "/b?"),
            ("http://h:81/app/b?q", "http://h:81/b?q"),
        ];
        for (input, want) in table {
            let uri: Uri = input.parse().unwrap();
            assert_eq!(m.rebuild_uri(&uri).unwrap().to_string(), want, "{input}");
        }
        let empty = Mount::new("/app", "");
        let uri: Uri = "/app?q=1".parse().unwrap();
        assert_eq!(empty.rebuild_uri(&uri).unwrap(), "/?q=1");
    }

    #[test]
    fn apply_sets_uri_and_extension() {
        let mut req = Request::new(());
        *req.uri_mut() = "/app/b?q".parse().unwrap();
        assert_eq!(Mount::of(&req), Mount::from_path("/app/b"));
        Mount::new("/app", "/b").apply(&mut req).unwrap();
        assert_eq!(req.uri(), "/b?q");
        assert_eq!(Mount::of(&req).script_name(), "/app");
        let bad = Mount::new("", "/a b");
        assert!(bad.apply(&mut req).is_err());
        assert_eq!(req.uri(), "/b?q");
    }

    #[test]
    fn conn_info_and_original_uri() {
        let info = ConnInfo::new(
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        );
        assert_eq!(info.local.port(), 1);
        assert_eq!(info.remote.port(), 2);
        assert!(info.with_tls(true).tls);
        let tls = TlsInfo::new(Some("h".into()));
        assert_eq!(tls.clone(), tls);
        let mut req = Request::new(());
        OriginalUri::insert_if_absent(&mut req);
        assert_eq!(req.extensions().get::<OriginalUri>().unwrap().0, "/");
        assert_eq!(HostSource::XForwardedHost.as_str(), "x-forwarded-host");
    }
}
