//! The tower glue: [`Router`] (a `Service`), [`RouteLayer`] (a `Layer` whose inner
//! service is the fallback), their builder, per-route [`Filter`]s and the built-in
//! [`NotFound`] service.
//!
//! For each request the router:
//!
//! 1. takes the host, port and by-scheme label from the [`Resolved`] extension stamped
//!    by the resolver layer, or, without one, from the shared direct resolution
//!    ([`direct_resolution`]: the absolute-form authority or the `Host` header,
//!    normalised, invalid gives 400; its explicit port, else the scheme's default);
//!    with no host at all, the local port of [`ConnInfo`] (or the default) and an
//!    empty host, which matches no string spec in strict mode;
//! 2. matches on the **current path info**, `uri().path()`, so a router nested behind
//!    another sees only what is left. When the resolver ran, that path is already
//!    canonical (with the options recorded in [`Resolved::canonical`]) and is matched
//!    as is; without a resolver it is canonicalised here with
//!    [`frontdoor_core::canonicalize`] (a path that cannot be canonicalised gives
//!    400). A matched route always sees the string that was matched in its URI
//!    (spec S4);
//! 3. picks the first route of the table that matches ([`Table`](crate::Table));
//! 4. moves the matched prefix from path info to script name ([`Mount`]), rewrites the
//!    URI to the remainder (query kept), inserts [`MatchedRoute`], and calls the
//!    route's (filtered) service; a route added with [`Prefix::Keep`] consumes
//!    nothing (its service sees the whole path);
//! 5. on a miss calls the fallback (through its filter, nothing consumed):
//!    [`NotFound`] unless one was set, or a [`RouteLayer`]'s inner service.
//!
//! # Readiness
//!
//! The router follows the axum strategy (house rule R8): it is always ready, and each
//! call clones the selected route's service and drives it with `oneshot` (which waits
//! for that service's readiness inside the response future). A slow route therefore
//! never blocks the others; put backpressure-sensitive layers (concurrency limits,
//! load shedding) outside the router, or inside a route.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor_core::{text_response, Body, Mount};
//! use frontdoor_route::{Filter, Router};
//! use http::{Request, Response, StatusCode};
//! use tower::{service_fn, ServiceExt};
//!
//! async fn app(req: Request<Body>) -> Result<Response<Body>, Infallible> {
//!     let mount = Mount::of(&req);
//!     Ok(text_response(StatusCode::OK, format!("{} {}", mount.script_name(), req.uri())))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor_core::BoxError> {
//! let router = Router::builder()
//!     .route("svn.example.com::/repos", service_fn(app))
//!     .route_with_filter(
//!         "*.example.com",
//!         service_fn(app),
//!         Filter::new(tower::util::MapRequestLayer::new(|mut req: Request<Body>| {
//!             req.headers_mut().remove("cookie");
//!             req
//!         })),
//!     )
//!     .build()?;
//!
//! let req = Request::builder()
//!     .uri("/repos/trunk?rev=1")
//!     .header("host", "SVN.example.com")
//!     .body(Body::empty())?;
//! let res = router.clone().oneshot(req).await?;
//! let body = http_body_util::BodyExt::collect(res.into_body()).await?.to_bytes();
//! assert_eq!(body, "/repos /trunk?rev=1\n");
//!
//! let req = Request::builder().uri("/").header("host", "nowhere.org").body(Body::empty())?;
//! assert_eq!(router.oneshot(req).await?.status(), StatusCode::NOT_FOUND);
//! # Ok(())
//! # }
//! ```
//!
//! [`Resolved`]: frontdoor_core::Resolved
//! [`ConnInfo`]: frontdoor_core::ConnInfo
//! [`direct_resolution`]: frontdoor_core::proto::direct_resolution
//! [`Resolved::canonical`]: frontdoor_core::Resolved::canonical
//! [`Mount`]: frontdoor_core::Mount
//! [`MatchedRoute`]: frontdoor_core::MatchedRoute

use std::{
    convert::Infallible,
    fmt,
    future::{ready, Future, Ready},
    pin::Pin,
    sync::Arc,
    task::{ready as ready_poll, Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::{text_response, Body, BoxError, ErrorKind};
use http::{header, HeaderValue, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower::util::BoxCloneSyncService;
use tower_layer::Layer;
use tower_service::Service;

mod builder;
mod future;
mod options;
mod service;
#[cfg(test)]
mod tests;

pub use builder::RouterBuilder;
pub use future::ResponseFuture;
pub use options::{Prefix, RouteOptions};
pub use service::{RouteLayer, Router};

/// The type-erased service of a route and of the fallback.
pub type RouteService = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// A service the router can erase into a [`RouteService`]: any
/// `Service<Request<Body>, Response = Response<B>>` that is `Clone + Send + Sync +
/// 'static` with a `Send` future, whose body `B` is any `http_body::Body<Data = Bytes>`
/// and whose error converts into a [`BoxError`]. An axum `Router`, a
/// `tower::service_fn`, frontdoor's `Upstream` behind its gateway-error layer: all
/// plug in as they are.
///
/// The body is erased into [`Body`] (for free when it already is one). An error is
/// answered in place, with the status of its [`ErrorKind`] (found in its source chain,
/// 500 for a foreign error), and logged; wrap upstream clients in the upstream crate's
/// gateway-error layer for 502/503/504 answers with their own hooks.
///
/// A [`RouteService`] itself is taken as it is: it needs no adapter, and one would
/// cost a boxed clone and a boxed future per request.
pub trait IntoRouteService: sealed::Sealed {
    /// Boxes the service.
    fn into_route_service(self) -> RouteService;
}

mod sealed {
    #[allow(unreachable_pub, unnameable_types, reason = "sealed trait")]
    pub trait Sealed {}
}

impl<S, B> sealed::Sealed for S
where
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
}

impl<S, B> IntoRouteService for S
where
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn into_route_service(self) -> RouteService {
        if let Some(route) = (&self as &dyn std::any::Any).downcast_ref::<RouteService>() {
            return route.clone();
        }
        BoxCloneSyncService::new(Answering {
            inner: self,
            failed: None,
        })
    }
}

/// Adapts a route service to the router's types: the body erased, an error (from
/// readiness or from the call) answered with its status.
struct Answering<S> {
    inner: S,
    /// A readiness error, answered by the next `call`.
    failed: Option<BoxError>,
}

impl<S: Clone> Clone for Answering<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            failed: None,
        }
    }
}

impl<S, B> Service<Request<Body>> for Answering<S>
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = AnswerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.failed.is_none() {
            if let Err(e) = ready_poll!(self.inner.poll_ready(cx)) {
                self.failed = Some(e.into());
            }
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        match self.failed.take() {
            Some(err) => AnswerFuture::Failed { err: Some(err) },
            None => AnswerFuture::Inner {
                fut: self.inner.call(req),
            },
        }
    }
}

pin_project! {
    /// The future of [`Answering`].
    #[project = AnswerProj]
    enum AnswerFuture<F> {
        Inner { #[pin] fut: F },
        Failed { err: Option<BoxError> },
    }
}

impl<F, B, E> Future for AnswerFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(Ok(match self.project() {
            AnswerProj::Inner { fut } => match ready_poll!(fut.poll(cx)) {
                Ok(res) => res.map(Body::new),
                Err(err) => error_answer(&err.into()),
            },
            AnswerProj::Failed { err } => error_answer(
                &err.take()
                    .unwrap_or_else(|| "polled after completion".into()),
            ),
        }))
    }
}

/// The answer to a route service's error: the status of its [`ErrorKind`].
fn error_answer(err: &BoxError) -> Response<Body> {
    let kind = ErrorKind::of(&**err);
    tracing::warn!(error = %err, %kind, "route service failed");
    text_response(
        kind.status(),
        kind.status().canonical_reason().unwrap_or("Error"),
    )
}

/// Boxes a service into a [`RouteService`].
pub(crate) fn boxed<S: IntoRouteService>(svc: S) -> RouteService {
    svc.into_route_service()
}

// === Filter ===

/// A per-route filter: any layer over a [`RouteService`], applied once at build time
/// (WFront's route filter, the third element of a mapping tuple).
///
/// The layer owns calling the route: it may change the request, wrap the response,
/// or answer by itself. Consumption happens before the filter runs, so a filter sees
/// (and may override) the [`Mount`](frontdoor_core::Mount) and the rewritten URI.
/// Cleanup rules plug in here.
///
/// ```
/// use frontdoor_core::{Body, Vars};
/// use frontdoor_route::Filter;
/// use http::Request;
/// use tower::util::MapRequestLayer;
///
/// let wap = Filter::new(MapRequestLayer::new(|mut req: Request<Body>| {
///     req.extensions_mut().get_or_insert_with(Vars::default).set("mode", "wap");
///     req
/// }));
/// # let _ = wap;
/// ```
#[derive(Clone)]
pub struct Filter {
    apply: Arc<dyn Fn(RouteService) -> RouteService + Send + Sync>,
    name: &'static str,
}

impl Filter {
    /// A filter from any layer whose service the router can erase
    /// ([`IntoRouteService`]).
    pub fn new<L>(layer: L) -> Self
    where
        L: Layer<RouteService> + Send + Sync + 'static,
        L::Service: IntoRouteService,
    {
        Self {
            apply: Arc::new(move |svc| boxed(layer.layer(svc))),
            name: std::any::type_name::<L>(),
        }
    }

    /// A filter from a layer whose service already answers `Response<Body>` and
    /// never fails (cleanup rules, the escaped-slash check): boxed as it is, without
    /// the adapter [`Filter::new`] puts around any service, which would cost a boxed
    /// clone and a boxed future per request and change nothing here.
    ///
    /// ```
    /// use std::convert::Infallible;
    ///
    /// use frontdoor_core::Body;
    /// use frontdoor_route::{Filter, Router};
    /// use http::{HeaderValue, Request, Response};
    /// use tower::{util::MapRequestLayer, ServiceExt};
    ///
    /// // Sets a header on every request of the route; `MapRequest` keeps the route
    /// // service's response and error types.
    /// let tag = Filter::infallible(MapRequestLayer::new(|mut req: Request<Body>| {
    ///     req.headers_mut().insert("x-route", HeaderValue::from_static("app"));
    ///     req
    /// }));
    /// let echo = tower::service_fn(|req: Request<Body>| async move {
    ///     let seen = req.headers()["x-route"].clone();
    ///     let mut res = Response::new(Body::empty());
    ///     res.headers_mut().insert("x-seen", seen);
    ///     Ok::<_, Infallible>(res)
    /// });
    /// let router = Router::builder()
    ///     .route_with_filter("::/app", echo, tag)
    ///     .build()
    ///     .unwrap();
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let req = Request::get("/app/x").header("host", "a.example").body(Body::empty()).unwrap();
    /// let res = router.oneshot(req).await.unwrap();
    /// assert_eq!(res.headers()["x-seen"], "app");
    /// # });
    /// ```
    pub fn infallible<L>(layer: L) -> Self
    where
        L: Layer<RouteService> + Send + Sync + 'static,
        L::Service: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as Service<Request<Body>>>::Future: Send + 'static,
    {
        Self {
            apply: Arc::new(move |svc| BoxCloneSyncService::new(layer.layer(svc))),
            name: std::any::type_name::<L>(),
        }
    }

    /// Wraps `svc` in this filter.
    #[must_use]
    pub fn apply(&self, svc: RouteService) -> RouteService {
        (self.apply)(svc)
    }
}

impl Layer<RouteService> for Filter {
    type Service = RouteService;

    fn layer(&self, inner: RouteService) -> RouteService {
        self.apply(inner)
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Filter").field(&self.name).finish()
    }
}

// === NotFound ===

/// WFront 0.4's `abort404` body, for migrations that must reproduce it byte for byte.
pub const WFRONT04_NOT_FOUND_BODY: &str = "No website configured at this address, dude.";

/// The built-in fallback service: `404`, `text/plain`, a fixed body and its
/// `content-length`.
///
/// [`NotFound::new`] (the router's default) answers `Not Found` plus a newline with
/// `content-type: text/plain; charset=utf-8`, like every frontdoor error.
/// [`NotFound::wfront04`] answers exactly WFront 0.4's body with
/// `content-type: text/plain` (plus the `content-length` WFront did not send).
#[derive(Clone, Debug)]
pub struct NotFound {
    wfront04: bool,
}

impl NotFound {
    /// The neutral 404.
    #[must_use]
    pub const fn new() -> Self {
        Self { wfront04: false }
    }

    /// WFront 0.4's 404 ([`WFRONT04_NOT_FOUND_BODY`]).
    #[must_use]
    pub const fn wfront04() -> Self {
        Self { wfront04: true }
    }

    fn response(&self) -> Response<Body> {
        if !self.wfront04 {
            return text_response(StatusCode::NOT_FOUND, "Not Found");
        }
        let mut res = Response::new(Body::from(WFRONT04_NOT_FOUND_BODY));
        *res.status_mut() = StatusCode::NOT_FOUND;
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from(WFRONT04_NOT_FOUND_BODY.len()),
        );
        res
    }
}

impl Default for NotFound {
    fn default() -> Self {
        Self::new()
    }
}

impl<B> Service<Request<B>> for NotFound {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Body>, Infallible>>;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        ready(Ok(self.response()))
    }
}
