//! The direct resolver: what the request itself says, nothing from forwarded headers.

use std::sync::Arc;

use frontdoor_core::{Error, HostSource, Resolved};
use http::{request::Parts, uri::Scheme};

use frontdoor_core::proto::{
    connection_scheme, default_port, direct_resolution, local_port, parse_host, resolution_path,
};

use crate::{
    error::ResolveConfigError,
    resolver::{untrusted, Resolution, Resolver},
};

/// The configured fallback for requests without a host (HTTP/1.0, empty `Host`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerName {
    pub(crate) host: Arc<str>,
    pub(crate) port: Option<u16>,
}

impl ServerName {
    pub(crate) fn parse(name: &str) -> Result<Self, ResolveConfigError> {
        match parse_host(name) {
            Ok(Some(hp)) => Ok(Self {
                host: hp.host.as_ref().into(),
                port: hp.port,
            }),
            Ok(None) => Err(ResolveConfigError::new(
                "server_name",
                name,
                "must not be empty",
            )),
            Err(e) => Err(ResolveConfigError::new("server_name", name, e)),
        }
    }
}

/// The default resolver: trusts nothing but the request line, the `Host` header and
/// the connection.
///
/// * **Host**: the authority of an absolute-form target or HTTP/2 `:authority`,
///   else `Host` (RFC 9112 section 3.2.2). Normalised: ASCII lowercase, one trailing
///   dot dropped, IPv6 kept in brackets; an empty `Host` counts as missing.
/// * **Port**: the host's explicit port, else the scheme default (443 on a TLS
///   connection, else 80).
/// * **No host**: the configured [`server_name`](Self::try_server_name) and the
///   connection's local port (or the server name's own port, or the scheme default
///   when there is no [`ConnInfo`](frontdoor_core::ConnInfo)); without a server name
///   the request gets 400.
/// * **400** for two `Host` headers, an invalid host, or a `Host` that disagrees with
///   the absolute-form authority.
/// * **Scheme**: from the connection ([`ConnInfo::tls`](frontdoor_core::ConnInfo)),
///   or, without `ConnInfo`, from the absolute-form / HTTP/2 `:scheme`. Never from a
///   header.
///
/// `X-Forwarded-*` and `Forwarded` are ignored; use
/// [`ForwardedResolver`](crate::ForwardedResolver) behind trusted proxies.
///
/// ```
/// use frontdoor_core::Resolved;
/// use frontdoor_resolve::{DirectResolver, Resolver};
/// use http::Request;
///
/// let resolver = DirectResolver::new().try_server_name("srv")?;
/// let (parts, ()) = Request::get("/a").header("host", "Example.COM.:8080").body(())?.into_parts();
/// assert_eq!(resolver.resolve(&parts)?.resolved.to_string(), "example.com:8080:/a");
/// let (parts, ()) = Request::get("/a").body(())?.into_parts();
/// assert_eq!(resolver.resolve(&parts)?.resolved.to_string(), "srv:80:/a");
/// # Ok::<(), frontdoor_core::BoxError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectResolver {
    server_name: Option<ServerName>,
}

impl DirectResolver {
    /// A direct resolver with no server name (requests without a host get 400).
    #[must_use]
    pub const fn new() -> Self {
        Self { server_name: None }
    }

    /// Sets the server name used when a request has no host (`host` or
    /// `host:port`; the port, if given, replaces the connection's local port).
    /// Default: none.
    ///
    /// # Errors
    ///
    /// [`ResolveConfigError`] (key `server_name`) when `name` is empty or not a valid host.
    pub fn try_server_name(mut self, name: &str) -> Result<Self, ResolveConfigError> {
        self.server_name = Some(ServerName::parse(name)?);
        Ok(self)
    }

    /// Resolves from the request alone, with `scheme` as the effective scheme.
    pub(crate) fn resolve_with(&self, parts: &Parts, scheme: Scheme) -> Result<Resolved, Error> {
        if let Some(resolved) = direct_resolution(parts, scheme.clone())? {
            return Ok(resolved);
        }
        self.fallback(parts, scheme, None)
    }

    /// The server-name fallback; `port` overrides the local port when given.
    pub(crate) fn fallback(
        &self,
        parts: &Parts,
        scheme: Scheme,
        port: Option<u16>,
    ) -> Result<Resolved, Error> {
        let Some(name) = &self.server_name else {
            return Err(Error::bad_request(
                "request has no host and no server name is configured",
            ));
        };
        let port = port
            .or(name.port)
            .or_else(|| local_port(parts))
            .unwrap_or_else(|| default_port(&scheme));
        Ok(Resolved::new(
            scheme,
            &*name.host,
            port,
            resolution_path(parts),
            HostSource::ServerName,
        ))
    }
}

impl Resolver for DirectResolver {
    fn resolve(&self, parts: &Parts) -> Result<Resolution, Error> {
        let resolved = self.resolve_with(parts, connection_scheme(parts))?;
        Ok(Resolution::new(resolved, untrusted(parts)))
    }
}
