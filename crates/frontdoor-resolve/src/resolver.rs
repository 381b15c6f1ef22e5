//! The `Resolver` strategy trait and the helpers the built-in resolvers share.

use std::{
    net::IpAddr,
    sync::atomic::{AtomicBool, Ordering},
};

use frontdoor_core::{ConnInfo, Error, PeerTrust, Resolved};
use http::{request::Parts, HeaderValue};

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

/// A header value as text, or a bad-request error naming the header.
pub(crate) fn header_str<'a>(value: &'a HeaderValue, what: &'static str) -> Result<&'a str, Error> {
    value
        .to_str()
        .map_err(|e| Error::bad_request(what).with_source(e))
}

/// A misconfiguration warning logged at most once per process (a per-request warning
/// would flood the log with one line per request).
pub(crate) struct WarnOnce {
    done: AtomicBool,
    message: &'static str,
}

impl WarnOnce {
    pub(crate) const fn new(message: &'static str) -> Self {
        Self {
            done: AtomicBool::new(false),
            message,
        }
    }

    /// Logs the warning unless it was logged before.
    pub(crate) fn warn(&self) {
        if !self.done.swap(true, Ordering::Relaxed) {
            tracing::warn!("{}", self.message);
        }
    }
}
