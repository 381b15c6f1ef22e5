//! The connector under the pooled client: hyper-util's `HttpConnector` with a resolver
//! that marks DNS failures, wrapped in rustls when the `tls` feature is on.

use std::{io, time::Duration};

use hyper_util::client::legacy::connect::{dns::GaiResolver, HttpConnector};
use tower::ServiceExt as _;

use crate::error::DnsError;

/// The system resolver, its errors tagged as [`DnsError`] so they classify as
/// [`ProxyErrorKind::Dns`](crate::ProxyErrorKind::Dns).
pub(crate) type Resolver = tower::util::MapErr<GaiResolver, fn(io::Error) -> DnsError>;

/// The plain TCP connector (the lean HTTP/1 pool dials with it directly).
pub(crate) type HttpOnly = HttpConnector<Resolver>;

/// The connector used by [`Upstream`](crate::Upstream).
#[cfg(not(feature = "tls"))]
pub(crate) type Connector = HttpConnector<Resolver>;

/// The connector used by [`Upstream`](crate::Upstream).
#[cfg(feature = "tls")]
pub(crate) type Connector = hyper_rustls::HttpsConnector<HttpConnector<Resolver>>;

fn dns_error(e: io::Error) -> DnsError {
    DnsError(e)
}

pub(crate) fn http_connector(connect_timeout: Option<Duration>) -> HttpConnector<Resolver> {
    let resolver: Resolver = GaiResolver::new().map_err(dns_error as fn(io::Error) -> DnsError);
    let mut http = HttpConnector::new_with_resolver(resolver);
    http.set_connect_timeout(connect_timeout);
    http.set_nodelay(true);
    #[cfg(feature = "tls")]
    http.enforce_http(false);
    http
}
