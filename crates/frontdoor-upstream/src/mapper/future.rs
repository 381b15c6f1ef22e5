//! [`ResponseFuture`]: the future of [`Mapper`](super::Mapper).

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use frontdoor_core::Body;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::{util::Oneshot, ServiceExt as _};
use tower_service::Service;

use super::builder::Fallback;
use crate::ProxyError;

pin_project! {
    /// Response future of [`Mapper`](super::Mapper): the chosen target's service
    /// `S` (waited ready, then called), the fallback, or an answer known at once (a
    /// refused target).
    pub struct ResponseFuture<S: Service<Request<Body>>> {
        #[pin]
        state: State<S>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S: Service<Request<Body>>> {
        Target { #[pin] fut: Oneshot<S, Request<Body>> },
        Fallback { #[pin] fut: Oneshot<Fallback, Request<Body>> },
        Done { result: Option<Result<Response<Body>, ProxyError>> },
    }
}

impl<S: Service<Request<Body>>> ResponseFuture<S> {
    pub(super) fn target(svc: S, req: Request<Body>) -> Self {
        Self {
            state: State::Target {
                fut: svc.oneshot(req),
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

impl<S> Future for ResponseFuture<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = ProxyError>,
{
    type Output = Result<Response<Body>, ProxyError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Target { fut } => fut.poll(cx),
            StateProj::Fallback { fut } => {
                fut.poll(cx).map(|r| Ok(r.unwrap_or_else(|e| match e {})))
            }
            StateProj::Done { result } => Poll::Ready(
                result
                    .take()
                    .unwrap_or_else(|| Err(ProxyError::new(crate::ProxyErrorKind::InvalidRequest))),
            ),
        }
    }
}

impl<S: Service<Request<Body>>> fmt::Debug for ResponseFuture<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
