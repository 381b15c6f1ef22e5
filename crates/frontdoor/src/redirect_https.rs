//! Middleware that answers plaintext requests with a permanent redirect to HTTPS.
//!
//! [`RedirectHttpsLayer`] answers a request that did not arrive over TLS with
//! `308 Permanent Redirect` (RFC 9110 section 15.4.9: the method and body are kept on
//! the retry) to `https://host[:port]/path?query`; a request that arrived over TLS
//! goes to the inner service unchanged.
//!
//! * **Plaintext or not**: the [`Resolved`] scheme when a resolver ran (so a request
//!   that a trusted proxy says arrived over HTTPS is not redirected), else the
//!   connection's ([`ConnInfo::tls`](frontdoor_core::ConnInfo::tls)).
//! * **Host**: the resolved host (the `Host` header, normalised, or the resolver's
//!   server name), without its port; a request with no host is answered `400`.
//! * **Port**: the HTTPS port given to [`RedirectHttpsLayer::port`], omitted when it
//!   is 443.
//! * **Path and query**: the request target as the client sent it
//!   ([`OriginalUri`] when an outer layer recorded it), byte for byte.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor::{core::ConnInfo, redirect_https::RedirectHttpsLayer, Body};
//! use http::{header::LOCATION, Request, Response, StatusCode};
//! use tower::{Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor::BoxError> {
//! let app = tower::service_fn(|_req: Request<Body>| async {
//!     Ok::<_, Infallible>(Response::new(Body::from("secret")))
//! });
//! let svc = RedirectHttpsLayer::new().port(8443).layer(app);
//!
//! let conn = ConnInfo::new("10.0.0.1:80".parse()?, "10.0.0.2:5000".parse()?);
//! let mut req = Request::get("/a%20b?x=1").header("host", "Example.com:80").body(Body::empty())?;
//! req.extensions_mut().insert(conn);
//! let res = svc.clone().oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
//! assert_eq!(res.headers()[LOCATION], "https://example.com:8443/a%20b?x=1");
//!
//! let mut req = Request::get("/a").header("host", "example.com").body(Body::empty())?;
//! req.extensions_mut().insert(conn.with_tls(true));
//! assert_eq!(svc.oneshot(req).await?.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use frontdoor_core::{
    proto::{connection_scheme, direct_resolution},
    OriginalUri, Resolved,
};
use http::{header, uri::Scheme, HeaderValue, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

/// The HTTPS port a redirect names by default (and then leaves out).
const HTTPS_PORT: u16 = 443;

// === RedirectHttpsLayer ===

/// Redirects plaintext requests to HTTPS. See the [module docs](self).
#[derive(Clone, Copy, Debug)]
#[must_use]
pub struct RedirectHttpsLayer {
    port: u16,
}

impl RedirectHttpsLayer {
    /// Redirects to the HTTPS default port, 443.
    pub const fn new() -> Self {
        Self { port: HTTPS_PORT }
    }

    /// The port HTTPS is served on, written in the `Location` unless it is 443.
    /// Default: 443.
    pub const fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
}

impl Default for RedirectHttpsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for RedirectHttpsLayer {
    type Service = RedirectHttps<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RedirectHttps {
            inner,
            port: self.port,
        }
    }
}

// === RedirectHttps ===

/// The service of [`RedirectHttpsLayer`]. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct RedirectHttps<S> {
    inner: S,
    port: u16,
}

impl<S> RedirectHttps<S> {
    frontdoor_core::define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RedirectHttps<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if arrived_over_tls(&req) {
            return ResponseFuture::inner(self.inner.call(req));
        }
        let res = match location(&req, self.port) {
            Some(location) => {
                let mut res = Response::new(ResBody::default());
                *res.status_mut() = StatusCode::PERMANENT_REDIRECT;
                res.headers_mut().insert(header::LOCATION, location);
                res
            }
            None => {
                let mut res = Response::new(ResBody::default());
                *res.status_mut() = StatusCode::BAD_REQUEST;
                res
            }
        };
        ResponseFuture::answer(res)
    }
}

/// Whether the request's effective scheme is `https`.
fn arrived_over_tls<B>(req: &Request<B>) -> bool {
    let scheme = match req.extensions().get::<Resolved>() {
        Some(resolved) => resolved.scheme.clone(),
        None => connection_scheme(req),
    };
    scheme == Scheme::HTTPS
}

/// `https://host[:port]/path?query`, or `None` when the request names no host.
fn location<B>(req: &Request<B>, port: u16) -> Option<HeaderValue> {
    let direct;
    let host = match req.extensions().get::<Resolved>() {
        Some(resolved) => resolved.host.as_str(),
        None => {
            direct = direct_resolution(req, connection_scheme(req)).ok()??;
            direct.host.as_str()
        }
    };
    if host.is_empty() {
        return None;
    }
    let uri = req
        .extensions()
        .get::<OriginalUri>()
        .map_or(req.uri(), |original| &original.0);
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let target = if target.starts_with('/') { target } else { "/" };
    let location = if port == HTTPS_PORT {
        format!("https://{host}{target}")
    } else {
        format!("https://{host}:{port}{target}")
    };
    HeaderValue::try_from(location).ok()
}

pin_project! {
    /// Response future of [`RedirectHttps`]: the inner service's, or the redirect.
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        // The request arrived over TLS.
        Inner { #[pin] fut: F },
        // The redirect (or the 400 for a request without a host).
        Answer { res: Option<Response<B>> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    const fn inner(fut: F) -> Self {
        Self {
            kind: Kind::Inner { fut },
        }
    }

    const fn answer(res: Response<B>) -> Self {
        Self {
            kind: Kind::Answer { res: Some(res) },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { fut } => fut.poll(cx),
            KindProj::Answer { res } => match res.take() {
                Some(res) => Poll::Ready(Ok(res)),
                None => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use frontdoor_core::{Body, ConnInfo, HostSource};
    use http::Uri;
    use tower::{util::BoxCloneSyncService, ServiceExt};

    use super::*;

    fn svc(
        port: u16,
    ) -> RedirectHttps<BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>> {
        let inner = tower::service_fn(|_req: Request<Body>| async {
            Ok::<_, Infallible>(Response::new(Body::from("served")))
        });
        RedirectHttpsLayer::new()
            .port(port)
            .layer(BoxCloneSyncService::new(inner))
    }

    fn conn(tls: bool) -> ConnInfo {
        ConnInfo::new(
            "127.0.0.1:80".parse().unwrap(),
            "127.0.0.1:5000".parse().unwrap(),
        )
        .with_tls(tls)
    }

    async fn answer(port: u16, req: Request<Body>) -> (StatusCode, Option<String>) {
        let res = svc(port).oneshot(req).await.unwrap();
        let location = res
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        (res.status(), location)
    }

    #[test]
    fn public_types_are_send_sync_clone() {
        fn send_sync_clone<T: Send + Sync + Clone>() {}
        fn send<T: Send>() {}
        send_sync_clone::<RedirectHttpsLayer>();
        send_sync_clone::<
            RedirectHttps<BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>>,
        >();
        send::<ResponseFuture<std::future::Ready<Result<Response<Body>, Infallible>>, Body>>();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn locations() {
        let table = [
            (
                "/a?b=1&c=%2F",
                "www.example.com",
                443,
                "https://www.example.com/a?b=1&c=%2F",
            ),
            (
                "/",
                "www.example.com:8080",
                8443,
                "https://www.example.com:8443/",
            ),
            ("/x", "[::1]:80", 443, "https://[::1]/x"),
            (
                "http://Abs.Example/p?q",
                "abs.example",
                443,
                "https://abs.example/p?q",
            ),
            ("*", "h.example", 443, "https://h.example/"),
        ];
        for (target, host, port, want) in table {
            let mut req = Request::builder()
                .uri(target)
                .header("host", host)
                .body(Body::empty())
                .unwrap();
            req.extensions_mut().insert(conn(false));
            assert_eq!(
                answer(port, req).await,
                (StatusCode::PERMANENT_REDIRECT, Some(want.to_owned())),
                "{target} {host}"
            );
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_resolution_and_the_original_uri_win() {
        // A trusted proxy said https: served.
        let mut req = Request::get("/x").body(Body::empty()).unwrap();
        req.extensions_mut().insert(conn(false));
        req.extensions_mut().insert(Resolved::new(
            Scheme::HTTPS,
            "h.example",
            443,
            "/x",
            HostSource::XForwardedHost,
        ));
        assert_eq!(answer(443, req).await, (StatusCode::OK, None));

        // Resolved over plaintext: its host, the URI before the router consumed it.
        let mut req = Request::get("/rest").body(Body::empty()).unwrap();
        req.extensions_mut().insert(conn(false));
        req.extensions_mut().insert(Resolved::new(
            Scheme::HTTP,
            "server.name",
            80,
            "/mount/rest",
            HostSource::ServerName,
        ));
        req.extensions_mut()
            .insert(OriginalUri(Uri::from_static("/mount/rest?q=1")));
        assert_eq!(
            answer(443, req).await,
            (
                StatusCode::PERMANENT_REDIRECT,
                Some("https://server.name/mount/rest?q=1".to_owned())
            )
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn tls_is_served_and_a_request_without_host_is_refused() {
        let mut req = Request::get("/")
            .header("host", "h")
            .body(Body::empty())
            .unwrap();
        req.extensions_mut().insert(conn(true));
        assert_eq!(answer(443, req).await, (StatusCode::OK, None));

        let mut req = Request::get("/").body(Body::empty()).unwrap();
        req.extensions_mut().insert(conn(false));
        assert_eq!(answer(443, req).await, (StatusCode::BAD_REQUEST, None));
    }
}
