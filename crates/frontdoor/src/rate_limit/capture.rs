//! [`CaptureKeyLayer`]: records a `header:NAME` limit's header as the client sent
//! it, for a limiter placed after layers that may change the header.

use std::task::{Context, Poll};

use http::{HeaderName, Request};
use tower::{Layer, Service};

use super::key::CapturedHeader;

/// Records the header a [`Key::Header`](super::Key::Header) limit counts per, as the
/// request carries it here, so a [`RateLimit`](super::RateLimit) further in counts the
/// client's value even when a layer between them rewrote or removed the header (a
/// route's cleanup rules). Made by [`RateLimitLayer::capture_key`](super::RateLimitLayer::capture_key).
#[derive(Clone, Debug)]
pub struct CaptureKeyLayer {
    name: HeaderName,
}

impl CaptureKeyLayer {
    pub(super) const fn new(name: HeaderName) -> Self {
        Self { name }
    }
}

impl<S> Layer<S> for CaptureKeyLayer {
    type Service = CaptureKey<S>;

    fn layer(&self, inner: S) -> CaptureKey<S> {
        CaptureKey {
            inner,
            name: self.name.clone(),
        }
    }
}

/// The service of [`CaptureKeyLayer`]; ready when its inner service is.
#[derive(Clone, Debug)]
pub struct CaptureKey<S> {
    inner: S,
    name: HeaderName,
}

impl<S> CaptureKey<S> {
    frontdoor_core::define_inner_service_accessors!();
}

impl<S, B> Service<Request<B>> for CaptureKey<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> S::Future {
        let value = req.headers().get(&self.name).cloned();
        req.extensions_mut().insert(CapturedHeader(value));
        self.inner.call(req)
    }
}
