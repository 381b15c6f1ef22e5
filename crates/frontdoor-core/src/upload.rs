//! [`UploadBody`]: a request body that never ends short.

use std::{
    pin::Pin,
    task::{ready, Context, Poll},
};

use bytes::{Buf, Bytes};
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::{BoxError, Error, ErrorKind};

/// Whether the message a request body belongs to was received to the end of its
/// framing. See [`UploadBody`].
pub trait MessageEnd {
    /// `true` once the whole message (head, body and, for chunked, the last chunk
    /// and trailers) has been received. Asked when the inner body ends (and by
    /// `is_end_stream`); `end_stream` is what the inner body itself says
    /// ([`is_end_stream`](http_body::Body::is_end_stream)).
    fn reached(&self, end_stream: bool) -> bool;
}

/// The [`MessageEnd`] of a body whose transport says nothing more: the inner body's
/// own end is trusted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unchecked;

impl MessageEnd for Unchecked {
    #[inline]
    fn reached(&self, _end_stream: bool) -> bool {
        true
    }
}

/// The [`MessageEnd`] of an HTTP/2 request body from hyper: the end is trusted only
/// when the body says it reached the end of its stream (`END_STREAM` arrived), not
/// when the client reset the stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndStream;

impl MessageEnd for EndStream {
    #[inline]
    fn reached(&self, end_stream: bool) -> bool {
        end_stream
    }
}

pin_project! {
    /// A request body that never ends short, so that the upstream request it feeds is
    /// aborted, never completed, when the client's body fails.
    ///
    /// A proxy streams the request body upstream as it arrives. If the client's body
    /// fails to parse, stops early, or its connection is dropped, the upstream must not
    /// receive what looks like a complete request (a last chunk, or a `Content-Length`
    /// body that happens to be complete): it must see the message cut off. hyper's
    /// clients do exactly that when the body they send yields an **error** frame (HTTP/1:
    /// the connection is closed mid-message, with no last chunk; HTTP/2: the stream is
    /// reset). `UploadBody` makes sure every way of stopping short is such an error:
    ///
    /// * an error of the inner body is passed on (as a [`BadRequest`](ErrorKind::BadRequest)
    ///   [`Error`], or as the frontdoor [`Error`] it already was, so a body-size cap's
    ///   [`PayloadTooLarge`](ErrorKind::PayloadTooLarge) keeps its kind);
    /// * an end before the declared [`content_length`](UploadBody::content_length), or
    ///   bytes past it, is an error;
    /// * an end the message's framing did not reach is an error: [`MessageEnd`] says
    ///   whether the wire delivered the whole message. `frontdoor::serve` knows for
    ///   HTTP/1, because it follows each message's framing on the raw bytes; for HTTP/2,
    ///   [`EndStream`] trusts the end only when the stream's `END_STREAM` arrived (hyper
    ///   ends a request body on a client's `RST_STREAM(NO_ERROR)` too, as if it were
    ///   complete);
    /// * after an error, polling again gives an error again, never a clean end.
    ///
    /// The gateway layer answers the upstream failure this causes with the error's
    /// status (400, or 413 for a cap) when no response has started.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use frontdoor_core::{ErrorKind, UploadBody};
    /// use http_body_util::{BodyExt, Full};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // The client promised 10 bytes and sent 5: an error, not an end.
    /// let body = UploadBody::new(Full::new(Bytes::from_static(b"hello"))).content_length(Some(10));
    /// let err = body.collect().await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::BadRequest);
    ///
    /// let body = UploadBody::new(Full::new(Bytes::from_static(b"hello"))).content_length(Some(5));
    /// assert_eq!(body.collect().await.unwrap().to_bytes(), "hello");
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct UploadBody<B, E = Unchecked> {
        #[pin]
        inner: B,
        end: E,
        // The `Content-Length` bytes still owed, when one was declared.
        remaining: Option<u64>,
        failed: bool,
    }
}

impl<B> UploadBody<B> {
    /// Wraps `inner`, trusting its end until told otherwise.
    pub const fn new(inner: B) -> Self {
        Self {
            inner,
            end: Unchecked,
            remaining: None,
            failed: false,
        }
    }
}

impl<B, E> UploadBody<B, E> {
    /// The declared `Content-Length`: an end before it, or data past it, is an error.
    /// Default: none declared.
    #[must_use]
    pub const fn content_length(mut self, len: Option<u64>) -> Self {
        self.remaining = len;
        self
    }

    /// Says whether the message's framing was received to its end; an end of the inner
    /// body before that is an error.
    pub fn message_end<E2: MessageEnd>(self, end: E2) -> UploadBody<B, E2> {
        UploadBody {
            inner: self.inner,
            end,
            remaining: self.remaining,
            failed: self.failed,
        }
    }

    /// The inner body.
    pub const fn get_ref(&self) -> &B {
        &self.inner
    }

    /// Consumes `self`, returning the inner body.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

/// The error of a body that stopped short: `source` kept as is when it already is a
/// frontdoor [`Error`] (its kind decides the answer), else wrapped as a bad request.
fn body_error(source: BoxError) -> Error {
    match source.downcast::<Error>() {
        Ok(ours) => *ours,
        Err(other) => Error::bad_request("request body failed").with_source(other),
    }
}

impl<B, E> http_body::Body for UploadBody<B, E>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
    E: MessageEnd,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let mut this = self.project();
        if *this.failed {
            return Poll::Ready(Some(Err(Error::bad_request(
                "request body polled after it failed",
            ))));
        }
        let short = |failed: &mut bool, message: &'static str| {
            *failed = true;
            Poll::Ready(Some(Err(Error::new(ErrorKind::BadRequest, message))))
        };
        match ready!(this.inner.as_mut().poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let (Some(data), Some(remaining)) = (frame.data_ref(), this.remaining.as_mut()) {
                    let len = data.remaining() as u64;
                    if len > *remaining {
                        return short(this.failed, "request body longer than its content-length");
                    }
                    *remaining -= len;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => {
                *this.failed = true;
                Poll::Ready(Some(Err(body_error(e.into()))))
            }
            None if this.remaining.is_some_and(|r| r > 0) => {
                short(this.failed, "request body ended before its content-length")
            }
            None if !this.end.reached(this.inner.is_end_stream()) => short(
                this.failed,
                "request body ended before the end of its message",
            ),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        // Never claim the end the framing has not reached: hyper would end the
        // upstream message without polling again.
        !self.failed
            && self.inner.is_end_stream()
            && self.remaining.is_none_or(|r| r == 0)
            && self.end.reached(true)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::{
        collections::VecDeque,
        sync::{
            atomic::{AtomicBool, Ordering},
            Arc,
        },
    };

    use http_body::Body as _;
    use http_body_util::{BodyExt, Full};

    use super::*;

    /// A body that yields scripted frames and errors, then ends.
    struct Scripted(VecDeque<Result<Frame<Bytes>, BoxError>>);

    impl Scripted {
        fn new(chunks: &[&'static str], error: Option<BoxError>) -> Self {
            let mut items: VecDeque<_> = chunks
                .iter()
                .map(|c| Ok(Frame::data(Bytes::from_static(c.as_bytes()))))
                .collect();
            items.extend(error.map(Err));
            Self(items)
        }
    }

    impl http_body::Body for Scripted {
        type Data = Bytes;
        type Error = BoxError;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            Poll::Ready(self.0.pop_front())
        }
    }

    #[derive(Clone, Default)]
    struct Flag(Arc<AtomicBool>);

    impl MessageEnd for Flag {
        fn reached(&self, _end_stream: bool) -> bool {
            self.0.load(Ordering::Relaxed)
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_complete_body_passes_unchanged() {
        let body = UploadBody::new(Full::new(Bytes::from_static(b"abc"))).content_length(Some(3));
        assert_eq!(body.size_hint().exact(), Some(3));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abc");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_inner_error_is_a_bad_request_and_stays_an_error() {
        let inner = Scripted::new(&["ab"], Some("connection reset".into()));
        let mut body = Box::pin(UploadBody::new(inner));
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "ab");
        let err = body.frame().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadRequest);
        assert_eq!(err.to_string(), "request body failed");
        // Never a clean end after a failure.
        assert!(body.frame().await.unwrap().is_err());
        assert!(!body.is_end_stream());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_frontdoor_error_keeps_its_kind() {
        let cap = Error::new(ErrorKind::PayloadTooLarge, "over the cap");
        let inner = Scripted::new(&[], Some(cap.into()));
        let err = UploadBody::new(inner).collect().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PayloadTooLarge);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn content_length_is_held_to() {
        let short = UploadBody::new(Scripted::new(&["hello"], None)).content_length(Some(10));
        let err = short.collect().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "request body ended before its content-length"
        );
        let long = UploadBody::new(Scripted::new(&["hello", "!"], None)).content_length(Some(5));
        let err = long.collect().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "request body longer than its content-length"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_end_the_message_did_not_reach_is_an_error() {
        let end = Flag::default();
        let body = UploadBody::new(Scripted::new(&["hello"], None)).message_end(end.clone());
        assert!(!body.is_end_stream());
        let err = body.collect().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "request body ended before the end of its message"
        );

        end.0.store(true, Ordering::Relaxed);
        let body = UploadBody::new(Scripted::new(&["hello"], None)).message_end(end);
        assert_eq!(body.collect().await.unwrap().to_bytes(), "hello");
    }

    /// A body that ends, and says (or not) that it reached its end of stream.
    struct Ends(bool);

    impl http_body::Body for Ends {
        type Data = Bytes;
        type Error = BoxError;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            Poll::Ready(None)
        }
        fn is_end_stream(&self) -> bool {
            self.0
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn end_stream_trusts_only_a_body_at_its_end_of_stream() {
        let reset = UploadBody::new(Ends(false)).message_end(EndStream);
        assert!(reset.collect().await.is_err());
        let ended = UploadBody::new(Ends(true)).message_end(EndStream);
        assert!(ended.collect().await.is_ok());
    }
}
