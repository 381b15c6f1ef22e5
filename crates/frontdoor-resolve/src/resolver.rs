//! The `Resolver` strategy trait and the helpers the built-in resolvers share.

use std::net::IpAddr;

use frontdoor_core::{ConnInfo, Error, PeerTrust, Resolved};
use http::{header, request::Parts, uri::Scheme, HeaderValue};

use crate::host::{parse_host, HostPort};

/// A strategy that decides which virtual host, port and path a request is for
/// (WFront's `host_resolver`).
///
/// [`ResolveLayer`](crate::ResolveLayer) calls it once per request, after it has
/// rewritten the URI to the canonical path, so `parts.uri.path()` is already the
/// canonical path (see the [crate docs](crate#the-path)). An `Err` is answered by the
/// layer with the error's status (400 for [`Error::bad_request`]); its message is
/// logged, not sent.
///
/// Closures `Fn(&Parts) -> Result<Resolved, Error>` implement it; their
/// [`PeerTrust`] is "untrusted", as for [`DirectResolver`](crate::DirectResolver).
///
/// ```
/// use frontdoor_core::{Error, HostSource, Resolved};
/// use frontdoor_resolve::{Resolution, Resolver};
/// use http::{request::Parts, uri::Scheme, Request};
///
/// // Every request is for one fixed virtual host.
/// let fixed = |parts: &Parts| -> Result<Resolved, Error> {
///     Ok(Resolved::new(Scheme::HTTP, "app.internal", 80, parts.uri.path(), HostSource::ServerName))
/// };
/// let (parts, ()) = Request::get("/x").body(()).unwrap().into_parts();
/// let res: Resolution = fixed.resolve(&parts).unwrap();
/// assert_eq!(res.resolved.to_string(), "app.internal:80:/x");
/// ```
pub trait Resolver {
    /// Resolves one request.
    ///
    /// # Errors
    ///
    /// An [`Error`] (usually [`Error::bad_request`]) when the request cannot be
    /// resolved; the layer answers it with the error's status.
    fn resolve(&self, parts: &Parts) -> Result<Resolution, Error>;
}

impl<F> Resolver for F
where
    F: Fn(&Parts) -> Result<Resolved, Error>,
{
    fn resolve(&self, parts: &Parts) -> Result<Resolution, Error> {
        self(parts).map(Resolution::from)
    }
}

/// What a [`Resolver`] decided: the [`Resolved`] verdict and, when the resolver made
/// one, a trust decision about the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolution {
    /// The verdict, inserted as a request extension.
    pub resolved: Resolved,
    /// The trust decision. `None` lets the layer stamp "untrusted, client = the
    /// connection's peer" (or nothing when there is no [`ConnInfo`]).
    pub trust: Option<PeerTrust>,
}

impl Resolution {
    /// A resolution with an explicit trust decision.
    #[must_use]
    pub const fn new(resolved: Resolved, trust: Option<PeerTrust>) -> Self {
        Self { resolved, trust }
    }
}

impl From<Resolved> for Resolution {
    fn from(resolved: Resolved) -> Self {
        Self::new(resolved, None)
    }
}

// === shared helpers ===

/// The connection's peer address, when the acceptor stamped one.
pub(crate) fn peer_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnInfo>()
        .map(|c| c.remote.ip().to_canonical())
}

/// The "untrusted peer" decision.
pub(crate) fn untrusted(parts: &Parts) -> Option<PeerTrust> {
    peer_ip(parts).map(|ip| PeerTrust::new(false, ip))
}

/// The scheme the request arrived over: the connection's TLS flag when the acceptor
/// stamped [`ConnInfo`], else the absolute-form / HTTP/2 `:scheme`, else `http`.
pub(crate) fn connection_scheme(parts: &Parts) -> Scheme {
    let https = match parts.extensions.get::<ConnInfo>() {
        Some(conn) => conn.tls,
        None => parts.uri.scheme() == Some(&Scheme::HTTPS),
    };
    if https {
        Scheme::HTTPS
    } else {
        Scheme::HTTP
    }
}

/// 443 for https, else 80.
pub(crate) fn default_port(scheme: &Scheme) -> u16 {
    if *scheme == Scheme::HTTPS {
        443
    } else {
        80
    }
}

/// The local port of the connection, if known.
pub(crate) fn local_port(parts: &Parts) -> Option<u16> {
    parts.extensions.get::<ConnInfo>().map(|c| c.local.port())
}

/// The canonical path the layer left in the URI (`/` for authority-form targets).
pub(crate) fn uri_path(parts: &Parts) -> &str {
    match parts.uri.path() {
        "" => "/",
        p => p,
    }
}

/// The single `Host` header value, `Ok(None)` when absent.
pub(crate) fn single_host(parts: &Parts) -> Result<Option<&HeaderValue>, Error> {
    let mut all = parts.headers.get_all(header::HOST).iter();
    let first = all.next();
    if all.next().is_some() {
        return Err(Error::bad_request("more than one host header"));
    }
    Ok(first)
}

/// A header value as text, or a bad-request error naming the header.
pub(crate) fn header_str<'a>(value: &'a HeaderValue, what: &'static str) -> Result<&'a str, Error> {
    value
        .to_str()
        .map_err(|e| Error::bad_request(what).with_source(e))
}

/// Normalises host text from `what`, mapping grammar errors to 400.
pub(crate) fn host_from<'a>(
    text: &'a str,
    what: &'static str,
) -> Result<Option<HostPort<'a>>, Error> {
    parse_host(text).map_err(|e| Error::bad_request(what).with_source(e))
}

/// Where the request itself says it is going: the absolute-form / HTTP/2 authority,
/// else the `Host` header. Enforces RFC 9112 section 3.2: one `Host` at most, a valid
/// host, and a `Host` that agrees with the authority.
pub(crate) fn request_host<'a>(
    parts: &'a Parts,
    scheme: &Scheme,
) -> Result<Option<(HostPort<'a>, frontdoor_core::HostSource)>, Error> {
    let host_header = match single_host(parts)? {
        Some(v) => host_from(header_str(v, "invalid host header")?, "invalid host header")?,
        None => None,
    };
    let authority = match parts.uri.authority() {
        Some(auth) => {
            let text = auth.as_str();
            let text = text.rsplit_once('@').map_or(text, |(_, h)| h);
            host_from(text, "invalid request-target authority")?
        }
        None => None,
    };
    match (authority, host_header) {
        (Some(auth), Some(host)) => {
            let default = default_port(scheme);
            let agree = auth.host == host.host
                && auth.port.unwrap_or(default) == host.port.unwrap_or(default);
            if !agree {
                return Err(Error::bad_request(
                    "host header disagrees with the request-target authority",
                ));
            }
            Ok(Some((auth, frontdoor_core::HostSource::Authority)))
        }
        (Some(auth), None) => Ok(Some((auth, frontdoor_core::HostSource::Authority))),
        (None, Some(host)) => Ok(Some((host, frontdoor_core::HostSource::Host))),
        (None, None) => Ok(None),
    }
}
