//! WFront 0.4's `default_resolver` and `modproxy_resolver`, for migrations only.

use std::sync::Arc;

use frontdoor_core::{Error, HostSource, OriginalUri, PeerTrust, Resolved};
use http::{request::Parts, HeaderName};

use frontdoor_core::proto::{
    connection_scheme, local_port, single_host, X_FORWARDED_FOR, X_FORWARDED_HOST,
    X_FORWARDED_PORT, X_FORWARDED_SERVER,
};

use crate::resolver::{header_str, peer_ip, Resolution, Resolver};

/// **Insecure compat mode.** WFront 0.4's `default_resolver` and
/// `modproxy_resolver`, which trust forwarding headers from *any* client.
///
/// Any client can choose the virtual host by sending `X-Forwarded-For` together with
/// `X-Forwarded-Host` (defect W6, spec S1). Use it only to reproduce a WFront 0.4
/// deployment during a migration, or for the compat test vectors; use
/// [`ForwardedResolver`](crate::ForwardedResolver) behind real proxies.
///
/// The algorithm (spec 1.3.2), mapped from the WSGI environ onto `http`:
///
/// * **Path**: the raw request target (`REQUEST_URI`): the
///   [`OriginalUri`]'s path **and query**, not canonicalised (defect W7 kept).
/// * **Proxied mode** when an `X-Forwarded-For` header is present, whatever its
///   value. Host is `X-Forwarded-Host` verbatim (even a comma list), else `Host` if
///   [`proxied_host_is_accurate`](Self::proxied_host_is_accurate), else
///   `X-Forwarded-Server`, else the server name. Without a `:` the port is
///   `X-Forwarded-Port` or `80`; the scheme is ignored.
/// * **Direct mode**: `Host` verbatim (no case folding), with `:443` appended on a
///   TLS connection and `:80` otherwise when it has no `:`; without `Host`, the
///   server name and the connection's local port.
///
/// Where 0.4's output cannot be represented by [`Resolved`] (a numeric port is
/// required), this type deviates, never panics, and answers 400 rather than raise:
///
/// | 0.4 behaviour | here |
/// |---|---|
/// | `[::1]` gives `[::1]:/` (no port appended, R25) | `[::1]:80:/` (or `:443` on TLS) |
/// | a non-numeric port (`a:b`) gives `a:b:/` | 400 |
/// | missing `SERVER_NAME` raises `KeyError` (R29) | 400 |
/// | missing `wsgi.url_scheme` raises `KeyError` (R26) | the connection's TLS flag decides |
/// | `HTTPS=true`/`off` are not TLS flags (R8, R9) | only the TLS flag exists |
/// | `REQUEST_URI=''` gives an empty path (R13) | impossible: an HTTP target is never empty |
///
/// The empty `Host` (R5) is reproduced: the host is `""` and `Display` gives
/// `:80:/`. The [`PeerTrust`] stamped is "trusted", with the left-most
/// `X-Forwarded-For` address as the client (or the peer), which is exactly the trust
/// this mode extends.
///
/// ```
/// use frontdoor_resolve::{Resolver, TrustAllForwardedHeaders};
/// use http::Request;
///
/// let legacy = TrustAllForwardedHeaders::wfront_default().server_name("srv");
/// let (parts, ()) = Request::get("/a?q=1")
///     .header("host", "Example.COM")
///     .header("x-forwarded-for", "1.2.3.4")
///     .header("x-forwarded-host", "evil.example")
///     .body(())?
///     .into_parts();
/// assert_eq!(legacy.resolve(&parts)?.resolved.to_string(), "evil.example:80:/a?q=1");
/// # Ok::<(), frontdoor_core::BoxError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustAllForwardedHeaders {
    server_name: Option<Arc<str>>,
    proxied_host_is_accurate: bool,
}

impl TrustAllForwardedHeaders {
    /// WFront 0.4's `default_resolver` (`proxied_host_is_accurate = true`).
    #[must_use]
    pub const fn wfront_default() -> Self {
        Self {
            server_name: None,
            proxied_host_is_accurate: true,
        }
    }

    /// WFront 0.4's `modproxy_resolver` (`proxied_host_is_accurate = false`: in
    /// proxied mode `Host` is skipped in favour of `X-Forwarded-Server`).
    #[must_use]
    pub const fn wfront_modproxy() -> Self {
        Self {
            server_name: None,
            proxied_host_is_accurate: false,
        }
    }

    /// `SERVER_NAME`, used verbatim (not validated, as in 0.4). Default: none
    /// (requests that need it get 400).
    #[must_use]
    pub fn server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Whether `Host` is believed in proxied mode. Default: `true` for
    /// [`wfront_default`](Self::wfront_default), `false` for
    /// [`wfront_modproxy`](Self::wfront_modproxy).
    #[must_use]
    pub const fn proxied_host_is_accurate(mut self, accurate: bool) -> Self {
        self.proxied_host_is_accurate = accurate;
        self
    }

    fn server_name_or_400(&self) -> Result<&str, Error> {
        self.server_name
            .as_deref()
            .ok_or_else(|| Error::bad_request("legacy resolver needs a server name"))
    }
}

/// One header as text, joining repeated lines with `, ` as a WSGI server does.
fn joined(parts: &Parts, name: &HeaderName) -> Result<Option<String>, Error> {
    let mut out: Option<String> = None;
    for v in parts.headers.get_all(name) {
        let v = header_str(v, "invalid header value")?;
        match &mut out {
            Some(s) => {
                s.push_str(", ");
                s.push_str(v);
            }
            None => out = Some(v.to_owned()),
        }
    }
    Ok(out)
}

/// WSGI's `HTTP_HOST`: the `Host` header, or the HTTP/2 `:authority`.
fn http_host(parts: &Parts) -> Result<Option<&str>, Error> {
    match single_host(parts)? {
        Some(v) => header_str(v, "invalid host header").map(Some),
        None => Ok(parts.uri.authority().map(http::uri::Authority::as_str)),
    }
}

/// Splits 0.4's `HOST:PORT` text into a [`Resolved`]: on the first `:` (an IPv6
/// literal keeps its brackets and gets the default port when it has none).
fn split(text: &str, default: u16) -> Result<(String, u16), Error> {
    let bad_port = || Error::bad_request("legacy host has a non-numeric port");
    if text.starts_with('[') {
        if let Some(end) = text.find(']') {
            let (host, rest) = text.split_at(end + 1);
            let port = match rest.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad_port())?,
                None if rest.is_empty() => default,
                None => return Err(bad_port()),
            };
            return Ok((host.to_owned(), port));
        }
    }
    match text.split_once(':') {
        Some((host, port)) => Ok((host.to_owned(), port.parse().map_err(|_| bad_port())?)),
        None => Ok((text.to_owned(), default)),
    }
}

impl Resolver for TrustAllForwardedHeaders {
    fn resolve(&self, parts: &Parts) -> Result<Resolution, Error> {
        let scheme = connection_scheme(parts);
        let tls_port = if scheme == http::uri::Scheme::HTTPS {
            443
        } else {
            80
        };
        let path = match parts.extensions.get::<OriginalUri>() {
            Some(orig) => orig.0.path_and_query().map_or("", |pq| pq.as_str()),
            None => parts.uri.path_and_query().map_or("", |pq| pq.as_str()),
        };
        let peer = peer_ip(parts);
        let (host, port, source) = if let Some(xff) = joined(parts, &X_FORWARDED_FOR)? {
            let (text, source) = if let Some(xfh) = joined(parts, &X_FORWARDED_HOST)? {
                (xfh, HostSource::XForwardedHost)
            } else if let (true, Some(h)) = (self.proxied_host_is_accurate, http_host(parts)?) {
                (h.to_owned(), HostSource::Host)
            } else if let Some(xfs) = joined(parts, &X_FORWARDED_SERVER)? {
                (xfs, HostSource::XForwardedServer)
            } else {
                (
                    self.server_name_or_400()?.to_owned(),
                    HostSource::ServerName,
                )
            };
            let text = if text.contains(':') {
                text
            } else {
                let port = joined(parts, &X_FORWARDED_PORT)?;
                format!("{text}:{}", port.as_deref().unwrap_or("80"))
            };
            let (host, port) = split(&text, 80)?;
            let client = xff
                .split(',')
                .next()
                .and_then(|s| s.trim().parse().ok())
                .or(peer);
            let trust = client.map(|c| PeerTrust::new(true, c));
            let resolved = Resolved::new(scheme, host, port, path, source);
            return Ok(Resolution::new(resolved, trust));
        } else if let Some(h) = http_host(parts)? {
            let (host, port) = split(h, tls_port)?;
            (host, port, HostSource::Host)
        } else {
            let port = local_port(parts).unwrap_or(tls_port);
            (
                self.server_name_or_400()?.to_owned(),
                port,
                HostSource::ServerName,
            )
        };
        let trust = peer.map(|p| PeerTrust::new(true, p));
        let resolved = Resolved::new(scheme, host, port, path, source);
        Ok(Resolution::new(resolved, trust))
    }
}
