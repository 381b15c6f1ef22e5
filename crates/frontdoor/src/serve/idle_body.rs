//! The request body as the service sees it: [`IdleBody`] (the body read timeout)
//! under http-body-util's [`Limited`] (the `max_request_body` cap).

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError, ErrorKind};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper::body::Incoming;
use pin_project_lite::pin_project;

pin_project! {
    /// A request body that fails when it delivers nothing for `timeout`.
    pub(super) struct IdleBody {
        #[pin]
        inner: Incoming,
        #[pin]
        sleep: tokio::time::Sleep,
        timeout: Duration,
        armed: bool,
    }
}

// === impl IdleBody ===

impl IdleBody {
    pub(super) fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            sleep: tokio::time::sleep(timeout),
            timeout,
            armed: false,
        }
    }
}

impl http_body::Body for IdleBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => {
                *this.armed = false;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                if !*this.armed {
                    // The timer runs from the first time the body has nothing to give.
                    let deadline = tokio::time::Instant::now() + *this.timeout;
                    this.sleep.as_mut().reset(deadline);
                    *this.armed = true;
                }
                match this.sleep.poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(frontdoor_core::Error::bad_request(
                        "request body read timeout",
                    )
                    .into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The request body handed to the service: `body`, capped at `max` bytes when `max`
/// is not 0. A body that crosses the cap fails with a
/// [`PayloadTooLarge`](ErrorKind::PayloadTooLarge) error, so a proxied request is
/// abandoned (answered `413` if no response has started) rather than forwarded whole.
pub(super) fn request_body<B>(body: B, max: u64) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    if max == 0 {
        return Body::new(body);
    }
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    Body::new(Limited::new(body, max).map_err(|e: BoxError| {
        if e.is::<LengthLimitError>() {
            frontdoor_core::Error::new(ErrorKind::PayloadTooLarge, "request body too large").into()
        } else {
            e
        }
    }))
}
