//! The request body as the primary receives it, copied on the side up to a cap.

use std::{
    pin::Pin,
    task::{ready, Context, Poll},
};

use bytes::{Bytes, BytesMut};
use http_body::{Body as HttpBody, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::sync::oneshot;

/// What the tee delivers to the shadow task. A dropped sender means the body failed
/// or was abandoned before its end.
#[derive(Debug)]
pub(crate) enum TeeOutcome {
    /// The whole body, within the cap.
    Complete(Bytes),
    /// The body outgrew the cap; the copy was discarded.
    TooLarge,
}

/// The side copy: frames are kept by reference (`Bytes` clones), joined once at the
/// end, never more than `cap` bytes.
#[derive(Debug)]
pub(crate) struct Tee {
    chunks: Vec<Bytes>,
    len: usize,
    cap: usize,
    tx: oneshot::Sender<TeeOutcome>,
}

impl Tee {
    pub(crate) fn new(cap: usize) -> (Self, oneshot::Receiver<TeeOutcome>) {
        let (tx, rx) = oneshot::channel();
        let tee = Self {
            chunks: Vec::new(),
            len: 0,
            cap,
            tx,
        };
        (tee, rx)
    }

    /// Adds a chunk; `false` (and the copy is discarded) once over the cap.
    fn push(&mut self, data: &Bytes) -> bool {
        self.len = self.len.saturating_add(data.len());
        if self.len > self.cap {
            return false;
        }
        if !data.is_empty() {
            self.chunks.push(data.clone());
        }
        true
    }

    fn too_large(self) {
        let _ = self.tx.send(TeeOutcome::TooLarge);
    }

    fn complete(self) {
        let body = match self.chunks.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            many => {
                let mut buf = BytesMut::with_capacity(self.len);
                many.iter().for_each(|c| buf.extend_from_slice(c));
                buf.freeze()
            }
        };
        let _ = self.tx.send(TeeOutcome::Complete(body));
    }
}

pin_project! {
    /// The request body the primary receives from [`Mirror`](crate::Mirror): the
    /// client's body, frame for frame (size hint, end of stream and trailers kept),
    /// copied on the side for the shadow up to the tee cap. Never buffers or delays a
    /// frame.
    pub struct TeeBody<B> {
        #[pin]
        inner: B,
        tee: Option<Tee>,
    }
}

impl<B> TeeBody<B> {
    pub(crate) const fn new(inner: B, tee: Option<Tee>) -> Self {
        Self { inner, tee }
    }

    /// The wrapped body.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for TeeBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeeBody")
            .field("inner", &self.inner)
            .field("teeing", &self.tee.is_some())
            .finish()
    }
}

impl<B> HttpBody for TeeBody<B>
where
    B: HttpBody<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        match &frame {
            Some(Ok(f)) => {
                if let Some(data) = f.data_ref() {
                    if let Some(mut tee) = this.tee.take() {
                        if !tee.push(data) {
                            tee.too_large();
                        } else if this.inner.is_end_stream() {
                            tee.complete();
                        } else {
                            *this.tee = Some(tee);
                        }
                    }
                }
            }
            // A failed body is not mirrored: dropping the tee tells the task.
            Some(Err(_)) => drop(this.tee.take()),
            None => {
                if let Some(tee) = this.tee.take() {
                    tee.complete();
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{channel::Channel, BodyExt, Full};

    use super::*;

    #[tokio::test]
    async fn copies_within_cap_and_passes_everything() {
        let (tee, rx) = Tee::new(10);
        let (mut tx, inner) = Channel::<Bytes>::new(4);
        tx.send_data(Bytes::from_static(b"abc")).await.unwrap();
        tx.send_data(Bytes::from_static(b"def")).await.unwrap();
        drop(tx);
        let body = TeeBody::new(inner, Some(tee));
        let got = body.collect().await.unwrap().to_bytes();
        assert_eq!(got, "abcdef");
        match rx.await.unwrap() {
            TeeOutcome::Complete(b) => assert_eq!(b, "abcdef"),
            TeeOutcome::TooLarge => panic!("within cap"),
        }
    }

    #[tokio::test]
    async fn over_cap_discards_the_copy_only() {
        let (tee, rx) = Tee::new(3);
        let body = TeeBody::new(Full::new(Bytes::from_static(b"abcdef")), Some(tee));
        assert_eq!(body.size_hint().exact(), Some(6));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abcdef");
        assert!(matches!(rx.await.unwrap(), TeeOutcome::TooLarge));
    }

    #[tokio::test]
    async fn abandoned_body_drops_the_sender() {
        let (tee, rx) = Tee::new(3);
        drop(TeeBody::new(
            Full::new(Bytes::from_static(b"ab")),
            Some(tee),
        ));
        assert!(rx.await.is_err());
    }
}
