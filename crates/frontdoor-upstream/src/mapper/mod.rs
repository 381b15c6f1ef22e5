//! A proxy whose target is a function of the request: [`Mapper`], proxylet's mapper.
//!
//! The function sees the request head and returns a [`Mapping`] (an upstream base URL,
//! optionally a path prefix the target does not see) or `None`, which the fallback
//! answers (404 by default). Targets need not be known in advance: the mapper keeps
//! one pooled [`Upstream`](crate::Upstream) client per target authority (`scheme://host:port`), built on
//! first use with the same configuration ([`MapperBuilder::upstream`]), so requests to
//! one origin share its connections whatever base path they name.
//!
//! # Security: a mapper is an open proxy unless bounded
//!
//! A function that derives the target from the request (its `Host`, a path segment,
//! a query parameter) lets any client make the front door connect wherever it likes:
//! to the cloud metadata service, to admin ports on loopback, to hosts of the private
//! network (server-side request forgery). Every mapper therefore takes an
//! [`AllowedTargets`] list, checked before each request is sent and again, for names,
//! on each address they resolve to (so DNS rebinding cannot sneak a forbidden address
//! in); **the empty list, the default, refuses every target**. Refusals are logged at
//! `warn` and answered 502 ([`ProxyErrorKind::TargetRefused`]).
//! Prefer targets from a fixed table, as in the example below, to targets built from
//! what the client sent.
//!
//! # Clients: the cap and what happens at it
//!
//! At most [`max_clients`](MapperBuilder::max_clients) clients (default 256) are kept.
//! A request to an authority without one builds one; when that would pass the cap,
//! clients idle past [`client_idle_timeout`](MapperBuilder::client_idle_timeout)
//! (default 90 s) are dropped first, then the least recently used one. An evicted
//! client's idle connections close; requests in flight on it finish normally (each
//! holds its client); the next request to that authority dials anew.
//! [`Mapper::clients`] and [`Mapper::evicted`] tell how many are kept and how many
//! were dropped.
//!
//! # What runs per target
//!
//! The chosen target's client is served through a [`WrapTarget`] (default
//! [`Direct`]: the client itself). The facade's `frontdoor::RelocatedTargets` puts a
//! relocation layer in front whose remote root is the chosen URL, so the target's
//! redirects and links come back under the public URL: the relocation root follows
//! the mapping. A [`Mapping::strip_prefix`] prefix moves to the request's
//! [`Mount`] script name (through [`Mount::consume`]), as a router's prefix does.
//!
//! Errors are [`ProxyError`]s, as [`Upstream`](crate::Upstream)'s; put a
//! [`GatewayErrorLayer`](crate::GatewayErrorLayer) in front for 502/503/504 answers.
//! The mapper is always ready: it builds the target's service per request and drives
//! it ready before calling it.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor_core::Body;
//! use frontdoor_upstream::{AllowedTargets, GatewayErrorLayer, Mapper, Mapping};
//! use http::{request::Parts, Request, Uri};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor_core::BoxError> {
//! let api: Uri = "http://127.0.0.1:9/api".parse()?; // nothing listens there
//! let metadata: Uri = "http://169.254.169.254".parse()?;
//! let mapper = Mapper::builder(move |head: &Parts| {
//!     Mapping::under(head, "/api", api.clone())
//!         // A target outside the allow-list: refused, never dialled.
//!         .or_else(|| Mapping::under(head, "/meta", metadata.clone()))
//! })
//! .allow(AllowedTargets::parse(["127.0.0.1"])?)
//! .build()?;
//! let svc = ServiceBuilder::new().layer(GatewayErrorLayer::new()).service(mapper.clone());
//! let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
//! let status = |res: Result<http::Response<Body>, Infallible>| match res {
//!     Ok(res) => res.status(),
//!     Err(e) => match e {},
//! };
//! assert_eq!(status(svc.clone().oneshot(get("/api/users")).await), 502); // refused connect
//! assert_eq!(status(svc.clone().oneshot(get("/meta/latest")).await), 502); // not allowed
//! assert_eq!(status(svc.oneshot(get("/other")).await), 404); // None: the fallback
//! assert_eq!(mapper.clients(), 1); // one client: 127.0.0.1:9
//! # Ok(())
//! # }
//! ```

mod builder;
mod clients;
mod future;
mod mapping;

use std::{fmt, sync::Arc, task::Context, task::Poll};

use bytes::Bytes;
use frontdoor_core::{
    proto::{default_port, parse_host, strip_root},
    Body, BoxError, Mount,
};
use http::{request::Parts, uri::Scheme, Request, Response, Uri};
use tower::ServiceExt as _;
use tower_service::Service;

use self::{builder::Fallback, clients::Clients};
pub use self::{
    builder::MapperBuilder,
    future::ResponseFuture,
    mapping::{Direct, Mapping, WrapTarget},
};
use crate::{allow::HostCheck, error::RefusedTarget, AllowedTargets, ProxyError, ProxyErrorKind};

/// A proxy whose target is a function of the request head. See the
/// [module docs](crate::mapper).
///
/// Cloning is cheap: clones share the function and the clients.
pub struct Mapper<F, W = Direct> {
    shared: Arc<MapperShared<F, W>>,
    fallback: Fallback,
}

/// What every clone of a mapper shares.
struct MapperShared<F, W> {
    map: F,
    wrap: W,
    allow: AllowedTargets,
    clients: Clients,
}

/// A mapping's target, checked: its client's key and URL, and its base path.
struct Target {
    key: String,
    url: String,
    base_path: String,
}

// === impl Mapper ===

impl<F> Mapper<F>
where
    F: Fn(&Parts) -> Option<Mapping> + Send + Sync + 'static,
{
    /// A builder for a mapper calling `map` on each request head.
    pub fn builder(map: F) -> MapperBuilder<F> {
        MapperBuilder::new(map)
    }
}

impl<F, W> Mapper<F, W> {
    /// How many clients (target authorities) are kept now.
    #[must_use]
    pub fn clients(&self) -> usize {
        self.shared.clients.len()
    }

    /// How many clients were dropped so far, idle or least recently used at the cap.
    #[must_use]
    pub fn evicted(&self) -> u64 {
        self.shared.clients.evicted()
    }

    /// The allow-list.
    #[must_use]
    pub fn allowed(&self) -> &AllowedTargets {
        &self.shared.allow
    }
}

impl<F, W> Clone for Mapper<F, W> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            fallback: self.fallback.clone(),
        }
    }
}

impl<F, W: fmt::Debug> fmt::Debug for Mapper<F, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapper")
            .field("wrap", &self.shared.wrap)
            .field("allow", &self.shared.allow)
            .field("max_clients", &self.shared.clients.max())
            .field("client_idle_timeout", &self.shared.clients.idle_timeout())
            .field("clients", &self.shared.clients)
            .finish_non_exhaustive()
    }
}

impl<F, W, B> Service<Request<B>> for Mapper<F, W>
where
    F: Fn(&Parts) -> Option<Mapping> + Send + Sync + 'static,
    W: WrapTarget,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = ProxyError;
    type Future = ResponseFuture<W::Service>;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (parts, body) = req.into_parts();
        let mapping = (self.shared.map)(&parts);
        let req = Request::from_parts(parts, Body::new(body));
        let Some(mapping) = mapping else {
            return ResponseFuture::fallback(self.fallback.clone().oneshot(req));
        };
        match self.shared.prepare(&mapping, req) {
            Ok((svc, req)) => ResponseFuture::target(svc, req),
            Err(e) => ResponseFuture::error(e),
        }
    }
}

impl<F, W: WrapTarget> MapperShared<F, W> {
    /// The target's service and the request to send it, in named steps: the target
    /// checked, its client, the prefix moved to the mount, the wrap.
    fn prepare(
        &self,
        mapping: &Mapping,
        mut req: Request<Body>,
    ) -> Result<(W::Service, Request<Body>), ProxyError> {
        let target = self.check(mapping.target())?;
        let upstream = self
            .clients
            .get(&target.key, &target.url)
            .map_err(|e| {
                tracing::warn!(target = %mapping.target(), error = %e, "mapper target has no client");
                ProxyError::with_source(ProxyErrorKind::TargetRefused, e)
            })?
            .rebased(&target.base_path);
        if let Some(prefix) = mapping.prefix() {
            mount(&mut req, prefix)?;
        }
        tracing::debug!(target = %mapping.target(), "mapped");
        Ok((self.wrap.wrap(mapping, upstream)?, req))
    }

    /// The target's parts, when it is an upstream URL the allow-list lets through.
    fn check(&self, uri: &Uri) -> Result<Target, ProxyError> {
        let refuse = |why: &'static str| {
            tracing::warn!(target = %uri, reason = why, "mapper target refused");
            ProxyError::with_source(
                ProxyErrorKind::TargetRefused,
                RefusedTarget::new(uri.to_string(), why),
            )
        };
        let scheme = uri.scheme().ok_or_else(|| refuse("has no scheme"))?;
        let https = *scheme == Scheme::HTTPS;
        if *scheme != Scheme::HTTP && !https {
            return Err(refuse("is not http or https"));
        }
        let authority = uri.authority().ok_or_else(|| refuse("has no host"))?;
        if authority.as_str().contains('@') {
            return Err(refuse("has userinfo"));
        }
        if uri.query().is_some() {
            return Err(refuse("has a query"));
        }
        let host = parse_host(authority.as_str())
            .ok()
            .flatten()
            .ok_or_else(|| refuse("has no valid host"))?;
        if self.allow.check_host(&host.host) == HostCheck::Refused {
            return Err(refuse("is not in the allow-list"));
        }
        let port = host.port.unwrap_or_else(|| default_port(scheme));
        let explicit = host.port.map(|p| format!(":{p}")).unwrap_or_default();
        Ok(Target {
            key: format!("{scheme}://{}:{port}", host.host),
            url: format!("{scheme}://{}{explicit}", host.host),
            base_path: uri.path().trim_end_matches('/').to_owned(),
        })
    }
}

/// Moves `prefix` from the request's path info to its mount's script name.
fn mount(req: &mut Request<Body>, prefix: &str) -> Result<(), ProxyError> {
    let mut mount = Mount::of(req);
    if strip_root(mount.path_info(), prefix).is_none() || !mount.consume(prefix) {
        tracing::warn!(
            prefix,
            path = mount.path_info(),
            "mapping prefix not in the path"
        );
        return Err(ProxyError::with_source(
            ProxyErrorKind::TargetRefused,
            RefusedTarget::new(prefix, "is a prefix the request path does not have"),
        ));
    }
    mount
        .apply(req)
        .map_err(|e| ProxyError::with_source(ProxyErrorKind::InvalidRequest, e))
}
