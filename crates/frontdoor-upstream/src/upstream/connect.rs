//! The connector under the pooled client: hyper-util's `HttpConnector` with a resolver
//! that marks DNS failures, answers one fixed address for an upstream whose address
//! was discovered, and, for a [`Mapper`](crate::Mapper)'s clients, keeps only the
//! resolved addresses its [`AllowedTargets`] allow; wrapped in rustls when the `tls`
//! feature is on.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    task::{ready, Context, Poll},
    time::Duration,
    vec,
};

use frontdoor_core::BoxError;
use hyper_util::client::legacy::connect::{
    dns::{GaiFuture, GaiResolver, Name},
    HttpConnector,
};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::{
    error::{DnsError, RefusedTarget},
    AllowedTargets,
};

/// The system resolver, its errors tagged as [`DnsError`] so they classify as
/// [`ProxyErrorKind::Dns`](crate::ProxyErrorKind::Dns), and with an allow-list, its
/// answers filtered (a [`RefusedTarget`] when none is left); or, with a fixed
/// address, that address whatever the name.
#[derive(Clone)]
pub(crate) struct Resolver {
    gai: GaiResolver,
    allow: Option<AllowedTargets>,
    fixed: Option<SocketAddr>,
}

impl Service<Name> for Resolver {
    type Response = vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = ResolveFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.gai
            .poll_ready(cx)
            .map_err(|e| BoxError::from(DnsError(e)))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let check = self.allow.clone().map(|allow| (name.clone(), allow));
        let inner = match self.fixed {
            Some(_) => None,
            None => Some(self.gai.call(name)),
        };
        ResolveFuture {
            inner,
            fixed: self.fixed,
            check,
        }
    }
}

pin_project! {
    /// The future of [`Resolver`].
    pub(crate) struct ResolveFuture {
        #[pin]
        inner: Option<GaiFuture>,
        fixed: Option<SocketAddr>,
        check: Option<(Name, AllowedTargets)>,
    }
}

impl Future for ResolveFuture {
    type Output = Result<vec::IntoIter<SocketAddr>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let addrs: Vec<SocketAddr> = match (this.inner.as_pin_mut(), *this.fixed) {
            (Some(lookup), _) => ready!(lookup.poll(cx))
                .map_err(|e: io::Error| DnsError(e))?
                .collect(),
            (None, fixed) => fixed.into_iter().collect(),
        };
        let Some((name, allow)) = this.check.take() else {
            return Poll::Ready(Ok(addrs.into_iter()));
        };
        let (kept, dropped): (Vec<SocketAddr>, Vec<SocketAddr>) = addrs
            .into_iter()
            .partition(|a| allow.allows_resolved(name.as_str(), a.ip()));
        if !dropped.is_empty() {
            tracing::warn!(
                host = name.as_str(),
                refused = ?dropped,
                kept = kept.len(),
                "mapper target resolved outside the allowed networks"
            );
        }
        if kept.is_empty() {
            return Poll::Ready(Err(RefusedTarget::new(
                name.as_str(),
                "resolves only outside the allowed networks",
            )
            .into()));
        }
        Poll::Ready(Ok(kept.into_iter()))
    }
}

/// The plain TCP connector (both HTTP/1 pools dial with it directly).
pub(crate) type HttpOnly = HttpConnector<Resolver>;

/// The connector used by [`Upstream`](crate::Upstream).
#[cfg(not(feature = "tls"))]
pub(crate) type Connector = HttpConnector<Resolver>;

/// The connector used by [`Upstream`](crate::Upstream).
#[cfg(feature = "tls")]
pub(crate) type Connector = hyper_rustls::HttpsConnector<HttpConnector<Resolver>>;

/// The TCP connector; with `allow`, only the resolved addresses it allows are dialled
/// (an address literal never reaches the resolver: the mapper checks it first); with
/// `fixed`, it connects there instead of resolving the host (the port is the URL's
/// when the URL names one, else `fixed`'s).
pub(crate) fn http_connector(
    connect_timeout: Option<Duration>,
    allow: Option<AllowedTargets>,
    fixed: Option<SocketAddr>,
) -> HttpConnector<Resolver> {
    let resolver = Resolver {
        gai: GaiResolver::new(),
        allow,
        fixed,
    };
    let mut http = HttpConnector::new_with_resolver(resolver);
    http.set_connect_timeout(connect_timeout);
    http.set_nodelay(true);
    #[cfg(feature = "tls")]
    http.enforce_http(false);
    http
}
