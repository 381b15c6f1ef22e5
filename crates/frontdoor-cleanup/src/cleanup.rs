//! Middleware that rewrites requests with a [`Rules`] set before calling the inner
//! service (WFront's `as_middleware_for`, and a route filter in the router).
//!
//! The response and the error type are the inner service's, untouched: a rule never
//! rejects a request (invalid results are skipped with a warning), so the layer needs
//! no response future of its own.
//!
//! # Example
//!
//! Around any service; as a per-route filter of frontdoor's router, the same layer
//! goes in `Filter::new(CleanupLayer::new(rules))`.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor_cleanup::{CleanupLayer, Rules};
//! use frontdoor_core::{Body, BoxError};
//! use http::{HeaderName, Request, Response};
//! use tower::{Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! // An echo app that reports the `x-mode` header it received.
//! let app = tower::service_fn(|req: Request<Body>| async move {
//!     let mut res = Response::new(Body::empty());
//!     if let Some(mode) = req.headers().get("x-mode") {
//!         res.headers_mut().insert("x-seen-mode", mode.clone());
//!     }
//!     Ok::<_, Infallible>(res)
//! });
//! let rules = Rules::builder()
//!     .set(HeaderName::from_static("x-mode"), "wap")
//!     .build()?;
//! let svc = CleanupLayer::new(rules).layer(app);
//!
//! let res = svc.oneshot(Request::new(Body::empty())).await?;
//! assert_eq!(res.headers()["x-seen-mode"], "wap");
//! # Ok(())
//! # }
//! ```

use std::task::{Context, Poll};

use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use crate::rules::Rules;

// === CleanupLayer ===

/// Applies [`Cleanup`] to services. See the [module docs](self).
#[must_use]
#[derive(Clone, Debug, Default)]
pub struct CleanupLayer {
    rules: Rules,
}

impl CleanupLayer {
    /// A layer running `rules` on every request.
    pub const fn new(rules: Rules) -> Self {
        Self { rules }
    }

    /// The rule set.
    #[must_use]
    pub const fn rules(&self) -> &Rules {
        &self.rules
    }
}

impl<S> Layer<S> for CleanupLayer {
    type Service = Cleanup<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Cleanup {
            inner,
            rules: self.rules.clone(),
        }
    }
}

// === Cleanup ===

/// Rewrites each request with a [`Rules`] set, then calls the inner service. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct Cleanup<S> {
    inner: S,
    rules: Rules,
}

impl<S> Cleanup<S> {
    /// Wraps `inner`.
    pub const fn new(inner: S, rules: Rules) -> Self {
        Self { inner, rules }
    }

    /// A [`CleanupLayer`] with these rules.
    pub const fn layer(rules: Rules) -> CleanupLayer {
        CleanupLayer::new(rules)
    }

    /// The rule set.
    pub const fn rules(&self) -> &Rules {
        &self.rules
    }

    frontdoor_core::define_inner_service_accessors!();
}

impl<S, B> Service<Request<B>> for Cleanup<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        self.rules.apply(&mut req);
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use frontdoor_core::Body;
    use http::Response;
    use tower::util::BoxCloneSyncService;

    use super::*;

    #[test]
    fn public_types_are_send_sync_clone() {
        fn send_sync_clone<T: Send + Sync + Clone>() {}
        send_sync_clone::<CleanupLayer>();
        send_sync_clone::<Rules>();
        send_sync_clone::<Cleanup<BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>>>(
        );
    }
}
