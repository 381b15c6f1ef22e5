//! Middleware that narrows the resolver's escaped-slash policy for one route, from
//! `keep` to `reject`.
//!
//! The resolver canonicalises every path once, with one
//! [`EncodedSlash`] policy for the whole server (`decode`
//! must happen before routing, so it can only be a server setting). A route whose
//! backend resolves `%2F`, `%5C`, `\` or `..;` differently (a Tomcat or IIS app, an
//! admin area behind path-based access control) can still refuse them:
//! [`EscapedSlashesLayer::reject`], as a route filter, answers **400** for a path with
//! `%2F` or `%5C` (either case), a raw `\`, or a segment starting `..;`, and forwards
//! nothing. It checks the whole resolved path ([`Resolved::path`], or the request path
//! without a resolver) and the path of a WebDAV `Destination` (an absolute URI or an
//! absolute path, as the resolver checks it; see the [crate docs](crate#the-path)), and
//! records `reject` in [`Resolved::canonical`] (through
//! [`Resolved::narrow_canonical`], which never widens a policy), so paths that cleanup
//! rules write further in are held to it too.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor_core::{Body, BoxError};
//! use frontdoor_resolve::EscapedSlashesLayer;
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let admin = ServiceBuilder::new()
//!     .layer(EscapedSlashesLayer::reject())
//!     .service(service_fn(|_req: Request<Body>| async {
//!         Ok::<_, Infallible>(Response::new(Body::from("admin")))
//!     }));
//! let req = Request::get("/admin/..;/secret").body(Body::empty())?;
//! assert_eq!(admin.clone().oneshot(req).await?.status(), 400);
//! let req = Request::get("/admin/users").body(Body::empty())?;
//! assert_eq!(admin.clone().oneshot(req).await?.status(), 200);
//! // The path a MOVE writes to is held to it too.
//! let req = Request::builder()
//!     .method("MOVE")
//!     .uri("/admin/a")
//!     .header("destination", "http://example.com/admin/..%2F..%2Fsecret")
//!     .body(Body::empty())?;
//! assert_eq!(admin.oneshot(req).await?.status(), 400);
//! # Ok(())
//! # }
//! ```
//!
//! [`Resolved::path`]: frontdoor_core::Resolved::path
//! [`Resolved::canonical`]: frontdoor_core::Resolved::canonical
//! [`Resolved::narrow_canonical`]: frontdoor_core::Resolved::narrow_canonical

use std::task::{Context, Poll};

use bytes::Bytes;
use frontdoor_core::{
    canonicalize_with, Body, BoxError, CanonicalOptions, EncodedSlash, Error, Resolved,
};
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::destination;

// === EscapedSlashesLayer ===

/// Applies [`EscapedSlashes`] to a route. See the [module docs](self).
#[derive(Clone, Copy, Debug)]
#[must_use]
pub struct EscapedSlashesLayer {
    policy: EncodedSlash,
}

impl EscapedSlashesLayer {
    /// Refuses `%2F`, `%5C`, a raw `\` and a segment starting `..;` in the request
    /// path or `Destination`'s with 400.
    pub const fn reject() -> Self {
        Self {
            policy: EncodedSlash::Reject,
        }
    }
}

impl<S> Layer<S> for EscapedSlashesLayer {
    type Service = EscapedSlashes<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EscapedSlashes {
            inner,
            policy: self.policy,
        }
    }
}

// === EscapedSlashes ===

/// Middleware that refuses escaped slashes on one route. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct EscapedSlashes<S> {
    inner: S,
    policy: EncodedSlash,
}

impl<S> EscapedSlashes<S> {
    /// An [`EscapedSlashesLayer::reject`].
    pub const fn layer() -> EscapedSlashesLayer {
        EscapedSlashesLayer::reject()
    }

    frontdoor_core::define_inner_service_accessors!();

    /// Checks the request's path and `Destination`'s; on success records the policy
    /// in `Resolved` ([`Resolved::narrow_canonical`], which can only narrow it).
    fn check<B>(&self, req: &mut Request<B>) -> Result<(), Error> {
        let resolved = req.extensions().get::<Resolved>();
        let narrowed = resolved
            .map_or_else(CanonicalOptions::new, Resolved::canonical)
            .narrowed(self.policy);
        if let Some(resolved) = resolved {
            canonicalize_with(&resolved.path, narrowed)?;
        } else if req.uri().path() != "*" {
            canonicalize_with(req.uri().path(), narrowed)?;
        }
        destination::police(req.headers_mut(), narrowed)?;
        if let Some(resolved) = req.extensions_mut().get_mut::<Resolved>() {
            resolved.narrow_canonical(self.policy);
        }
        Ok(())
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for EscapedSlashes<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        match self.check(&mut req) {
            Ok(()) => ResponseFuture::inner(self.inner.call(req)),
            Err(err) => {
                tracing::debug!(error = %err, uri = %req.uri(), "path refused by the route");
                ResponseFuture::answer(err.into_response())
            }
        }
    }
}

// === ResponseFuture ===

/// Response future of [`EscapedSlashes`]: the inner service's response, or the refusal.
pub type ResponseFuture<F> = frontdoor_core::InnerOrAnswer<F>;

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use frontdoor_core::HostSource;
    use http::uri::Scheme;
    use tower::{service_fn, ServiceExt};

    use super::*;

    async fn echo_canonical(req: Request<Body>) -> Result<Response<Body>, Infallible> {
        let policy = req
            .extensions()
            .get::<Resolved>()
            .map_or("none", |r| r.canonical().encoded_slash.as_str());
        Ok(Response::new(Body::from(policy)))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn refuses_what_reject_refuses_and_records_it() {
        let svc = EscapedSlashesLayer::reject().layer(service_fn(echo_canonical));
        for path in ["/a%2Fb", "/a%5cb", "/a\\b", "/x/..;/y"] {
            let req = Request::get(path).body(Body::empty()).unwrap();
            assert_eq!(
                svc.clone().oneshot(req).await.unwrap().status(),
                400,
                "{path}"
            );
        }
        // The resolved path is the one checked.
        let mut req = Request::get("/ok").body(Body::empty()).unwrap();
        req.extensions_mut().insert(Resolved::new(
            Scheme::HTTP,
            "h",
            80,
            "/app/..;/x",
            HostSource::Host,
        ));
        assert_eq!(svc.clone().oneshot(req).await.unwrap().status(), 400);
        let mut req = Request::get("/ok").body(Body::empty()).unwrap();
        req.extensions_mut().insert(Resolved::new(
            Scheme::HTTP,
            "h",
            80,
            "/app/ok",
            HostSource::Host,
        ));
        let res = svc.oneshot(req).await.unwrap();
        assert_eq!(res.status(), 200);
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body, "reject");
    }

    #[test]
    fn public_types_are_send_sync_clone() {
        fn send_sync_clone<T: Send + Sync + Clone>() {}
        send_sync_clone::<EscapedSlashesLayer>();
        send_sync_clone::<
            EscapedSlashes<
                tower::util::BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>,
            >,
        >();
    }
}
