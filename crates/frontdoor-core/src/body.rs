//! The erased body type shared by every frontdoor layer.

use std::{
    any::Any,
    fmt,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::{combinators::UnsyncBoxBody, Empty, Full};
use pin_project_lite::pin_project;

/// A type-erased error, as used by tower and hyper.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type at frontdoor's erasure points (the route table, the upstream client).
///
/// A newtype over a boxed [`http_body::Body`] with [`Bytes`] data and [`BoxError`]
/// errors. It streams: nothing here collects a body.
///
/// ```
/// use frontdoor_core::Body;
/// use http_body::Body as _;
///
/// let body = Body::from("hello");
/// assert_eq!(body.size_hint().exact(), Some(5));
/// assert!(Body::empty().is_end_stream());
/// ```
pub struct Body(UnsyncBoxBody<Bytes, BoxError>);

impl Body {
    /// Wraps any body whose data converts into [`Bytes`] and whose error into [`BoxError`].
    ///
    /// A `Body` given to `Body::new` is returned as is, not boxed a second time, so
    /// layers can erase a generic body without paying for it twice.
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body + Send + 'static,
        B::Data: Into<Bytes>,
        B::Error: Into<BoxError>,
    {
        let mut slot = Some(body);
        if let Some(ours) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Self>>() {
            if let Some(ours) = ours.take() {
                return ours;
            }
        }
        match slot {
            Some(body) => Self(UnsyncBoxBody::new(Erase { inner: body })),
            None => Self::empty(),
        }
    }

    /// An empty body.
    #[must_use]
    pub fn empty() -> Self {
        Self::new(Empty::<Bytes>::new())
    }

    /// A body of exactly these bytes.
    #[must_use]
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Self::new(Full::new(bytes.into()))
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body")
            .field("size_hint", &http_body::Body::size_hint(&self.0))
            .finish_non_exhaustive()
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Self::full(b)
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Self::full(s)
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Self::full(s)
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Self::full(v)
    }
}

impl From<()> for Body {
    fn from((): ()) -> Self {
        Self::empty()
    }
}

pin_project! {
    /// Maps data into `Bytes` and errors into `BoxError`, keeping the size hint and
    /// end-of-stream flag (which `map_frame` would lose).
    struct Erase<B> {
        #[pin]
        inner: B,
    }
}

impl<B> http_body::Body for Erase<B>
where
    B: http_body::Body,
    B::Data: Into<Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx).map(|f| {
            f.map(|r| {
                r.map(|frame| frame.map_data(Into::into))
                    .map_err(Into::into)
            })
        })
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    #[inline]
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.0).poll_frame(cx)
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body::Body as _;
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
