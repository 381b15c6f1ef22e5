//! The erased body type shared by every frontdoor layer.

#[cfg(doc)]
use bytes::Bytes;

/// A type-erased error, as used by tower and hyper.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type at frontdoor's erasure points (the route table, the upstream client,
/// the answers frontdoor's layers write themselves).
///
/// This is [`axum_core::body::Body`], re-exported: a newtype over a boxed
/// [`http_body::Body`] with [`Bytes`] data, which streams (nothing here collects a
/// body) and is never boxed twice (`Body::new` of a `Body` returns it as is). Sharing
/// axum's type rather than defining a parallel one means an axum `Router` can sit
/// inside frontdoor's layers, and frontdoor's layers inside `axum::serve`, with no body
/// conversion at any seam; hyper users see just another `http_body::Body`.
///
/// ```
/// use frontdoor_core::Body;
/// use http_body::Body as _;
///
/// let body = Body::from("hello");
/// assert_eq!(body.size_hint().exact(), Some(5));
/// assert!(Body::empty().is_end_stream());
/// assert!(Body::default().is_end_stream());
/// ```
pub use axum_core::body::Body;

#[cfg(test)]
mod tests {
    use std::{
        pin::Pin,
        task::{Context, Poll},
    };

    use bytes::Bytes;
    use http_body::{Body as _, Frame};
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn collects_what_it_wraps() {
        let body = Body::from(String::from("abc"));
        assert_eq!(body.size_hint().exact(), Some(3));
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"abc");
    }

    /// A body that yields scripted frames, so tests need no stream adapter.
    struct Frames(std::collections::VecDeque<Frame<Bytes>>);

    impl http_body::Body for Frames {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn trailers_pass_through() {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-t", http::HeaderValue::from_static("1"));
        let frames = Frames(
            [
                Frame::data(Bytes::from_static(b"x")),
                Frame::trailers(trailers),
            ]
            .into(),
        );
        let collected = Body::new(frames).collect().await.unwrap();
        assert_eq!(collected.trailers().unwrap()["x-t"], "1");
        assert_eq!(&collected.to_bytes()[..], b"x");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn rewrapping_a_body_keeps_it_intact() {
        let once = Body::from("abc");
        let twice = Body::new(once);
        assert_eq!(twice.size_hint().exact(), Some(3));
        // Still the same stream, not a wrapper around it.
        assert_eq!(&twice.collect().await.unwrap().to_bytes()[..], b"abc");
    }

    #[test]
    fn empty_and_default_are_end_stream() {
        assert!(Body::empty().is_end_stream());
        assert!(Body::default().is_end_stream());
        assert!(Body::from(()).is_end_stream());
    }
}
