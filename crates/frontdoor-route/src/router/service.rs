//! [`Router`] and [`RouteLayer`], and the per-request dispatch.

use std::{
    borrow::Cow,
    convert::Infallible,
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use frontdoor_core::{canonicalize, Body, ConnInfo, Error, MatchedRoute, Mount, Resolved};
use http::{header, uri::Scheme, Request, Response};
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use super::{boxed, Filter, IntoRouteService, ResponseFuture, RouteService, RouterBuilder};
use crate::{Consume, Mode, Table, Target};

/// The compiled table and its services, shared by every clone.
pub(crate) struct Shared {
    pub(crate) table: Table,
    pub(crate) services: Box<[RouteService]>,
    pub(crate) abort404: RouteService,
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
    default: Option<RouteService>,
}

impl Router {
    /// A builder with the default settings (strict mode, default schemes, no routes,
    /// no default, [`NotFound`](super::NotFound) as abort404).
    pub fn builder() -> RouterBuilder {
        <RouterBuilder as Default>::default()
    }

    pub(crate) fn from_parts(shared: Arc<Shared>, default: Option<RouteService>) -> Self {
        Self { shared, default }
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
        let mode = table.mode();
        let current = req.uri().path();
        let mount = match req.extensions().get::<Mount>() {
            Some(m) if m.uri_path() == current => m.clone(),
            Some(m) => Mount::new(m.script_name(), current),
            None => Mount::from_path(current),
        };
        let path: Cow<'_, str> = match mode {
            Mode::Strict => {
                canonicalize(mount.path_info()).map_err(|e| Error::from(e).into_response())?
            }
            Mode::Wfront04 => Cow::Borrowed(mount.path_info()),
        };
        let found = {
            let (host, port, label) = match req.extensions().get::<Resolved>() {
                Some(r) => (Cow::Borrowed(r.host.as_str()), r.port, r.label.as_deref()),
                None => {
                    let (h, p) = fallback_resolution(req, mode)?;
                    (h, p, None)
                }
            };
            let label = if mode == Mode::Strict { label } else { None };
            let target = Target::new(&host, port, &path)
                .with_label(label)
                .with_script_name(mount.script_name());
            table.find(&target)
        };
        let Some(found) = found else {
            return Ok(match &self.default {
                Some(d) => {
                    tracing::debug!(route = "default", "no route matched");
                    d.clone()
                }
                None => {
                    tracing::debug!(route = "abort404", "no route matched");
                    self.shared.abort404.clone()
                }
            });
        };
        let spec = table.spec(found.index).cloned().unwrap_or_default();
        tracing::debug!(route = %spec, index = found.index, "route matched");
        let next = match &found.consume {
            // Forward the string that was matched: a path the router had to
            // canonicalise is rewritten even when nothing is consumed.
            Consume::Nothing if matches!(path, Cow::Owned(_)) => {
                Some(Mount::new(mount.script_name(), path.as_ref()))
            }
            Consume::Nothing => None,
            Consume::Prefix(n) => {
                let (consumed, rest) = path.split_at(*n);
                let mut script = mount.script_name().to_owned();
                script.push_str(consumed);
                Some(Mount::new(script, rest))
            }
            Consume::Legacy(p) => {
                let mut script = mount.script_name().to_owned();
                script.push_str(p);
                let rest = mount.path_info().get(p.len()..).unwrap_or("");
                Some(Mount::new(script, rest))
            }
        };
        if let Some(next) = next {
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

/// The minimal resolution used when no resolver layer stamped [`Resolved`]: host and
/// port from the absolute-form authority or the `Host` header.
fn fallback_resolution(
    req: &Request<Body>,
    mode: Mode,
) -> Result<(Cow<'static, str>, u16), Box<Response<Body>>> {
    let bad = |msg: &'static str| Box::new(Error::bad_request(msg).into_response());
    let authority: Option<&str> = match req.uri().authority() {
        Some(a) => Some(a.as_str().rsplit('@').next().unwrap_or("")),
        None => match req.headers().get(header::HOST) {
            Some(v) => Some(v.to_str().map_err(|_| bad("invalid Host header"))?),
            None => None,
        },
    };
    let tls = req.uri().scheme() == Some(&Scheme::HTTPS)
        || req.extensions().get::<ConnInfo>().is_some_and(|c| c.tls);
    let default_port = if tls { 443 } else { 80 };
    let Some(authority) = authority.map(str::trim).filter(|a| !a.is_empty()) else {
        let port = req
            .extensions()
            .get::<ConnInfo>()
            .map_or(default_port, |c| c.local.port());
        return Ok((Cow::Borrowed(""), port));
    };
    let (host, port) = if authority.starts_with('[') {
        let end = authority
            .find(']')
            .ok_or_else(|| bad("invalid Host header"))?;
        let (h, rest) = authority.split_at(end + 1);
        match rest {
            "" => (h, None),
            r => (
                h,
                Some(
                    r.strip_prefix(':')
                        .ok_or_else(|| bad("invalid Host header"))?,
                ),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None | Some("") => default_port,
        Some(p) => p.parse().map_err(|_| bad("invalid port in Host header"))?,
    };
    if mode == Mode::Wfront04 {
        return Ok((Cow::Owned(host.to_owned()), port));
    }
    let valid = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'%');
    let ipv6 = host.starts_with('[')
        && host[1..host.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    if !ipv6 && !host.bytes().all(valid) {
        return Err(bad("invalid host"));
    }
    let mut host = host.to_ascii_lowercase();
    if host.ends_with('.') {
        host.pop();
    }
    Ok((Cow::Owned(host), port))
}

impl Service<Request<Body>> for Router {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
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
            .field("default", &self.default.is_some())
            .finish()
    }
}

// === impl RouteLayer ===

/// A [`Layer`] that mounts a route table in front of a service: the inner service
/// becomes the default (through the default filter, if one was set), so requests
/// that match no route fall through to it.
///
/// Built by [`RouterBuilder::layer`]; produces a [`Router`]. Cheap to clone.
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
///     .layer(Router::builder().path("/admin", admin).layer()?)
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
    default_filter: Option<Filter>,
}

impl RouteLayer {
    pub(crate) fn from_parts(shared: Arc<Shared>, default_filter: Option<Filter>) -> Self {
        Self {
            shared,
            default_filter,
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
        let default = match &self.default_filter {
            Some(f) => f.apply(inner),
            None => inner,
        };
        Router::from_parts(self.shared.clone(), Some(default))
    }
}

impl fmt::Debug for RouteLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteLayer")
            .field("mode", &self.shared.table.mode())
            .field("routes", &self.shared.table.dump())
            .field("default_filter", &self.default_filter)
            .finish()
    }
}
