//! Middleware for the edge of a stack that something other than [`serve`](crate::serve)
//! serves (`axum::serve`, a hyper server of your own): the request checks `serve`
//! applies, as far as a parsed request shows them. Put it **outermost**.
//!
//! For each request, [`Ingress`]:
//!
//! 1. refuses framing a proxy must not forward
//!    ([`check_head`]: a missing or
//!    repeated `Host`, a malformed `Content-Length`, a `Transfer-Encoding` other than
//!    one final `chunked`; 400, or 501 for a transfer coding it does not implement),
//!    with `Connection: close`;
//! 2. removes the headers the client nominated in `Connection`, before any layer adds
//!    its own ([`strip_nominated`](frontdoor_core::proto::hop_by_hop::strip_nominated)),
//!    so a client cannot make the upstream client strip what a cleanup rule set;
//! 3. wraps the request body in an [`UploadBody`]: a body that fails, or ends before
//!    its `Content-Length` (or, on HTTP/2, before `END_STREAM`), fails instead of
//!    ending, so the upstream request it feeds is aborted.
//!
//! # Differences from `serve`
//!
//! `serve` also looks at the raw bytes, which no service can see once hyper has
//! parsed them: `Content-Length` together with `Transfer-Encoding` (hyper drops the
//! `Content-Length`), a `#fragment` in the target (the `http` crate drops it), and the
//! end of each HTTP/1 chunked body (hyper ends a chunked body whose connection dropped
//! as if it were complete in some versions). Behind another server, those depend on
//! that server.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor::{ingress::IngressLayer, Body, BoxError};
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let svc = ServiceBuilder::new()
//!     .layer(IngressLayer::new())
//!     .service(service_fn(|req: Request<Body>| async move {
//!         // What a layer further in sees: the nominated header is gone.
//!         assert!(req.headers().get("x-secret").is_none());
//!         Ok::<_, Infallible>(Response::new(Body::empty()))
//!     }));
//!
//! let req = Request::get("/")
//!     .header("host", "example.com")
//!     .header("connection", "x-secret")
//!     .header("x-secret", "1")
//!     .body(Body::empty())?;
//! assert_eq!(svc.clone().oneshot(req).await?.status(), 200);
//!
//! let req = Request::post("/")
//!     .header("host", "example.com")
//!     .header("transfer-encoding", "gzip, chunked")
//!     .body(Body::empty())?;
//! assert_eq!(svc.oneshot(req).await?.status(), 501);
//! # Ok(())
//! # }
//! ```

use std::task::{Context, Poll};

use bytes::Bytes;
use frontdoor_core::{
    proto::{framing::check_head, hop_by_hop},
    Body, BoxError, EndStream, UploadBody,
};
use http::{header, Request, Response, Version};
use tower_layer::Layer;
use tower_service::Service;

// === IngressLayer ===

/// Applies [`Ingress`] to a service. See the [module docs](self).
#[derive(Clone, Copy, Debug, Default)]
#[must_use]
pub struct IngressLayer {
    _private: (),
}

impl IngressLayer {
    /// The layer.
    pub const fn new() -> Self {
        Self { _private: () }
    }
}

impl<S> Layer<S> for IngressLayer {
    type Service = Ingress<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Ingress { inner }
    }
}

// === Ingress ===

/// Middleware for the edge of a stack. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Ingress<S> {
    inner: S,
}

impl<S> Ingress<S> {
    /// Wraps `inner`.
    pub const fn new(inner: S) -> Self {
        Self { inner }
    }

    /// An [`IngressLayer`].
    pub const fn layer() -> IngressLayer {
        IngressLayer::new()
    }

    frontdoor_core::define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Ingress<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>>,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
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

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if let Err(refusal) = check_head(&req) {
            return ResponseFuture::answer(refusal.response());
        }
        let content_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let http2 = req.version() == Version::HTTP_2;
        let mut req = req.map(|body| {
            if body.is_end_stream() {
                return Body::new(body);
            }
            let body = UploadBody::new(body).content_length(content_length);
            if http2 {
                Body::new(body.message_end(EndStream))
            } else {
                Body::new(body)
            }
        });
        hop_by_hop::strip_nominated(req.headers_mut());
        ResponseFuture::inner(self.inner.call(req))
    }
}

// === ResponseFuture ===

/// Response future of [`Ingress`]: the inner service's response, or the refusal.
pub type ResponseFuture<F> = frontdoor_core::InnerOrAnswer<F>;

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::util::BoxCloneSyncService;

    use super::*;

    #[test]
    fn public_types_are_send_sync_clone() {
        fn send_sync_clone<T: Send + Sync + Clone>() {}
        fn send<T: Send>() {}
        send_sync_clone::<IngressLayer>();
        send_sync_clone::<Ingress<BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>>>(
        );
        send::<ResponseFuture<std::future::Ready<Result<Response<Body>, Infallible>>>>();
    }
}
