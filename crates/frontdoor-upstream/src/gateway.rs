//! Middleware that answers upstream failures with gateway responses (rouille's
//! `full_proxy`, with the status table fixed).
//!
//! [`GatewayError`] wraps any service whose error converts into [`BoxError`] and turns
//! each error into a short `text/plain` answer, so its own `Error` is [`Infallible`].
//! The inner service may answer any body (`Response<B>` for any
//! `http_body::Body<Data = Bytes>` with a boxable error, such as the mirror layer's
//! `CaptureBody`); the layer answers [`Body`], which it does not box twice:
//!
//! | error | status |
//! |---|---|
//! | refused, reset, DNS failure, unparseable upstream answer, unrequested `101` | 502 |
//! | connect timeout, response-head timeout | 504 |
//! | no upstream available, the upstream's connection cap reached, a request shed by tower's `LoadShed` (over a `ConcurrencyLimit`) | 503, with `Retry-After: 1` |
//! | the client's body crossed its size cap | 413 |
//! | the client's body failed, or the request cannot be forwarded | 400 |
//! | anything else (walked with [`ErrorKind::of`]) | its kind's status, else 500 |
//!
//! The body names the status only (`Bad Gateway`); the error itself is logged at
//! `debug`, never echoed. A failure *after* the response head cannot become a status
//! any more: the upstream body ends with an error and the server aborts the downstream
//! message (HTTP/1: connection closed before the message completes; HTTP/2: stream
//! reset).
//!
//! To see each error before it is answered (to count errors by kind for metrics, say),
//! give the layer a hook with [`GatewayErrorLayer::on_error`]: any
//! `Fn(&GatewayFailure<'_>)`, or a type implementing [`OnGatewayError`].
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
    any::type_name,
    convert::Infallible,
    error::Error as StdError,
    fmt,
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::{text_response, Body, BoxError, ErrorKind};
use http::{header, HeaderValue, Response, StatusCode};
use pin_project_lite::pin_project;
use tower::load_shed::error::Overloaded;
use tower_layer::Layer;
use tower_service::Service;

use crate::{error::find, ProxyError};

/// The status an error is answered with, per the table in the [module docs](self).
#[must_use]
pub fn error_kind_of(err: &(dyn StdError + 'static)) -> ErrorKind {
    if let Some(p) = find::<ProxyError>(err) {
        p.error_kind()
    } else if find::<Overloaded>(err).is_some() {
        ErrorKind::ServiceUnavailable
    } else {
        ErrorKind::of(err)
    }
}

/// The gateway answer for `err`: its status and the status's canonical reason as a
/// `text/plain` body.
#[must_use]
pub fn gateway_response(err: &(dyn StdError + 'static)) -> Response<Body> {
    GatewayFailure::new(err).response()
}

// === GatewayFailure ===

/// An error that [`GatewayError`] is about to answer: what an [`OnGatewayError`] hook
/// sees. See the [module docs](self).
#[derive(Clone, Copy, Debug)]
pub struct GatewayFailure<'a> {
    error: &'a (dyn StdError + 'static),
    kind: ErrorKind,
}

impl<'a> GatewayFailure<'a> {
    fn new(error: &'a (dyn StdError + 'static)) -> Self {
        Self {
            error,
            kind: error_kind_of(error),
        }
    }

    /// The error as the inner service returned it (boxed into a [`BoxError`]).
    #[must_use]
    pub const fn error(&self) -> &'a (dyn StdError + 'static) {
        self.error
    }

    /// The [`ProxyError`] in the error's source chain, if there is one: its
    /// [`kind`](ProxyError::kind) says what failed (`connect`, `head_timeout`, ...).
    #[must_use]
    pub fn proxy_error(&self) -> Option<&'a ProxyError> {
        find::<ProxyError>(self.error)
    }

    /// The kind the error is answered as (see [`error_kind_of`]).
    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The status of the answer.
    #[must_use]
    pub const fn status(&self) -> StatusCode {
        self.kind.status()
    }

    fn response(&self) -> Response<Body> {
        let status = self.status();
        let mut res = text_response(status, status.canonical_reason().unwrap_or("Error"));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Overload and unavailability pass: ask well-behaved clients to come back.
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
    }
}

// === OnGatewayError ===

/// A hook that sees every error [`GatewayError`] answers, before it becomes the
/// answer: for metrics, or logging beyond the layer's own `debug` event. See
/// [`GatewayErrorLayer::on_error`].
///
/// Implemented by [`DefaultOnGatewayError`] (does nothing) and by every
/// `Fn(&GatewayFailure<'_>)` closure. The hook is cloned into each response future,
/// so share state through `Arc`s or atomics.
pub trait OnGatewayError {
    /// Called once for each error, before it is answered with `failure.status()`.
    fn on_error(&self, failure: &GatewayFailure<'_>);
}

/// The default [`OnGatewayError`]: does nothing (the layer still logs each error at
/// `debug`).
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct DefaultOnGatewayError;

impl OnGatewayError for DefaultOnGatewayError {
    #[inline]
    fn on_error(&self, _failure: &GatewayFailure<'_>) {}
}

impl<F> OnGatewayError for F
where
    F: Fn(&GatewayFailure<'_>),
{
    fn on_error(&self, failure: &GatewayFailure<'_>) {
        self(failure);
    }
}

/// `Debug` for a hook: its type name (closures have no `Debug`).
struct HookName<H>(std::marker::PhantomData<fn() -> H>);

impl<H> fmt::Debug for HookName<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(type_name::<H>())
    }
}

const fn hook_name<H>() -> HookName<H> {
    HookName(std::marker::PhantomData)
}

// === GatewayErrorLayer ===

/// Layer applying [`GatewayError`]. See the [module docs](self).
///
/// `H` is the [`OnGatewayError`] hook, set with [`on_error`](Self::on_error).
#[derive(Clone, Copy, Default)]
#[must_use]
pub struct GatewayErrorLayer<H = DefaultOnGatewayError> {
    hook: H,
}

impl GatewayErrorLayer {
    /// The layer, with no hook.
    pub const fn new() -> Self {
        Self {
            hook: DefaultOnGatewayError,
        }
    }
}

impl<H> GatewayErrorLayer<H> {
    /// Calls `hook` with every error before it is answered (replacing any earlier
    /// hook). Default: [`DefaultOnGatewayError`], which does nothing.
    ///
    /// ```
    /// use std::{convert::Infallible, sync::{atomic::{AtomicUsize, Ordering}, Arc}};
    ///
    /// use frontdoor_core::Body;
    /// use frontdoor_upstream::{GatewayErrorLayer, GatewayFailure, ProxyError, ProxyErrorKind};
    /// use http::{Request, Response};
    /// use tower::{service_fn, ServiceBuilder, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), frontdoor_core::BoxError> {
    /// // Count connect failures, e.g. for a metric.
    /// let connect_failures = Arc::new(AtomicUsize::new(0));
    /// let counter = connect_failures.clone();
    /// let svc = ServiceBuilder::new()
    ///     .layer(GatewayErrorLayer::new().on_error(move |failure: &GatewayFailure<'_>| {
    ///         if failure.proxy_error().is_some_and(|e| e.kind() == ProxyErrorKind::Connect) {
    ///             counter.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     }))
    ///     .service(service_fn(|_: Request<Body>| async {
    ///         Err::<Response<Body>, _>(ProxyError::new(ProxyErrorKind::Connect))
    ///     }));
    /// let res = svc.oneshot(Request::new(Body::empty())).await.unwrap_or_else(|e: Infallible| match e {});
    /// assert_eq!(res.status(), 502);
    /// assert_eq!(connect_failures.load(Ordering::Relaxed), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_error<N: OnGatewayError>(self, hook: N) -> GatewayErrorLayer<N> {
        GatewayErrorLayer { hook }
    }
}

impl<H> fmt::Debug for GatewayErrorLayer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayErrorLayer")
            .field("hook", &hook_name::<H>())
            .finish()
    }
}

impl<S, H: Clone> Layer<S> for GatewayErrorLayer<H> {
    type Service = GatewayError<S, H>;

    fn layer(&self, inner: S) -> Self::Service {
        GatewayError {
            inner,
            hook: self.hook.clone(),
            ready_error: None,
        }
    }
}

// === GatewayError ===

/// Turns the inner service's errors into 502/503/504 answers. See the
/// [module docs](self).
///
/// A `poll_ready` error of the inner service is kept and answered on the next `call`,
/// so this service is always ready once the inner one has decided. `H` is the
/// [`OnGatewayError`] hook that sees each error first.
pub struct GatewayError<S, H = DefaultOnGatewayError> {
    inner: S,
    hook: H,
    ready_error: Option<BoxError>,
}

impl<S> GatewayError<S> {
    /// Wraps `inner`, with no hook.
    pub const fn new(inner: S) -> Self {
        Self {
            inner,
            hook: DefaultOnGatewayError,
            ready_error: None,
        }
    }

    /// The layer.
    pub const fn layer() -> GatewayErrorLayer {
        GatewayErrorLayer::new()
    }
}

impl<S, H> GatewayError<S, H> {
    /// Calls `hook` with every error before it is answered; see
    /// [`GatewayErrorLayer::on_error`].
    pub fn on_error<N: OnGatewayError>(self, hook: N) -> GatewayError<S, N> {
        GatewayError {
            inner: self.inner,
            hook,
            ready_error: self.ready_error,
        }
    }

    frontdoor_core::define_inner_service_accessors!();
}

impl<S: Clone, H: Clone> Clone for GatewayError<S, H> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            hook: self.hook.clone(),
            ready_error: None,
        }
    }
}

impl<S: fmt::Debug, H> fmt::Debug for GatewayError<S, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayError")
            .field("inner", &self.inner)
            .field("hook", &hook_name::<H>())
            .finish_non_exhaustive()
    }
}

impl<S, H, R, B> Service<R> for GatewayError<S, H>
where
    S: Service<R, Response = Response<B>>,
    S::Error: Into<BoxError>,
    H: OnGatewayError + Clone,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future, H>;

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
        let state = match self.ready_error.take() {
            Some(err) => State::Failed { err: Some(err) },
            None => State::Inner {
                fut: self.inner.call(req),
            },
        };
        ResponseFuture {
            state,
            hook: self.hook.clone(),
        }
    }
}

pin_project! {
    /// Response future of [`GatewayError`].
    pub struct ResponseFuture<F, H = DefaultOnGatewayError> {
        #[pin]
        state: State<F>,
        hook: H,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] fut: F },
        Failed { err: Option<BoxError> },
    }
}

impl<F, H> fmt::Debug for ResponseFuture<F, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("hook", &hook_name::<H>())
            .finish_non_exhaustive()
    }
}

impl<F, B, E, H> Future for ResponseFuture<F, H>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    H: OnGatewayError,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let err: BoxError = match this.state.project() {
            StateProj::Inner { fut } => match ready!(fut.poll(cx)) {
                // `Body::new` does not box a `Body` again.
                Ok(res) => return Poll::Ready(Ok(res.map(Body::new))),
                Err(e) => e.into(),
            },
            StateProj::Failed { err } => err
                .take()
                .unwrap_or_else(|| "polled after completion".into()),
        };
        let failure = GatewayFailure::new(&*err);
        this.hook.on_error(&failure);
        let res = failure.response();
        tracing::debug!(error = %err, status = res.status().as_u16(), "upstream error answered");
        Poll::Ready(Ok(res))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    use http::Request;
    use http_body_util::BodyExt;
    use tower::{service_fn, ServiceExt};

    use super::*;
    use crate::ProxyErrorKind;

    #[test]
    fn public_types_are_send_sync_clone() {
        fn send_sync_clone<T: Send + Sync + Clone>() {}
        fn send<T: Send>() {}
        send_sync_clone::<GatewayErrorLayer>();
        send_sync_clone::<GatewayError<crate::Upstream>>();
        let hook = |_: &GatewayFailure<'_>| {};
        fn same<T: Send + Sync + Clone>(_: &T) {}
        same(&GatewayErrorLayer::new().on_error(hook));
        same(&GatewayError::new(crate::Upstream::new("http://h").unwrap()).on_error(hook));
        send::<ResponseFuture<crate::ResponseFuture>>();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_hook_sees_each_error_before_it_is_answered() {
        let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let log = seen.clone();
        let layer = GatewayErrorLayer::new().on_error(move |f: &GatewayFailure<'_>| {
            let kind = f.proxy_error().map(ProxyError::kind);
            log.lock()
                .push((kind, f.kind(), f.status(), f.error().to_string()));
        });
        let svc = layer.layer(service_fn(|req: Request<Body>| async move {
            match req.uri().path() {
                "/ok" => Ok(Response::new(Body::empty())),
                "/timeout" => Err(BoxError::from(ProxyError::new(ProxyErrorKind::HeadTimeout))),
                _ => Err(BoxError::from("boom")),
            }
        }));
        for (path, status) in [("/ok", 200), ("/timeout", 504), ("/other", 500)] {
            let req = Request::get(path).body(Body::empty()).unwrap();
            let res = svc.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), status, "{path}");
        }
        let seen = seen.lock();
        assert_eq!(
            *seen,
            [
                (
                    Some(ProxyErrorKind::HeadTimeout),
                    ErrorKind::GatewayTimeout,
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream response head timed out".to_owned()
                ),
                (
                    None,
                    ErrorKind::Internal,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "boom".to_owned()
                ),
            ]
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_hook_sees_poll_ready_errors_too() {
        #[derive(Clone)]
        struct NeverReady;
        impl Service<Request<Body>> for NeverReady {
            type Response = Response<Body>;
            type Error = ProxyError;
            type Future = std::future::Ready<Result<Response<Body>, ProxyError>>;
            fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
                Poll::Ready(Err(ProxyError::new(ProxyErrorKind::Unavailable)))
            }
            fn call(&mut self, _: Request<Body>) -> Self::Future {
                unreachable!("not ready")
            }
        }
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let svc = GatewayError::new(NeverReady).on_error(move |f: &GatewayFailure<'_>| {
            assert_eq!(f.status(), 503);
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let res = svc.oneshot(Request::new(Body::empty())).await.unwrap();
        assert_eq!(res.status(), 503);
        assert_eq!(count.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_request_shed_over_a_concurrency_limit_is_a_503_with_retry_after() {
        let gate = Arc::new(tokio::sync::Notify::new());
        let held = gate.clone();
        let inner = service_fn(move |_: Request<Body>| {
            let held = held.clone();
            async move {
                held.notified().await;
                Ok::<_, ProxyError>(Response::new(Body::empty()))
            }
        });
        let svc = tower::ServiceBuilder::new()
            .layer(GatewayErrorLayer::new())
            .load_shed()
            .concurrency_limit(1)
            .service(inner);
        let first = tokio::spawn(svc.clone().oneshot(Request::new(Body::empty())));
        tokio::task::yield_now().await;
        let res = svc
            .clone()
            .oneshot(Request::new(Body::empty()))
            .await
            .unwrap();
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()["retry-after"], "1");
        gate.notify_one();
        assert_eq!(first.await.unwrap().unwrap().status(), 200);
    }

    #[test]
    fn debug_names_the_hook() {
        let layer = GatewayErrorLayer::new();
        assert!(
            format!("{layer:?}").contains("DefaultOnGatewayError"),
            "{layer:?}"
        );
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
            (
                ProxyErrorKind::ConnectionLimit,
                503,
                "Service Unavailable\n",
            ),
            (
                ProxyErrorKind::RequestBodyTooLarge,
                413,
                "Payload Too Large\n",
            ),
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
