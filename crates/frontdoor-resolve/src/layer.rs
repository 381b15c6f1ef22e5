//! Middleware that resolves each request once and stamps the verdict into extensions.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::{
    canonicalize_with,
    proto::{remove_forwarding_headers, with_path},
    Body, BoxError, CanonicalOptions, Error, InnerOrAnswer, OriginalUri, PeerTrust,
};
use http::{request::Parts, Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tracing::Span;

use crate::{
    destination,
    direct::DirectResolver,
    resolver::{untrusted, Resolver},
};

// === ResolveLayer ===

/// Applies [`Resolve`] to a service. See the [crate docs](crate).
#[must_use]
pub struct ResolveLayer<R> {
    resolver: Arc<R>,
    canonical: CanonicalOptions,
    strip_untrusted: bool,
}

impl ResolveLayer<DirectResolver> {
    /// A layer with the [`DirectResolver`] and no server name.
    pub fn direct() -> Self {
        Self::new(DirectResolver::new())
    }
}

impl Default for ResolveLayer<DirectResolver> {
    fn default() -> Self {
        Self::direct()
    }
}

impl<R> ResolveLayer<R> {
    /// A layer running `resolver` once per request.
    pub fn new(resolver: R) -> Self {
        Self {
            resolver: Arc::new(resolver),
            canonical: CanonicalOptions::new(),
            strip_untrusted: false,
        }
    }

    /// The options of the path canonicalisation. Default: [`CanonicalOptions::new`]
    /// (keep `%2F` opaque, merge `//`). Their escaped-slash policy also holds for the
    /// path of a WebDAV `Destination` (see the [crate docs](crate#the-path)).
    pub const fn canonical_options(mut self, options: CanonicalOptions) -> Self {
        self.canonical = options;
        self
    }

    /// Whether every forwarding header
    /// ([`FORWARDING_HEADERS`](frontdoor_core::proto::FORWARDING_HEADERS): `Forwarded`,
    /// `X-Forwarded-*`, `X-Real-IP` and the other client-address, original-URL and
    /// method-override headers) is removed from requests whose peer is not trusted (the stamped [`PeerTrust`] says so, or
    /// none was stamped), so nothing further in can mistake them for vetted data.
    /// Default: `false` (ignored but left in place).
    pub const fn strip_untrusted_forwarded(mut self, strip: bool) -> Self {
        self.strip_untrusted = strip;
        self
    }

    /// The resolver.
    #[must_use]
    pub fn resolver(&self) -> &R {
        &self.resolver
    }
}

impl<R> Clone for ResolveLayer<R> {
    fn clone(&self) -> Self {
        Self {
            resolver: Arc::clone(&self.resolver),
            canonical: self.canonical,
            strip_untrusted: self.strip_untrusted,
        }
    }
}

impl<R: fmt::Debug> fmt::Debug for ResolveLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolveLayer")
            .field("resolver", &self.resolver)
            .field("canonical", &self.canonical)
            .field("strip_untrusted", &self.strip_untrusted)
            .finish()
    }
}

impl<S, R> Layer<S> for ResolveLayer<R> {
    type Service = Resolve<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Resolve {
            inner,
            layer: self.clone(),
        }
    }
}

// === Resolve ===

/// Middleware that resolves each request's `host:port:path` once, before anything
/// matches. See the [crate docs](crate).
pub struct Resolve<S, R> {
    inner: S,
    layer: ResolveLayer<R>,
}

impl<S, R> Resolve<S, R> {
    /// Wraps `inner` with `resolver` and default options.
    pub fn new(inner: S, resolver: R) -> Self {
        ResolveLayer::new(resolver).layer(inner)
    }

    /// A [`ResolveLayer`] with `resolver`.
    pub fn layer(resolver: R) -> ResolveLayer<R> {
        ResolveLayer::new(resolver)
    }

    frontdoor_core::define_inner_service_accessors!();
}

impl<S: Clone, R> Clone for Resolve<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, R: fmt::Debug> fmt::Debug for Resolve<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolve")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for Resolve<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: Resolver,
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
        let (mut parts, body) = req.into_parts();
        match stamp(&mut parts, &self.layer) {
            Ok(span) => {
                let fut = {
                    let _entered = span.enter();
                    self.inner.call(Request::from_parts(parts, body))
                };
                ResponseFuture {
                    inner: InnerOrAnswer::inner(fut),
                    span,
                }
            }
            Err(err) => {
                tracing::debug!(error = %err, uri = %parts.uri, "request rejected by resolver");
                ResponseFuture {
                    inner: InnerOrAnswer::answer(err.into_response()),
                    span: Span::none(),
                }
            }
        }
    }
}

/// Canonicalises the path, holds `Destination`'s path to the same policy, runs the
/// resolver and inserts the extensions.
fn stamp<R: Resolver>(parts: &mut Parts, layer: &ResolveLayer<R>) -> Result<Span, Error> {
    OriginalUri::insert_if_absent_parts(parts);
    // `OPTIONS *` has no path to canonicalise.
    if parts.uri.path() != "*" {
        let canonical = canonicalize_with(parts.uri.path(), layer.canonical)?;
        if let std::borrow::Cow::Owned(path) = canonical {
            parts.uri = with_path(&parts.uri, &path)?;
        }
    }
    destination::police(&mut parts.headers, layer.canonical)?;
    let resolution = layer.resolver.resolve(parts)?;
    let trust = resolution.trust.or_else(|| untrusted(parts));
    if layer.strip_untrusted && !trust.is_some_and(|t| t.peer_trusted) {
        remove_forwarding_headers(&mut parts.headers);
    }
    if let Some(trust) = trust {
        parts.extensions.insert::<PeerTrust>(trust);
    }
    let r = resolution.resolved.with_canonical(layer.canonical);
    let span = tracing::debug_span!(
        "resolve",
        host = %r.host,
        port = r.port,
        path = %r.path,
        source = r.source.as_str(),
    );
    parts.extensions.insert(r);
    Ok(span)
}

// === ResponseFuture ===

pin_project! {
    /// Response future of [`Resolve`]: the inner service's, polled inside the
    /// request's `resolve` span, or the resolver's refusal.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: InnerOrAnswer<F>,
        span: Span,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        this.inner.poll(cx)
    }
}
