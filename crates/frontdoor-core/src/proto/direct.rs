//! What the request itself says about where it is going: its scheme, its host and
//! port, and the direct `host:port:path` resolution built from them.

use http::{header, request::Parts, uri::Scheme, Extensions, HeaderMap, HeaderValue, Request, Uri};

use super::host::{default_port, parse_host, HostPort};
use crate::{ConnInfo, Error, HostSource, Resolved};

/// The parts of a request head the resolution functions read: implemented for
/// [`http::request::Parts`] and every [`http::Request`], so a layer holding either can
/// call them without taking the request apart.
pub trait RequestHead {
    /// The request target.
    fn uri(&self) -> &Uri;
    /// The header fields.
    fn headers(&self) -> &HeaderMap;
    /// The extensions (for [`ConnInfo`]).
    fn extensions(&self) -> &Extensions;
}

impl RequestHead for Parts {
    fn uri(&self) -> &Uri {
        &self.uri
    }
    fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    fn extensions(&self) -> &Extensions {
        &self.extensions
    }
}

impl<B> RequestHead for Request<B> {
    fn uri(&self) -> &Uri {
        self.uri()
    }
    fn headers(&self) -> &HeaderMap {
        self.headers()
    }
    fn extensions(&self) -> &Extensions {
        self.extensions()
    }
}

/// The scheme the request arrived over: the connection's TLS flag when the acceptor
/// stamped [`ConnInfo`], else `http`. Never from the request itself: an
/// absolute-form `https://` target or an HTTP/2 `:scheme` is the client's word, not a
/// fact about the connection (and a client that could pick it could make the
/// upstream believe it was reached over TLS).
#[must_use]
pub fn connection_scheme(req: &impl RequestHead) -> Scheme {
    match req.extensions().get::<ConnInfo>() {
        Some(conn) if conn.tls => Scheme::HTTPS,
        _ => Scheme::HTTP,
    }
}

/// The local port of the connection, if the acceptor stamped [`ConnInfo`].
#[must_use]
pub fn local_port(req: &impl RequestHead) -> Option<u16> {
    req.extensions().get::<ConnInfo>().map(|c| c.local.port())
}

/// The path a resolution records: the URI's path, `/` for an authority-form target.
#[must_use]
pub fn resolution_path(req: &impl RequestHead) -> &str {
    match req.uri().path() {
        "" => "/",
        p => p,
    }
}

/// The single `Host` header value, `Ok(None)` when absent.
///
/// # Errors
///
/// A bad-request [`Error`] for more than one `Host` header.
pub fn single_host(req: &impl RequestHead) -> Result<Option<&HeaderValue>, Error> {
    let mut all = req.headers().get_all(header::HOST).iter();
    let first = all.next();
    if all.next().is_some() {
        return Err(Error::bad_request("more than one host header"));
    }
    Ok(first)
}

/// Normalises host text from `what` ([`parse_host`]), mapping grammar errors to 400.
///
/// # Errors
///
/// A bad-request [`Error`] named `what`, with the [`HostError`](super::HostError) as
/// its source.
pub fn host_from<'a>(text: &'a str, what: &'static str) -> Result<Option<HostPort<'a>>, Error> {
    parse_host(text).map_err(|e| Error::bad_request(what).with_source(e))
}

/// Where the request itself says it is going: the absolute-form / HTTP/2 authority
/// (userinfo dropped), else the `Host` header, normalised by [`parse_host`].
///
/// Enforces RFC 9112 section 3.2: one `Host` at most, a valid host, and a `Host` that
/// agrees with the authority (ports compared with `scheme`'s default filled in).
///
/// # Errors
///
/// A bad-request [`Error`] for any of those violations.
pub fn request_host<'a>(
    req: &'a impl RequestHead,
    scheme: &Scheme,
) -> Result<Option<(HostPort<'a>, HostSource)>, Error> {
    let host_header = match single_host(req)? {
        Some(v) => {
            let text = v
                .to_str()
                .map_err(|e| Error::bad_request("invalid host header").with_source(e))?;
            host_from(text, "invalid host header")?
        }
        None => None,
    };
    let authority = match req.uri().authority() {
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
            Ok(Some((auth, HostSource::Authority)))
        }
        (Some(auth), None) => Ok(Some((auth, HostSource::Authority))),
        (None, Some(host)) => Ok(Some((host, HostSource::Host))),
        (None, None) => Ok(None),
    }
}

/// The direct resolution of a request with `scheme` as its effective scheme: the host
/// from [`request_host`], its explicit port or the scheme's default, and the URI path.
/// `Ok(None)` when the request names no host (HTTP/1.0, empty `Host`); the caller
/// decides the fallback (a server name, or an empty host).
///
/// ```
/// use frontdoor_core::proto::{connection_scheme, direct_resolution};
/// use http::Request;
///
/// let req = Request::get("/a").header("host", "Example.COM.:8080").body(())?;
/// let resolved = direct_resolution(&req, connection_scheme(&req))?.unwrap();
/// assert_eq!(resolved.to_string(), "example.com:8080:/a");
/// let req = Request::get("/a").header("host", "a b").body(())?;
/// assert!(direct_resolution(&req, connection_scheme(&req)).is_err());
/// # Ok::<(), frontdoor_core::BoxError>(())
/// ```
///
/// # Errors
///
/// As [`request_host`].
pub fn direct_resolution(
    req: &impl RequestHead,
    scheme: Scheme,
) -> Result<Option<Resolved>, Error> {
    let Some((hp, source)) = request_host(req, &scheme)? else {
        return Ok(None);
    };
    let port = hp.port.unwrap_or_else(|| default_port(&scheme));
    let path = resolution_path(req).to_owned();
    Ok(Some(Resolved::new(
        scheme,
        hp.host.into_owned(),
        port,
        path,
        source,
    )))
}
