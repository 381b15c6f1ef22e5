//! [`ResponseFuture`]: the future of [`Mapper`](super::Mapper).

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};

use frontdoor_core::Body;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::util::Oneshot;
use tower_service::Service;

use super::builder::Fallback;
use crate::ProxyError;

pin_project! {
    /// Response future of [`Mapper`](super::Mapper): the chosen target's service
    /// `S` (waited ready, then called; `F` is its future), the fallback, or an
    /// answer known at once (a refused target).
    pub struct ResponseFuture<S, F> {
        #[pin]
        state: State<S, F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, F> {
        Ready { svc: S, req: Option<Request<Body>> },
        Call { #[pin] fut: F },
        Fallback { #[pin] fut: Oneshot<Fallback, Request<Body>> },
        Done { result: Option<Result<Response<Body>, ProxyError>> },
    }
}

impl<S, F> ResponseFuture<S, F> {
    pub(super) const fn target(svc: S, req: Request<Body>) -> Self {
        Self {
            state: State::Ready {
                svc,
                req: Some(req),
            },
        }
    }

    pub(super) const fn fallback(fut: Oneshot<Fallback, Request<Body>>) -> Self {
        Self {
            state: State::Fallback { fut },
        }
    }

    pub(super) const fn error(err: ProxyError) -> Self {
        Self {
            state: State::Done {
                result: Some(Err(err)),
            },
        }
    }
}

impl<S, F> Future for ResponseFuture<S, F>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = ProxyError, Future = F>,
    F: Future<Output = Result<Response<Body>, ProxyError>>,
{
    type Output = Result<Response<Body>, ProxyError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let fut = match self.as_mut().project().state.project() {
                StateProj::Ready { svc, req } => {
                    ready!(svc.poll_ready(cx))?;
                    match req.take() {
                        Some(req) => svc.call(req),
                        None => return Poll::Pending,
                    }
                }
                StateProj::Call { fut } => return fut.poll(cx),
                StateProj::Fallback { fut } => {
                    return fut.poll(cx).map(|r| Ok(r.unwrap_or_else(|e| match e {})));
                }
                StateProj::Done { result } => {
                    return Poll::Ready(result.take().unwrap_or_else(|| {
                        Err(ProxyError::new(crate::ProxyErrorKind::InvalidRequest))
                    }));
                }
            };
            self.as_mut().project().state.set(State::Call { fut });
        }
    }
}

impl<S, F> fmt::Debug for ResponseFuture<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
