//! The upstream response body as sent downstream: streamed frame by frame, with an
//! idle timeout, its failures typed as [`ProxyError`].

use std::{
    future::Future as _,
    pin::Pin,
    task::{ready, Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use frontdoor_core::BoxError;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{sleep, Instant, Sleep};

use crate::{ProxyError, ProxyErrorKind};

pin_project! {
    /// Wraps hyper's `Incoming` or the direct client's body: forwards frames (data and
    /// trailers) as they come, fails with [`ProxyErrorKind::BodyTimeout`] when no frame arrives within `idle`,
    /// and with [`ProxyErrorKind::Body`] when the upstream connection fails. An error
    /// frame makes hyper's server abort the downstream message (HTTP/1: close the
    /// connection; HTTP/2: reset the stream).
    pub(crate) struct UpstreamBody<B> {
        #[pin]
        inner: B,
        idle: Option<Duration>,
        #[pin]
        timer: Option<Sleep>,
    }
}

impl<B> UpstreamBody<B> {
    pub(crate) fn new(inner: B, idle: Option<Duration>) -> Self {
        Self {
            inner,
            idle,
            timer: None,
        }
    }
}

impl<B> http_body::Body for UpstreamBody<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = ProxyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ProxyError>>> {
        let mut this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(idle), Some(timer)) = (*this.idle, this.timer.as_mut().as_pin_mut()) {
                    timer.reset(Instant::now() + idle);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                // A failure already typed (a splice's idle timeout) keeps its kind.
                let e = match e.into().downcast::<ProxyError>() {
                    Ok(typed) => *typed,
                    Err(e) => ProxyError::with_source(ProxyErrorKind::Body, e),
                };
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let Some(idle) = *this.idle else {
                    return Poll::Pending;
                };
                if this.timer.is_none() {
                    this.timer.set(Some(sleep(idle)));
                }
                if let Some(timer) = this.timer.as_pin_mut() {
                    ready!(timer.poll(cx));
                    return Poll::Ready(Some(Err(ProxyError::new(ProxyErrorKind::BodyTimeout))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
