//! Middleware that answers upstream failures with gateway responses (rouille's
//! `full_proxy`, with the status table fixed).
//!
//! [`GatewayError`] wraps any service whose error converts into [`BoxError`] and turns
//! each error into a short `text/plain` answer, so its own `Error` is [`Infallible`]:
//!
//! | error | status |
//! |---|---|
//! | refused, reset, DNS failure, unparseable upstream answer, unrequested `101` | 502 |
//! | connect timeout, response-head timeout | 504 |
//! | no upstream available | 503 |
//! | the client's body failed, or the request cannot be forwarded | 400 |
//! | anything else (walked with [`ErrorKind::of`]) | its kind's status, else 500 |
//!
//! The body names the status only (`Bad Gateway`); the error itself is logged at
//! `debug`, never echoed. A failure *after* the response head cannot become a status
//! any more: the upstream body ends with an error and the server aborts the downstream
//! message (HTTP/1: connection closed before the message completes; HTTP/2: stream
//! reset).
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use frontdoor_core::Body;
//! use frontdoor_upstream::{GatewayErrorLayer, ProxyError, ProxyErrorKind};
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor_core::BoxError> {
//! let svc = ServiceBuilder::new()
//!     .layer(GatewayErrorLayer::new())
//!     .service(service_fn(|_: Request<Body>| async {
//!         Err::<Response<Body>, _>(ProxyError::new(ProxyErrorKind::HeadTimeout))
//!     }));
//! let res = svc.oneshot(Request::new(Body::empty())).await.unwrap_or_else(|e: Infallible| match e {});
//! assert_eq!(res.status(), 504);
//! # Ok(())
//! # }
//! ```

use std::{
    convert::Infallible,
    error::Error as StdError,
    fmt,
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};

use frontdoor_core::{text_response, Body, BoxError, ErrorKind};
use http::Response;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::{error::find, ProxyError};

/// The status an error is answered with, per the table in the [module docs](self).
#[must_use]
pub fn error_kind_of(err: &(dyn StdError + 'static)) -> ErrorKind {
    match find::<ProxyError>(err) {
        Some(p) => p.error_kind(),
        None => ErrorKind::of(err),
    }
}

/// The gateway answer for `err`: its status and the status's canonical reason as a
/// `text/plain` body.
#[must_use]
pub fn gateway_response(err: &(dyn StdError + 'static)) -> Response<Body> {
    let status = error_kind_of(err).status();
    text_response(status, status.canonical_reason().unwrap_or("Error"))
}

// === GatewayErrorLayer ===

/// Layer applying [`GatewayError`]. See the [module docs](self).
#[derive(Clone, Copy, Debug, Default)]
#[must_use]
pub struct GatewayErrorLayer {
    _priv: (),
}

impl GatewayErrorLayer {
    /// The layer.
    pub const fn new() -> Self {
        Self { _priv: () }
    }
}

impl<S> Layer<S> for GatewayErrorLayer {
    type Service = GatewayError<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GatewayError::new(inner)
    }
}

// === GatewayError ===

/// Turns the inner service's errors into 502/503/504 answers. See the
/// [module docs](self).
///
/// A `poll_ready` error of the inner service is kept and answered on the next `call`,
/// so this service is always ready once the inner one has decided.
pub struct GatewayError<S> {
    inner: S,
    ready_error: Option<BoxError>,
}

impl<S> GatewayError<S> {
    /// Wraps `inner`.
    pub const fn new(inner: S) -> Self {
        Self {
            inner,
            ready_error: None,
        }
    }

    /// The layer.
    pub const fn layer() -> GatewayErrorLayer {
        GatewayErrorLayer::new()
    }

    /// The inner service.
    pub const fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone> Clone for GatewayError<S> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone())
    }
}

impl<S: fmt::Debug> fmt::Debug for GatewayError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayError")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, R> Service<R> for GatewayError<S>
where
    S: Service<R, Response = Response<Body>>,
    S::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.ready_error.is_none() {
            if let Err(e) = ready!(self.inner.poll_ready(cx)) {
                self.ready_error = Some(e.into());
            }
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: R) -> Self::Future {
        match self.ready_error.take() {
            Some(err) => ResponseFuture {
                state: State::Failed { err: Some(err) },
            },
            None => ResponseFuture {
                state: State::Inner {
                    fut: self.inner.call(req),
                },
            },
        }
    }
}

pin_project! {
    /// Response future of [`GatewayError`].
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] fut: F },
        Failed { err: Option<BoxError> },
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let err: BoxError = match self.project().state.project() {
            StateProj::Inner { fut } => match ready!(fut.poll(cx)) {
                Ok(res) => return Poll::Ready(Ok(res)),
                Err(e) => e.into(),
            },
            StateProj::Failed { err } => err
                .take()
                .unwrap_or_else(|| "polled after completion".into()),
        };
        let res = gateway_response(&*err);
        tracing::debug!(error = %err, status = res.status().as_u16(), "upstream error answered");
        Poll::Ready(Ok(res))
    }
}

#[cfg(test)]
mod tests {
    use http::Request;
    use http_body_util::BodyExt;
    use tower::{service_fn, ServiceExt};

    use super::*;
    use crate::ProxyErrorKind;

    #[test]
    fn public_types_are_send_sync_clone() {
        fn send_sync_clone<T: Send + Sync + Clone>() {}
        send_sync_clone::<GatewayErrorLayer>();
        send_sync_clone::<GatewayError<crate::Upstream>>();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn errors_become_short_text_answers() {
        let table = [
            (ProxyErrorKind::Connect, 502, "Bad Gateway\n"),
            (ProxyErrorKind::Dns, 502, "Bad Gateway\n"),
            (ProxyErrorKind::Protocol, 502, "Bad Gateway\n"),
            (ProxyErrorKind::ConnectTimeout, 504, "Gateway Timeout\n"),
            (ProxyErrorKind::HeadTimeout, 504, "Gateway Timeout\n"),
            (ProxyErrorKind::Unavailable, 503, "Service Unavailable\n"),
        ];
        for (kind, status, body) in table {
            let svc = GatewayError::new(service_fn(move |_: Request<Body>| async move {
                Err::<Response<Body>, _>(ProxyError::new(kind))
            }));
            let res = svc.oneshot(Request::new(Body::empty())).await.unwrap();
            assert_eq!(res.status(), status);
            assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
            let got = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(got, body.as_bytes());
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn foreign_errors_fall_back_to_the_core_table() {
        let svc = GatewayError::new(service_fn(|_: Request<Body>| async {
            Err::<Response<Body>, BoxError>("boom".into())
        }));
        let res = svc.oneshot(Request::new(Body::empty())).await.unwrap();
        assert_eq!(res.status(), 500);
    }
}
