//! [`Relocate`]: the service.

use std::{
    fmt,
    task::{Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::{text_response, Body, BoxError, Error, ErrorKind};
use http::{header::ACCEPT_ENCODING, request, Request, Response, StatusCode};
use http_body::Body as _;
use tower_layer::Layer;
use tower_service::Service;

use super::{
    builder::RelocateLayer,
    future::{request_body, streams_at_once, ResponseFuture},
    plan::{Ctx, UnknownCoding},
};
use crate::{
    body::{Prefetch, Prefetched},
    coding::SUPPORTED,
    headers::request::{destination, if_tagged_lists, referer_and_origin},
    Profile,
};

/// Middleware that relocates requests to an upstream root and responses back to the
/// public one. See the [module docs](crate::layer).
///
/// Readiness: when a request body is to be rewritten, the ready inner service is
/// taken (and a clone left in its place) so that it is called only once the body's
/// first bytes have decided its `Content-Length`; this is why `S: Clone`.
pub struct Relocate<S> {
    inner: S,
    layer: RelocateLayer,
}

impl<S> Relocate<S> {
    /// Wraps `inner` with `layer`'s configuration.
    pub const fn new(inner: S, layer: RelocateLayer) -> Self {
        Self { inner, layer }
    }

    /// A [`RelocateLayer`] for `profile`.
    pub fn layer(profile: Profile) -> RelocateLayer {
        RelocateLayer::new(profile)
    }

    frontdoor_core::define_inner_service_accessors!();
}

impl<S: Clone> Clone for Relocate<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Relocate<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relocate")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

// === impl RelocateLayer ===

impl<S> Layer<S> for RelocateLayer {
    type Service = Relocate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Relocate::new(inner, self.clone())
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Relocate<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>> + Clone,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S, S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let config = &self.layer.config;
        let (mut parts, body) = req.into_parts();
        let body = Body::new(body);
        let ctx = if config.profile.is_active() {
            Ctx::new(config, &parts)
        } else {
            None
        };
        let Some(ctx) = ctx else {
            return ResponseFuture::inner(self.inner.call(Request::from_parts(parts, body)), None);
        };
        if let Err(e) = prepare(&ctx, &mut parts) {
            return ResponseFuture::answer(e.into_response());
        }
        match ctx.request_rewrite(&parts.headers, body.is_end_stream()) {
            Ok(Some(rewrite)) if streams_at_once(&rewrite, &ctx) => {
                let prefetched = Ok(Prefetched::Partial {
                    chunks: Vec::new(),
                    rest: body,
                });
                match request_body(parts, prefetched, rewrite, &ctx) {
                    Ok(req) => ResponseFuture::inner(self.inner.call(req), Some(ctx)),
                    Err(e) => ResponseFuture::answer(e.into_response()),
                }
            }
            Ok(Some(rewrite)) => {
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                let prefetch = Prefetch::new(body, config.buffer_limit);
                ResponseFuture::request(ready, parts, prefetch, rewrite, ctx)
            }
            Err(UnknownCoding) => {
                tracing::debug!(method = %parts.method, "request body in an unknown coding: 415");
                let mut res = text_response(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "request body in an unsupported content coding",
                );
                res.headers_mut().insert(ACCEPT_ENCODING, SUPPORTED);
                ResponseFuture::answer(res)
            }
            Ok(None) => {
                let fut = self.inner.call(Request::from_parts(parts, body));
                ResponseFuture::inner(fut, Some(ctx))
            }
        }
    }
}

/// The request headers: `Referer`/`Origin` (when on), `Destination` and `If` (DAV).
/// `Accept-Encoding` goes on as the client sent it: a coded answer is decoded for
/// its rewrite.
fn prepare(ctx: &Ctx, parts: &mut request::Parts) -> Result<(), Error> {
    let headers = &mut parts.headers;
    if ctx.config.map_referer {
        referer_and_origin(headers, &ctx.relocation);
    }
    if ctx.config.profile.is_dav() {
        destination(headers, &ctx.relocation).map_err(|refusal| {
            let kind = if refusal.status == StatusCode::BAD_GATEWAY {
                ErrorKind::BadGateway
            } else {
                ErrorKind::BadRequest
            };
            tracing::debug!(error = %refusal.error, status = %refusal.status, "request refused by relocation");
            Error::new(kind, refusal.error.to_string())
        })?;
        if_tagged_lists(headers, &ctx.relocation);
    }
    Ok(())
}
