//! The forwarded resolver: honours `Forwarded` / `X-Forwarded-*` from trusted proxies.

use std::{borrow::Cow, net::IpAddr, sync::Arc};

use frontdoor_core::{Error, HostSource, PeerTrust, Resolved};
use http::{header, request::Parts, uri::Scheme, HeaderName};
use ipnet::IpNet;

use frontdoor_core::proto::{
    connection_scheme, default_port, host_from, request_host, resolution_path, rfc7239,
    ForwardingPresent, HostPort, FORWARDING_HEADERS, X_FORWARDED_FOR, X_FORWARDED_HOST,
    X_FORWARDED_PORT, X_FORWARDED_PROTO, X_FORWARDED_SERVER,
};

use crate::{
    direct::DirectResolver,
    error::ResolveConfigError,
    forwarding_warnings::ForwardingWarnings,
    resolver::{header_str, peer_ip, untrusted, Resolution, Resolver, WarnOnce},
};

/// A forwarding header a [`ForwardedResolver`] may honour.
///
/// The resolver consults the configured sources in order; for each datum (client,
/// host, proto, port) the first source that supplies it wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForwardedSource {
    /// RFC 7239 `Forwarded`: client (`for`), `host` and `proto`.
    Forwarded,
    /// `X-Forwarded-For`: the client address chain.
    XForwardedFor,
    /// `X-Forwarded-Host`: the host (and optional port) the client asked for.
    XForwardedHost,
    /// `X-Forwarded-Proto`: `http` or `https`.
    XForwardedProto,
    /// `X-Forwarded-Port`: the port the client connected to.
    XForwardedPort,
    /// `X-Forwarded-Server`: the proxy's server name, used only when the request
    /// has no host of its own (WFront's fallback, after `Host`).
    XForwardedServer,
}

impl ForwardedSource {
    /// Every source, in the default order: `Forwarded` first, then the
    /// `X-Forwarded-*` family.
    pub const ALL: [Self; 6] = [
        Self::Forwarded,
        Self::XForwardedFor,
        Self::XForwardedHost,
        Self::XForwardedProto,
        Self::XForwardedPort,
        Self::XForwardedServer,
    ];

    /// The position of the header this source reads in
    /// [`FORWARDING_HEADERS`](frontdoor_core::proto::FORWARDING_HEADERS)
    /// (which lists them first, in the order of [`ALL`](Self::ALL); a test holds the
    /// two together).
    const fn index(self) -> usize {
        match self {
            Self::Forwarded => 0,
            Self::XForwardedFor => 1,
            Self::XForwardedHost => 2,
            Self::XForwardedProto => 3,
            Self::XForwardedPort => 4,
            Self::XForwardedServer => 5,
        }
    }
}

/// Warned once per process: forwarding headers arrived on a request without
/// [`ConnInfo`](frontdoor_core::ConnInfo), so no peer could be trusted.
static NO_CONN_INFO: WarnOnce = WarnOnce::new(
    "forwarding headers ignored: the request carries no ConnInfo, so its peer cannot be \
     trusted. Serve with frontdoor::serve, or wrap the service in frontdoor::axum::conn_info \
     for axum::serve (hyper: frontdoor::conn::ConnInfoLayer per connection). Logged once \
     per process.",
);

/// A resolver for servers behind reverse proxies: it honours `Forwarded` (RFC 7239)
/// and `X-Forwarded-Host/-Proto/-Port/-For/-Server`, **only** when the connection's
/// peer is one of the configured trusted proxies.
///
/// * **Untrusted peer** (or no [`ConnInfo`](frontdoor_core::ConnInfo)): every
///   forwarding header is ignored and the request resolves exactly as with
///   [`DirectResolver`]. The stamped [`PeerTrust`] says "untrusted, client = peer".
/// * **Trusted peer**: the client address is found by walking the `for` chain
///   (`Forwarded` elements or `X-Forwarded-For` entries) from the right, skipping
///   trusted hops; the first untrusted, unknown or unparseable hop ends the walk.
///   Host and proto come from the nearest trusted hop: for `Forwarded`, the
///   right-most element added by a trusted hop that carries the parameter; for
///   `X-Forwarded-*`, the right-most comma-separated value. A client-supplied
///   left-most value never wins over a trusted hop's.
/// * **Host**: forwarded host, else the request's own (as [`DirectResolver`]), else
///   `X-Forwarded-Server`, else the server name. **Port**: the forwarded host's
///   explicit port, else `X-Forwarded-Port`, else the request host's explicit port,
///   else the default of the effective scheme (the forwarded proto, else the
///   connection's), so a TLS-terminating proxy's `proto=https` yields 443.
/// * An invalid forwarded host, port or `Forwarded` syntax from a trusted peer is
///   answered with 400 and logged at `warn`, naming the header and why, at most once
///   per peer per minute ([`ForwardingWarnings`]); an unknown proto (not
///   `http`/`https`) is ignored.
///
/// ```
/// use frontdoor_core::{ConnInfo, PeerTrust};
/// use frontdoor_resolve::{ForwardedResolver, Resolver};
/// use http::Request;
///
/// let resolver = ForwardedResolver::try_new(["10.0.0.0/8"])?;
/// let request = |peer: &str| {
///     let mut req = Request::get("/")
///         .header("host", "internal:8080")
///         .header("x-forwarded-for", "6.6.6.6, 192.0.2.7")
///         .header("x-forwarded-host", "www.example.com")
///         .header("x-forwarded-proto", "https")
///         .body(())
///         .unwrap();
///     req.extensions_mut().insert(ConnInfo::new("10.0.0.2:8080".parse().unwrap(), peer.parse().unwrap()));
///     req.into_parts().0
/// };
/// // From the trusted proxy: the forwarded host and proto, the right-most client.
/// let res = resolver.resolve(&request("10.0.0.1:40000"))?;
/// assert_eq!(res.resolved.to_string(), "www.example.com:443:/");
/// assert_eq!(res.trust, Some(PeerTrust::new(true, "192.0.2.7".parse()?)));
/// // From anyone else: the headers are ignored.
/// let res = resolver.resolve(&request("203.0.113.5:40000"))?;
/// assert_eq!(res.resolved.to_string(), "internal:8080:/");
/// # Ok::<(), frontdoor_core::BoxError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ForwardedResolver {
    direct: DirectResolver,
    trusted: Arc<[IpNet]>,
    sources: Arc<[ForwardedSource]>,
    warnings: ForwardingWarnings,
}

impl ForwardedResolver {
    /// A resolver trusting the given proxy networks, honouring every
    /// [`ForwardedSource`] in the default order.
    #[must_use]
    pub fn new(trusted_proxies: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            direct: DirectResolver::new(),
            trusted: trusted_proxies.into_iter().collect(),
            sources: ForwardedSource::ALL.into(),
            warnings: ForwardingWarnings::new(),
        }
    }

    /// Like [`new`](Self::new), from text: CIDRs (`10.0.0.0/8`, `fd00::/8`) or bare
    /// addresses (`192.0.2.1`, taken as `/32` or `/128`).
    ///
    /// # Errors
    ///
    /// [`ResolveConfigError`] (key `trusted_proxies`) naming the first invalid entry.
    pub fn try_new<I>(trusted_proxies: I) -> Result<Self, ResolveConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let nets = trusted_proxies
            .into_iter()
            .map(|s| {
                let s = s.as_ref();
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        ResolveConfigError::new(
                            "trusted_proxies",
                            s,
                            "expected an IP address or CIDR",
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(nets))
    }

    /// Which forwarding headers are honoured, and in which order. Default:
    /// [`ForwardedSource::ALL`]. An empty list makes this a [`DirectResolver`] that
    /// still stamps trust decisions.
    #[must_use]
    pub fn sources(mut self, sources: impl IntoIterator<Item = ForwardedSource>) -> Self {
        self.sources = sources.into_iter().collect();
        self
    }

    /// Warns about trusted proxies' malformed forwarding headers through `warnings`,
    /// shared with whoever else holds it (every worker's resolver), so a peer is
    /// warned about once per minute over them all. Default: a value of its own
    /// (shared by this resolver's clones).
    #[must_use]
    pub fn warnings(mut self, warnings: ForwardingWarnings) -> Self {
        self.warnings = warnings;
        self
    }

    /// Sets the server name used when a request has no host; see
    /// [`DirectResolver::try_server_name`]. Default: none.
    ///
    /// # Errors
    ///
    /// [`ResolveConfigError`] (key `server_name`) when `name` is not a valid host.
    pub fn try_server_name(mut self, name: &str) -> Result<Self, ResolveConfigError> {
        self.direct = self.direct.try_server_name(name)?;
        Ok(self)
    }

    /// Whether `ip` is in a trusted proxy network (IPv4-mapped IPv6 addresses are
    /// compared as IPv4).
    #[must_use]
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    fn resolve_trusted(&self, parts: &Parts, peer: IpAddr) -> Result<Resolution, Error> {
        let mut claims = Claims::default();
        // One pass over the names, then only the sources whose header came.
        let present = ForwardingPresent::of(&parts.headers);
        for source in self.sources.iter() {
            if present.at(source.index()) {
                self.gather(&mut claims, *source, parts, peer)
                    .inspect_err(|e| {
                        let header = FORWARDING_HEADERS[source.index()].clone();
                        self.warnings.refused(peer, &header, e);
                    })?;
            }
        }
        let trust = Some(PeerTrust::new(true, claims.client.unwrap_or(peer)));
        let resolved = self.settle(parts, claims)?;
        Ok(Resolution::new(resolved, trust))
    }

    /// Adds what `source` says to `claims`, unless an earlier source said it.
    fn gather<'a>(
        &self,
        claims: &mut Claims<'a>,
        source: ForwardedSource,
        parts: &'a Parts,
        peer: IpAddr,
    ) -> Result<(), Error> {
        match source {
            ForwardedSource::Forwarded => {
                if parts.headers.contains_key(header::FORWARDED) {
                    let walk = self.walk_forwarded(parts, peer)?;
                    claims.client = claims.client.or(walk.client);
                    if let (None, Some(h)) = (&claims.host, walk.host) {
                        claims.host = forwarded_host(h, "invalid forwarded host")?
                            .map(|hp| (hp, HostSource::Forwarded));
                    }
                    if claims.proto.is_none() {
                        claims.proto = walk.proto.as_deref().and_then(scheme_of);
                    }
                }
            }
            ForwardedSource::XForwardedFor => {
                if claims.client.is_none() && parts.headers.contains_key(&X_FORWARDED_FOR) {
                    claims.client = Some(self.walk_xff(parts, peer)?);
                }
            }
            ForwardedSource::XForwardedHost => {
                if let (None, Some(v)) = (&claims.host, rightmost(parts, &X_FORWARDED_HOST)?) {
                    claims.host = host_from(v, "invalid x-forwarded-host")?
                        .map(|hp| (hp, HostSource::XForwardedHost));
                }
            }
            ForwardedSource::XForwardedProto => {
                if claims.proto.is_none() {
                    claims.proto = rightmost(parts, &X_FORWARDED_PROTO)?.and_then(scheme_of);
                }
            }
            ForwardedSource::XForwardedPort => {
                if let (None, Some(v)) = (claims.port, rightmost(parts, &X_FORWARDED_PORT)?) {
                    claims.port = Some(v.parse().map_err(|e| {
                        Error::bad_request("invalid x-forwarded-port").with_source(e)
                    })?);
                }
            }
            ForwardedSource::XForwardedServer => {
                if let (None, Some(v)) = (&claims.server, rightmost(parts, &X_FORWARDED_SERVER)?) {
                    claims.server = host_from(v, "invalid x-forwarded-server")?;
                }
            }
        }
        Ok(())
    }

    /// The verdict from the claims: a forwarded host (its own port, else the
    /// forwarded port), else the request's own host (the forwarded port, else its
    /// own), else `X-Forwarded-Server`, else the direct resolver's server name.
    fn settle(&self, parts: &Parts, claims: Claims<'_>) -> Result<Resolved, Error> {
        let Claims {
            host,
            proto,
            port,
            server,
            ..
        } = claims;
        let proto_default = proto.as_ref().map(default_port);
        let scheme = proto.unwrap_or_else(|| connection_scheme(parts));
        // The request's own host is looked at (and validated) only when no trusted
        // header named one.
        let own = match host {
            Some(_) => None,
            None => request_host(parts, &scheme)?,
        };
        let (hp, source, own_port) = match (host, own, server) {
            (Some((hp, source)), _, _) => {
                let explicit = hp.port;
                (hp, source, explicit.or(port))
            }
            (None, Some((hp, source)), _) => {
                let explicit = hp.port;
                (hp, source, port.or(explicit))
            }
            (None, None, Some(hp)) => {
                let explicit = hp.port;
                (hp, HostSource::XForwardedServer, explicit.or(port))
            }
            (None, None, None) => {
                return self.direct.fallback(parts, scheme, port.or(proto_default));
            }
        };
        let port = own_port.unwrap_or_else(|| default_port(&scheme));
        Ok(Resolved::new(
            scheme,
            hp.host.into_owned(),
            port,
            resolution_path(parts),
            source,
        ))
    }

    /// Walks the `Forwarded` elements of every field line (in order) in one forward
    /// pass, without collecting them.
    ///
    /// Element `k`'s `for` names the node that sent the request to the proxy that
    /// appended element `k`; that proxy is element `k + 1`'s `for` (or the peer, for
    /// the last element). Let `u` be the last element whose `for` is not a trusted
    /// IP: elements from `u` on were appended by trusted hops, and `u`'s `for` is the
    /// client (or, when it is unknown or obfuscated, the hop that appended `u`). With
    /// no such element every hop is trusted and the left-most `for` is the client.
    fn walk_forwarded<'a>(&self, parts: &'a Parts, peer: IpAddr) -> Result<Walk<'a>, Error> {
        let mut walk = Walk {
            client: None,
            host: None,
            proto: None,
        };
        let mut pending_unknown = false;
        let mut first = true;
        for line in parts.headers.get_all(header::FORWARDED) {
            let line = header_str(line, "invalid forwarded header")?;
            for el in rfc7239::elements(line) {
                let el =
                    el.map_err(|e| Error::bad_request("invalid forwarded header").with_source(e))?;
                match el.for_node.as_ref().and_then(rfc7239::Node::ip) {
                    Some(ip) if self.is_trusted(ip) => {
                        if pending_unknown || first {
                            walk.client = Some(ip);
                            pending_unknown = false;
                        }
                    }
                    other => {
                        // Everything left of this element is client-controlled.
                        walk.host = None;
                        walk.proto = None;
                        walk.client = other;
                        pending_unknown = other.is_none();
                    }
                }
                first = false;
                if el.host.is_some() {
                    walk.host = el.host;
                }
                if el.proto.is_some() {
                    walk.proto = el.proto;
                }
            }
        }
        if pending_unknown {
            walk.client = Some(peer);
        }
        Ok(walk)
    }

    /// Walks `X-Forwarded-For` from the right past trusted hops.
    fn walk_xff(&self, parts: &Parts, peer: IpAddr) -> Result<IpAddr, Error> {
        let mut client = peer;
        // Header lines are combined in order (RFC 9110 section 5.3): walk the last
        // line first, each from its right end.
        for line in parts.headers.get_all(&X_FORWARDED_FOR).iter().rev() {
            let line = header_str(line, "invalid x-forwarded-for")?;
            for entry in line.rsplit(',') {
                let entry = entry.trim_matches([' ', '\t']);
                if entry.is_empty() {
                    continue;
                }
                let Some(ip) = parse_xff_entry(entry) else {
                    return Ok(client);
                };
                client = ip;
                if !self.is_trusted(ip) {
                    return Ok(client);
                }
            }
        }
        Ok(client)
    }
}

impl Resolver for ForwardedResolver {
    fn resolve(&self, parts: &Parts) -> Result<Resolution, Error> {
        match peer_ip(parts) {
            Some(peer) if self.is_trusted(peer) => self.resolve_trusted(parts, peer),
            None if reads_any(ForwardingPresent::of(&parts.headers)) => {
                NO_CONN_INFO.warn();
                let resolved = self.direct.resolve_with(parts, connection_scheme(parts))?;
                Ok(Resolution::new(resolved, None))
            }
            _ => {
                let resolved = self.direct.resolve_with(parts, connection_scheme(parts))?;
                Ok(Resolution::new(resolved, untrusted(parts)))
            }
        }
    }
}

/// Whether `present` holds a header some [`ForwardedSource`] reads (the rest of the
/// list, `X-Real-IP` and the like, is never read by the resolver).
fn reads_any(present: ForwardingPresent) -> bool {
    ForwardedSource::ALL
        .iter()
        .any(|source| present.at(source.index()))
}

/// What the trusted forwarding headers claim; for each datum the first source wins.
#[derive(Default)]
struct Claims<'a> {
    client: Option<IpAddr>,
    host: Option<(HostPort<'a>, HostSource)>,
    proto: Option<Scheme>,
    port: Option<u16>,
    server: Option<HostPort<'a>>,
}

/// The outcome of walking the `Forwarded` chain.
struct Walk<'a> {
    client: Option<IpAddr>,
    host: Option<Cow<'a, str>>,
    proto: Option<Cow<'a, str>>,
}

/// `X-Forwarded-For` entries: an IP, optionally with a port (`1.2.3.4:80`,
/// `[::1]:80`).
fn parse_xff_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    entry
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|sa| sa.ip().to_canonical())
}

/// The right-most comma-separated value over every line of `name`, trimmed.
fn rightmost<'a>(parts: &'a Parts, name: &HeaderName) -> Result<Option<&'a str>, Error> {
    let Some(line) = parts.headers.get_all(name).iter().next_back() else {
        return Ok(None);
    };
    let line = header_str(line, "invalid forwarding header")?;
    let last = line
        .rsplit(',')
        .next()
        .unwrap_or("")
        .trim_matches([' ', '\t']);
    Ok((!last.is_empty()).then_some(last))
}

/// `http`/`https` (case-insensitive); anything else is not understood.
fn scheme_of(proto: &str) -> Option<Scheme> {
    if proto.eq_ignore_ascii_case("https") {
        Some(Scheme::HTTPS)
    } else if proto.eq_ignore_ascii_case("http") {
        Some(Scheme::HTTP)
    } else {
        None
    }
}

/// Normalises a `Forwarded: host=` value, keeping the borrow when it has one.
fn forwarded_host<'a>(h: Cow<'a, str>, what: &'static str) -> Result<Option<HostPort<'a>>, Error> {
    match h {
        Cow::Borrowed(s) => host_from(s, what),
        Cow::Owned(s) => Ok(host_from(&s, what)?.map(|hp| HostPort {
            host: Cow::Owned(hp.host.into_owned()),
            port: hp.port,
        })),
    }
}

#[cfg(test)]
mod tests {
    use frontdoor_core::proto::FORWARDING_HEADERS;

    use super::*;

    /// `index` (which `resolve` uses to skip sources whose header did not come)
    /// names the header each source reads.
    #[test]
    fn each_source_indexes_its_own_header() {
        let read = [
            header::FORWARDED,
            X_FORWARDED_FOR,
            X_FORWARDED_HOST,
            X_FORWARDED_PROTO,
            X_FORWARDED_PORT,
            X_FORWARDED_SERVER,
        ];
        for (source, name) in ForwardedSource::ALL.into_iter().zip(read) {
            assert_eq!(FORWARDING_HEADERS[source.index()], name, "{source:?}");
        }
    }
}
