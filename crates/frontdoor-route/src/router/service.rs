//! [`Router`] and [`RouteLayer`], and the per-request dispatch.

use std::{
    borrow::Cow,
    convert::Infallible,
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::{
    canonicalize,
    proto::{connection_scheme, default_port, direct_resolution, local_port},
    Body, BoxError, Error, HostSource, MatchedRoute, Mount, Resolved,
};
use http::{header, Request, Response};
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use super::{boxed, Filter, IntoRouteService, Prefix, ResponseFuture, RouteService, RouterBuilder};
use crate::{Consume, Match, Mode, Table, Target};

/// The compiled table and its services, shared by every clone.
pub(crate) struct Shared {
    pub(crate) table: Table,
    pub(crate) services: Box<[RouteService]>,
    /// What each route does with its matched prefix, in table order.
    pub(crate) prefixes: Box<[Prefix]>,
}

// === impl Router ===

/// The WFront-style router: a `Service` over an ordered `host:port:path` table.
///
/// See the [module docs](super) for the dispatch steps. Cloning is cheap (the table
/// is shared). Readiness: always ready; the selected route is cloned and driven with
/// `oneshot` (axum strategy, house rule R8).
#[derive(Clone)]
pub struct Router {
    shared: Arc<Shared>,
    fallback: RouteService,
}

impl Router {
    /// A builder with the default settings (strict mode, default schemes, no routes,
    /// [`NotFound`](super::NotFound) as the fallback).
    pub fn builder() -> RouterBuilder {
        <RouterBuilder as Default>::default()
    }

    pub(crate) fn from_parts(shared: Arc<Shared>, fallback: RouteService) -> Self {
        Self { shared, fallback }
    }

    /// The normalised specs (strict), regexes as written, or WFront patterns (compat),
    /// in match order; the same strings [`MatchedRoute::spec`] carries.
    #[must_use]
    pub fn dump_mappings(&self) -> Vec<String> {
        self.shared.table.dump()
    }

    /// The compiled table, for matching without a request.
    #[must_use]
    pub fn table(&self) -> &Table {
        &self.shared.table
    }

    /// Matches `req` and prepares it for the selected service; `Err` is an immediate
    /// answer (400).
    fn dispatch(&self, req: &mut Request<Body>) -> Result<RouteService, Box<Response<Body>>> {
        let table = &self.shared.table;
        let mount = current_mount(req);
        let path = match_path(req, &mount, table.mode())?;
        let found = find(table, req, &mount, &path)?;
        let Some(found) = found else {
            tracing::debug!(route = "fallback", "no route matched");
            return Ok(self.fallback.clone());
        };
        let spec = table.spec(found.index).cloned().unwrap_or_default();
        tracing::debug!(route = %spec, index = found.index, "route matched");
        let consume = match self.shared.prefixes.get(found.index) {
            Some(Prefix::Keep) => Consume::Nothing,
            Some(Prefix::Consume) | None => found.consume,
        };
        if let Some(next) = consumed(&mount, path, &consume) {
            apply_mount(next, req).map_err(|e| Box::new(e.into_response()))?;
        }
        req.extensions_mut()
            .insert(MatchedRoute::new(found.index, spec));
        self.shared
            .services
            .get(found.index)
            .cloned()
            .ok_or_else(|| Box::new(Error::internal("route without a service").into_response()))
    }
}

/// The request's mount, with the path info taken from the current URI (a layer
/// between two routers may have rewritten it).
fn current_mount(req: &Request<Body>) -> Mount {
    let current = req.uri().path();
    match req.extensions().get::<Mount>() {
        Some(m) if m.uri_path() == current => m.clone(),
        Some(m) => Mount::new(m.script_name(), current),
        None => Mount::from_path(current),
    }
}

/// The path matched on: the path info as the resolver left it (already canonical,
/// with the options in `Resolved::canonical`; never redone), or, without a resolver
/// in strict mode, canonicalised here with the defaults.
fn match_path<'a>(
    req: &Request<Body>,
    mount: &'a Mount,
    mode: Mode,
) -> Result<Cow<'a, str>, Box<Response<Body>>> {
    let resolved = req.extensions().get::<Resolved>().is_some();
    match (mode, resolved) {
        (Mode::Strict, true) | (Mode::Wfront04, _) => Ok(Cow::Borrowed(mount.path_info())),
        (Mode::Strict, false) => {
            canonicalize(mount.path_info()).map_err(|e| Box::new(Error::from(e).into_response()))
        }
    }
}

/// Looks `path` up with the host, port and label of the resolution (or the fallback
/// resolution when no resolver ran).
fn find(
    table: &Table,
    req: &Request<Body>,
    mount: &Mount,
    path: &str,
) -> Result<Option<Match>, Box<Response<Body>>> {
    let mode = table.mode();
    let (host, port, label) = match req.extensions().get::<Resolved>() {
        Some(r) => (Cow::Borrowed(r.host.as_str()), r.port, r.label.as_deref()),
        None => {
            let (h, p) = fallback_resolution(req, mode).map_err(|e| Box::new(e.into_response()))?;
            (Cow::Owned(h), p, None)
        }
    };
    let label = if mode == Mode::Strict { label } else { None };
    let target = Target::new(&host, port, path)
        .with_label(label)
        .with_script_name(mount.script_name());
    Ok(table.find(&target))
}

/// The mount after a match: the matched prefix moved to the script name. Forwards the
/// string that was matched: a path the router had to canonicalise is rewritten even
/// when nothing is consumed. `None` when the request stays as it is.
fn consumed(mount: &Mount, path: Cow<'_, str>, consume: &Consume) -> Option<Mount> {
    match (consume, path) {
        (Consume::Nothing, Cow::Owned(path)) => Some(Mount::new(mount.script_name(), path)),
        (Consume::Nothing, Cow::Borrowed(_)) => None,
        (Consume::Prefix(n), path) => {
            let (consumed, rest) = path.split_at(*n);
            let mut script = mount.script_name().to_owned();
            script.push_str(consumed);
            Some(Mount::new(script, rest))
        }
        (Consume::Legacy(p), _) => {
            let mut script = mount.script_name().to_owned();
            script.push_str(p);
            let rest = mount.path_info().get(p.len()..).unwrap_or("");
            Some(Mount::new(script, rest))
        }
    }
}

/// Rewrites the URI to `mount` and stores it. A WFront 0.4 remainder without its
/// leading slash (`::/` on `/foo` leaves `foo`) cannot be an `http::Uri` path: the URI
/// then carries it with a `/` prepended, and the exact remainder stays in the
/// [`Mount`] extension.
fn apply_mount(mount: Mount, req: &mut Request<Body>) -> Result<(), Error> {
    if mount.path_info().is_empty() || mount.path_info().starts_with('/') {
        return mount.apply(req);
    }
    let slashed = Mount::new(mount.script_name(), format!("/{}", mount.path_info()));
    let uri = slashed.rebuild_uri(req.uri())?;
    *req.uri_mut() = uri;
    req.extensions_mut().insert(mount);
    Ok(())
}

/// The minimal resolution used when no resolver layer stamped [`Resolved`]: the
/// shared direct resolution ([`direct_resolution`]), or, when the request names no
/// host, an empty host (which matches no string spec in strict mode) and the
/// connection's local port (or the scheme's default). In [`Mode::Wfront04`] the
/// host is the validated text as the client sent it (case and trailing dot kept), as
/// WFront 0.4 matched it.
fn fallback_resolution(req: &Request<Body>, mode: Mode) -> Result<(String, u16), Error> {
    let scheme = connection_scheme(req);
    Ok(match direct_resolution(req, scheme.clone())? {
        Some(r) if mode == Mode::Wfront04 && !r.is_ipv6() => (as_sent(req, r.source), r.port),
        Some(r) => (r.host, r.port),
        None => (
            String::new(),
            local_port(req).unwrap_or_else(|| default_port(&scheme)),
        ),
    })
}

/// The host text before its port, as sent (already validated by the resolution).
fn as_sent(req: &Request<Body>, source: HostSource) -> String {
    let sent = match source {
        HostSource::Authority => req
            .uri()
            .authority()
            .map(|a| a.as_str().rsplit('@').next().unwrap_or_default()),
        _ => req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok()),
    };
    let sent = sent.unwrap_or_default();
    sent.split(':').next().unwrap_or(sent).to_owned()
}

/// Any request body is accepted: it is erased into a [`Body`] (for free when it is
/// one already), the type every route service is called with.
impl<B> Service<Request<B>> for Router
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let mut req = req.map(Body::new);
        match self.dispatch(&mut req) {
            Ok(svc) => ResponseFuture::call(svc.oneshot(req)),
            Err(res) => ResponseFuture::ready(*res),
        }
    }
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("mode", &self.shared.table.mode())
            .field("routes", &self.shared.table.dump())
            .field("fallback", &self.fallback)
            .finish()
    }
}

// === impl RouteLayer ===

/// A [`Layer`] that mounts a route table in front of a service: the inner service
/// becomes the fallback (through the fallback filter, if one was set), so requests
/// that match no route fall through to it.
///
/// Built by [`RouterBuilder::into_layer`]; produces a [`Router`]. Cheap to clone.
///
/// ```
/// use frontdoor_core::{text_response, Body};
/// use frontdoor_route::Router;
/// use http::{Request, StatusCode};
/// use tower::{service_fn, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), frontdoor_core::BoxError> {
/// let admin = service_fn(|_req: Request<Body>| async {
///     Ok::<_, std::convert::Infallible>(text_response(StatusCode::FORBIDDEN, "no"))
/// });
/// let site = service_fn(|_req: Request<Body>| async {
///     Ok::<_, std::convert::Infallible>(text_response(StatusCode::OK, "site"))
/// });
/// let svc = ServiceBuilder::new()
///     .layer(Router::builder().path("/admin", admin).into_layer()?)
///     .service(site);
/// let req = |p: &str| Request::builder().uri(p).header("host", "h").body(Body::empty());
/// assert_eq!(svc.clone().oneshot(req("/admin/x")?).await?.status(), StatusCode::FORBIDDEN);
/// assert_eq!(svc.oneshot(req("/administrator")?).await?.status(), StatusCode::OK);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RouteLayer {
    shared: Arc<Shared>,
    fallback_filter: Option<Filter>,
}

impl RouteLayer {
    pub(crate) fn from_parts(shared: Arc<Shared>, fallback_filter: Option<Filter>) -> Self {
        Self {
            shared,
            fallback_filter,
        }
    }

    /// As [`Router::dump_mappings`].
    #[must_use]
    pub fn dump_mappings(&self) -> Vec<String> {
        self.shared.table.dump()
    }
}

impl<S: IntoRouteService> Layer<S> for RouteLayer {
    type Service = Router;

    fn layer(&self, inner: S) -> Router {
        let inner = boxed(inner);
        let fallback = match &self.fallback_filter {
            Some(f) => f.apply(inner),
            None => inner,
        };
        Router::from_parts(self.shared.clone(), fallback)
    }
}

impl fmt::Debug for RouteLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteLayer")
            .field("mode", &self.shared.table.mode())
            .field("routes", &self.shared.table.dump())
            .field("fallback_filter", &self.fallback_filter)
            .finish()
    }
}
