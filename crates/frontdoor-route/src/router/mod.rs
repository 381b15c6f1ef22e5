//! The tower glue: [`Router`] (a `Service`), [`RouteLayer`] (a `Layer` whose inner
//! service is the default), their builder, per-route [`Filter`]s and the built-in
//! [`NotFound`] service.
//!
//! For each request the router:
//!
//! 1. takes the host, port and by-scheme label from the [`Resolved`] extension stamped
//!    by the resolver layer, or, without one, resolves minimally from the request
//!    itself: the absolute-form authority or the `Host` header (case-folded, one
//!    trailing dot dropped, invalid gives 400), its explicit port, else 443 when the
//!    URI scheme is https or [`ConnInfo::tls`] is set, else 80; with no host at all,
//!    the local port of [`ConnInfo`] (or 80) and an empty host, which matches no
//!    string spec in strict mode;
//! 2. matches on the **current path info**, `uri().path()`, canonicalised with
//!    [`frontdoor_core::canonicalize`] (a path that cannot be canonicalised gives
//!    400), so a router nested behind another sees only what is left; a matched
//!    route always sees that canonical string in its URI (spec S4);
//! 3. picks the first route of the table that matches ([`Table`](crate::Table));
//! 4. moves the matched prefix from path info to script name ([`Mount`]), rewrites the
//!    URI to the remainder (query kept), inserts [`MatchedRoute`], and calls the
//!    route's (filtered) service;
//! 5. on a miss calls the default service (its own filter, nothing consumed) or, with
//!    no default, the abort404 service ([`NotFound`] unless replaced).
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
//! [`ConnInfo::tls`]: frontdoor_core::ConnInfo::tls
//! [`Mount`]: frontdoor_core::Mount
//! [`MatchedRoute`]: frontdoor_core::MatchedRoute

use std::{
    convert::Infallible,
    fmt,
    future::{ready, Ready},
    sync::Arc,
    task::{Context, Poll},
};

use frontdoor_core::{text_response, Body};
use http::{header, HeaderValue, Request, Response, StatusCode};
use tower::util::BoxCloneSyncService;
use tower_layer::Layer;
use tower_service::Service;

mod builder;
mod future;
mod service;

pub use builder::RouterBuilder;
pub use future::ResponseFuture;
pub use service::{RouteLayer, Router};

/// The type-erased service of a route, the default and abort404.
pub type RouteService = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// A service the router can erase into a [`RouteService`]: any
/// `Service<Request<Body>, Response = Response<Body>, Error = Infallible>` that is
/// `Clone + Send + Sync + 'static` with a `Send` future. Implemented for every such
/// service; it only names that bound once.
pub trait IntoRouteService: sealed::Sealed {
    /// Boxes the service.
    fn into_route_service(self) -> RouteService;
}

mod sealed {
    #[allow(unreachable_pub, unnameable_types, reason = "sealed trait")]
    pub trait Sealed {}
}

impl<S> sealed::Sealed for S
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
}

impl<S> IntoRouteService for S
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    fn into_route_service(self) -> RouteService {
        BoxCloneSyncService::new(self)
    }
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
    /// A filter from any layer whose service is a cloneable, `Sync`, infallible
    /// HTTP service (for example a `tower::util::BoxCloneSyncServiceLayer`).
    pub fn new<L>(layer: L) -> Self
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
            apply: Arc::new(move |svc| boxed(layer.layer(svc))),
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

/// WFront 0.4's abort404 body, for migrations that must reproduce it byte for byte.
pub const WFRONT04_NOT_FOUND_BODY: &str = "No website configured at this address, dude.";

/// The built-in abort404 service: `404`, `text/plain`, a fixed body and its
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
