//! The router's response future.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use frontdoor_core::Body;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::util::Oneshot;

use super::RouteService;

pin_project! {
    /// Response future of [`Router`](super::Router): the selected route's call, or an
    /// immediate answer (400 for a request the router cannot match on).
    pub struct ResponseFuture {
        #[pin]
        inner: Inner,
    }
}

pin_project! {
    #[project = InnerProj]
    enum Inner {
        Call { #[pin] fut: Oneshot<RouteService, Request<Body>> },
        Ready { res: Option<Response<Body>> },
    }
}

impl ResponseFuture {
    pub(crate) fn call(fut: Oneshot<RouteService, Request<Body>>) -> Self {
        Self {
            inner: Inner::Call { fut },
        }
    }

    pub(crate) fn ready(res: Response<Body>) -> Self {
        Self {
            inner: Inner::Ready { res: Some(res) },
        }
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.project() {
            InnerProj::Call { fut } => fut.poll(cx),
            InnerProj::Ready { res } => match res.take() {
                Some(res) => Poll::Ready(Ok(res)),
                None => Poll::Pending,
            },
        }
    }
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
