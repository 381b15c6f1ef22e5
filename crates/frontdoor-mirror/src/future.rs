//! The primary's response future: reports the response head (or failure) to the
//! mirror's task and wraps the body in [`CaptureBody`].

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};

use http::Response;
use pin_project_lite::pin_project;

use crate::body::{CaptureBody, Reporter};

pin_project! {
    /// Response future for [`Mirror`](crate::Mirror).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        reporter: Option<Reporter>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) const fn new(inner: F, reporter: Option<Reporter>) -> Self {
        Self { inner, reporter }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("mirrored", &self.reporter.is_some())
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<CaptureBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = ready!(this.inner.poll(cx));
        let reporter = this.reporter.take();
        Poll::Ready(match res {
            Ok(res) => {
                let (mut parts, body) = res.into_parts();
                let capture = reporter.and_then(|r| r.head(&parts));
                if capture.is_some() {
                    // The body is captured for the comparison: never spliced past it.
                    parts
                        .extensions
                        .remove::<frontdoor_core::splice::SpliceOffer>();
                }
                Ok(Response::from_parts(parts, CaptureBody::new(body, capture)))
            }
            Err(e) => {
                if let Some(r) = reporter {
                    r.failed();
                }
                Err(e)
            }
        })
    }
}
