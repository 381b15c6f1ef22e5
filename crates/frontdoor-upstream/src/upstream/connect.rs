//! The connector under the pooled client: hyper-util's `HttpConnector` with a resolver
//! that marks DNS failures (or answers one fixed address, for an upstream whose
//! address was discovered), wrapped in rustls when the `tls` feature is on.

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use hyper_util::client::legacy::connect::{
    dns::{GaiResolver, Name},
    HttpConnector,
};
use tower::Service;

use crate::error::DnsError;

/// The system resolver, its errors tagged as [`DnsError`] so they classify as
/// [`ProxyErrorKind::Dns`](crate::ProxyErrorKind::Dns); or, with a fixed address,
/// that address whatever the name.
#[derive(Clone, Debug)]
pub(crate) struct Resolver {
    gai: GaiResolver,
    fixed: Option<SocketAddr>,
}

/// The addresses a [`Resolver`] answers.
type Addrs = std::vec::IntoIter<SocketAddr>;

impl Service<Name> for Resolver {
    type Response = Addrs;
    type Error = DnsError;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, DnsError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), DnsError>> {
        self.gai.poll_ready(cx).map_err(DnsError)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        if let Some(addr) = self.fixed {
            return Box::pin(std::future::ready(Ok(vec![addr].into_iter())));
        }
        let lookup = self.gai.call(name);
        Box::pin(async move {
            let addrs = lookup.await.map_err(DnsError)?;
            Ok(addrs.collect::<Vec<_>>().into_iter())
        })
    }
}

/// The plain TCP connector (the lean HTTP/1 pool dials with it directly).
pub(crate) type HttpOnly = HttpConnector<Resolver>;

/// The connector used by [`Upstream`](crate::Upstream).
#[cfg(not(feature = "tls"))]
pub(crate) type Connector = HttpConnector<Resolver>;

/// The connector used by [`Upstream`](crate::Upstream).
#[cfg(feature = "tls")]
pub(crate) type Connector = hyper_rustls::HttpsConnector<HttpConnector<Resolver>>;

/// The TCP connector; with `fixed`, it connects there instead of resolving the
/// host (the port is the URL's when the URL names one, else `fixed`'s).
pub(crate) fn http_connector(
    connect_timeout: Option<Duration>,
    fixed: Option<SocketAddr>,
) -> HttpConnector<Resolver> {
    let resolver = Resolver {
        gai: GaiResolver::new(),
        fixed,
    };
    let mut http = HttpConnector::new_with_resolver(resolver);
    http.set_connect_timeout(connect_timeout);
    http.set_nodelay(true);
    #[cfg(feature = "tls")]
    http.enforce_http(false);
    http
}
