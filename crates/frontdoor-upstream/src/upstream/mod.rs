//! The terminal proxy service: forwards each request to one upstream base URI over
//! pooled connections and streams the answer back.
//!
//! Which client carries a request: on a plain `http` upstream (HTTP/1.1), a direct
//! HTTP/1.1 client that writes the request and reads the answer in the task that
//! awaits it and polls its body, with no connection task and no channel between
//! them; upgrade requests and `CONNECT` there use hyper's HTTP/1 connections, which
//! hand the upgraded connection over (both kinds count against one
//! [connection cap](UpstreamBuilder::max_connections)). On `https` and h2c upstreams,
//! hyper-util's pooled client.
//!
//! What it does to a request, in order:
//!
//! 1. the target becomes the upstream's absolute URI: scheme and authority from the
//!    configuration, the configured base path joined with the request path (without
//!    `//`), and the query byte for byte;
//! 2. hop-by-hop headers are removed ([`crate::hop_by_hop`]);
//! 3. forwarding headers are written ([`Forwarding`](crate::Forwarding));
//! 4. `Host` is set by the [`HostPolicy`] (one line, added when the client sent none);
//! 5. the version towards the upstream is HTTP/1.1 (or HTTP/2 with
//!    [`UpstreamBuilder::http2_only`]), whatever the client spoke;
//! 6. an upgrade is forwarded only to an allowed protocol (see [Upgrades](#upgrades)).
//!
//! Bodies stream both ways and are never collected; trailers pass through; 1xx
//! answers before the final one are not relayed, and answers to `HEAD`, `204` and
//! `304` have no body. The reason phrase is not carried (the `http` crate
//! has none); the client sees the canonical one. Failures are typed [`ProxyError`]s;
//! wrap the service in [`GatewayErrorLayer`](crate::GatewayErrorLayer) to answer them
//! with 502/503/504.
//!
//! With [`UpstreamBuilder::splice_bodies`], the direct client offers long and chunked
//! answers' bodies for splicing: a [`SpliceOffer`](frontdoor_core::splice::SpliceOffer)
//! in the answer's extensions lets `frontdoor-serve`'s HTTP/1 fast path move the body's
//! data from the upstream's socket to the client's with `splice(2)`.
//!
//! # Upgrades
//!
//! Only the protocols of an allow-list are proxied ([`UpstreamBuilder::upgrades`],
//! [`UpgradeProtocols`]; `websocket` by default). An HTTP/1.1 request with
//! `Connection: upgrade` whose `Upgrade` offers an allowed protocol is forwarded with
//! `Connection: upgrade` and only the allowed tokens in `Upgrade`; after a `101`
//! naming one of them, the client's connection and the upstream's are spliced. A
//! request offering none (`Upgrade: h2c`, `Upgrade: foo/1` when `foo` is not listed)
//! is forwarded as a plain HTTP/1.1 request, without `Upgrade` or `Connection`, and
//! its answer relayed as any other; should the upstream still answer `101`, that is a
//! [`ProxyErrorKind::Upgrade`](crate::ProxyErrorKind::Upgrade) error (502) and
//! nothing is spliced. `h2c` can never be listed: a tunnel to an h2c upstream would
//! let the client send HTTP/2 requests with any `:path`, outside the route.
//! `HTTP2-Settings` is hop-by-hop and never forwarded.
//!
//! WebSocket over HTTP/2 (RFC 8441 extended `CONNECT`) is not offered:
//! `frontdoor::serve` does not enable hyper's `enable_connect_protocol`, so the front
//! door's HTTP/2 `SETTINGS` never carry `SETTINGS_ENABLE_CONNECT_PROTOCOL`, and the
//! `h2` crate resets any stream whose request carries `:protocol` before it reaches a
//! service. Clients open their WebSockets over HTTP/1.1 instead (TLS listeners offer
//! `http/1.1` in ALPN beside `h2`). Under a server that does enable it, an extended
//! `CONNECT` reaches `Upstream` as a `CONNECT` like any other (405 unless
//! [`UpstreamBuilder::connect_method`]); it is never turned into an HTTP/1.1 upgrade.
//!
//! # Example
//!
//! ```no_run
//! use frontdoor_core::Body;
//! use frontdoor_upstream::{HostPolicy, Upstream};
//! use http::Request;
//! use tower::ServiceExt;
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), frontdoor_core::BoxError> {
//! let upstream = Upstream::builder("http://127.0.0.1:8080/api")
//!     .host(HostPolicy::Preserve)
//!     .connect_timeout(Some(Duration::from_secs(2)))
//!     .build()?;
//! let res = upstream
//!     .oneshot(Request::get("/users?id=1").body(Body::empty())?)
//!     .await?; // GET http://127.0.0.1:8080/api/users?id=1
//! # drop(res);
//! # Ok(())
//! # }
//! ```

mod body;
mod builder;
mod connect;
mod direct;
mod host;
mod pool;
mod prepare;
mod reaper;
mod shared;
mod transport;
mod upgrade;

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::{text_response, Body, BoxError};
use http::{header, uri::Authority, HeaderValue, Method, Request, Response, StatusCode};
use tower_service::Service;
use tracing::{field, Instrument as _};

use self::transport::send;
pub use self::{
    builder::{ConnectionCap, UpstreamBuilder},
    host::HostPolicy,
    shared::Upstream,
    upgrade::UpgradeProtocols,
};
use crate::{ProxyError, UpstreamConfigError};

// === Upstream ===

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shared;
        f.debug_struct("Upstream")
            .field("scheme", &s.scheme)
            .field("authority", &s.authority)
            .field("base_path", &s.base_path)
            .field("host", &s.host)
            .field("forwarding", &s.forwarding)
            .field("head_timeout", &s.head_timeout)
            .field("body_idle_timeout", &s.body_idle_timeout)
            .field("upgrades", &s.upgrades)
            .field("connect", &s.connect)
            .field("splice_bodies", &s.splice_bodies)
            .field("version", &s.version)
            .finish_non_exhaustive()
    }
}

impl Upstream {
    /// A builder for an upstream at `uri` (`http://host:port/optional/base`).
    pub fn builder(uri: &str) -> UpstreamBuilder {
        UpstreamBuilder::new(uri)
    }

    /// An upstream at `uri` with the default configuration.
    ///
    /// # Errors
    ///
    /// As [`UpstreamBuilder::build`].
    pub fn new(uri: &str) -> Result<Self, UpstreamConfigError> {
        Self::builder(uri).build()
    }

    /// The upstream's authority (`host:port`), as configured.
    #[must_use]
    pub fn authority(&self) -> &Authority {
        &self.shared.authority
    }
}

impl<B> Service<Request<B>> for Upstream
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = ProxyError;
    type Future = ResponseFuture;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if req.method() == Method::CONNECT && !self.shared.connect {
            tracing::debug!(upstream = %self.shared.authority, "CONNECT refused");
            return ResponseFuture::boxed(std::future::ready(Ok(connect_refused())));
        }
        let span = tracing::debug_span!(
            "upstream",
            upstream = %self.shared.authority,
            method = %req.method(),
            status = field::Empty,
            duration_ms = field::Empty,
            error.kind = field::Empty,
        );
        let prepared = self.prepare(req);
        let shared = Arc::clone(&self.shared);
        if span.is_disabled() {
            // Nobody listens: no span to enter on every poll, no clock reads.
            return ResponseFuture::boxed(async move {
                match prepared {
                    Ok((req, upgrade)) => send(shared, req, upgrade).await,
                    Err(e) => Err(e),
                }
            });
        }
        let inner_span = span.clone();
        let fut = async move {
            let start = tokio::time::Instant::now();
            let result = match prepared {
                Ok((req, upgrade)) => send(shared, req, upgrade).await,
                Err(e) => Err(e),
            };
            inner_span.record("duration_ms", start.elapsed().as_millis() as u64);
            match &result {
                Ok(res) => {
                    inner_span.record("status", res.status().as_u16());
                }
                Err(e) => {
                    inner_span.record("error.kind", e.kind().as_str());
                    tracing::debug!(error = %e, source = ?std::error::Error::source(e), "upstream call failed");
                }
            }
            result
        };
        ResponseFuture::boxed(fut.instrument(span))
    }
}

/// The methods a `405` lists in `Allow`: what a reverse proxy forwards, as far as it
/// can know (the upstream decides per resource; `CONNECT` and `TRACE` are left out).
const ALLOW: &str = "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH";

/// The answer to a `CONNECT` an upstream does not forward: `405` with `Allow`, and
/// `Connection: close`: a client may already be sending tunnel bytes, which must
/// not be read as the next request.
fn connect_refused() -> Response<Body> {
    let mut res = text_response(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    let headers = res.headers_mut();
    headers.insert(header::ALLOW, HeaderValue::from_static(ALLOW));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

// === ResponseFuture ===

/// Response future of [`Upstream`] (and of [`Balanced`](crate::Balanced)).
pub struct ResponseFuture {
    inner: Pin<Box<dyn Future<Output = Result<Response<Body>, ProxyError>> + Send>>,
}

impl ResponseFuture {
    pub(crate) fn boxed(
        fut: impl Future<Output = Result<Response<Body>, ProxyError>> + Send + 'static,
    ) -> Self {
        Self {
            inner: Box::pin(fut),
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Body>, ProxyError>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::{transport::origin_form, *};
    use http::Version;
    use tower::ServiceExt;

    #[test]
    fn public_types_are_send_sync_clone() {
        fn send_sync_clone<T: Send + Sync + Clone>() {}
        fn send<T: Send>() {}
        send_sync_clone::<Upstream>();
        send::<ResponseFuture>();
    }

    #[test]
    fn bad_configs_name_the_key() {
        for uri in [
            "not a uri",
            "/relative",
            "ftp://h",
            "http://h/p?q=1",
            "http://:80/p",
            "http://user:pass@h/",
            #[cfg(not(feature = "tls"))]
            "https://h",
        ] {
            let err = Upstream::new(uri).unwrap_err();
            assert_eq!(err.key(), "uri", "{uri}");
        }
    }

    fn target(base: &str, req: &str, h2: bool) -> Request<Body> {
        let up = Upstream::builder(base).http2_only(h2).build().unwrap();
        let req = Request::get(req).body(Body::empty()).unwrap();
        up.prepare(req).unwrap().0
    }

    #[test]
    fn base_path_is_joined_without_double_slashes() {
        let table = [
            ("http://u:81", "/a%20b?q=1", "/a%20b?q=1"),
            ("http://u:81/", "/x", "/x"),
            ("http://u:81/api", "/x?y", "/api/x?y"),
            ("http://u:81/api/", "/x", "/api/x"),
            ("http://u:81/api", "/", "/api/"),
            ("http://u:81/api", "http://front/z", "/api/z"),
            ("http://u:81", "http://front", "/"),
            ("http://u:81/api", "*", "/api/"),
        ];
        for (base, req, want) in table {
            // HTTP/1 pool: origin-form.
            let out = target(base, req, false);
            assert_eq!(out.uri(), want, "{base} + {req}");
            assert_eq!(out.version(), Version::HTTP_11);
            // hyper-util's client (h2c here): absolute.
            let out = target(base, req, true);
            assert_eq!(out.uri().to_string(), format!("http://u:81{want}"));
            assert_eq!(out.version(), Version::HTTP_2);
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn connect_is_405_with_allow_unless_opted_in() {
        let up = Upstream::new("http://127.0.0.1:9").unwrap();
        let req = Request::connect("front:443").body(Body::empty()).unwrap();
        let res = up.oneshot(req).await.unwrap();
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers()["allow"], ALLOW);
        assert_eq!(res.headers()["connection"], "close");
    }

    #[test]
    fn connect_targets_the_upstream_authority() {
        let up = Upstream::builder("http://u:81/api")
            .connect_method(true)
            .build()
            .unwrap();
        let req = Request::connect("front:443").body(Body::empty()).unwrap();
        let out = origin_form(up.prepare(req).unwrap().0).unwrap();
        assert_eq!(out.uri(), "u:81");
    }

    #[test]
    fn host_policies() {
        let mk = |policy: HostPolicy, host: Option<&'static str>| {
            let up = Upstream::builder("http://backend:8080")
                .host(policy)
                .build()
                .unwrap();
            let mut req = Request::get("/").body(Body::empty()).unwrap();
            if let Some(h) = host {
                req.headers_mut()
                    .append(header::HOST, HeaderValue::from_static(h));
                req.headers_mut()
                    .append(header::HOST, HeaderValue::from_static("second"));
            }
            let out = up.prepare(req).unwrap().0;
            let hosts: Vec<_> = out.headers().get_all(header::HOST).iter().collect();
            assert_eq!(hosts.len(), 1);
            hosts[0].to_str().unwrap().to_owned()
        };
        let fixed = HeaderValue::from_static("b");
        assert_eq!(
            mk(HostPolicy::UpstreamAuthority, Some("front")),
            "backend:8080"
        );
        assert_eq!(mk(HostPolicy::Preserve, Some("front")), "front");
        assert_eq!(mk(HostPolicy::Preserve, None), "backend:8080");
        assert_eq!(mk(HostPolicy::Replace(fixed.clone()), Some("a")), "b");
        assert_eq!(mk(HostPolicy::Replace(fixed), None), "b");
    }
}
