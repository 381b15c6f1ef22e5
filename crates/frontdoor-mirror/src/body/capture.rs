//! The primary's response body as the client receives it, optionally captured on the
//! side up to a cap, reporting to the mirror's task when it ends.

use std::{
    pin::Pin,
    task::{ready, Context, Poll},
};

use bytes::{Bytes, BytesMut};
use http::response::Parts;
use http_body::{Body as HttpBody, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::{sync::oneshot, time::Instant};

use crate::{
    compare::{BodyState, CapturedResponse},
    PrimaryError,
};

/// The primary's outcome, sent to the mirror's task, stamped with when it happened.
#[derive(Debug)]
pub(crate) struct PrimaryReport {
    pub(crate) outcome: Result<CapturedResponse, PrimaryError>,
    pub(crate) at: Instant,
}

/// The primary side's half of a mirrored request.
#[derive(Debug)]
pub(crate) struct Reporter {
    tx: oneshot::Sender<PrimaryReport>,
    cap: usize,
}

impl Reporter {
    pub(crate) fn new(cap: usize) -> (Self, oneshot::Receiver<PrimaryReport>) {
        let (tx, rx) = oneshot::channel();
        (Self { tx, cap }, rx)
    }

    fn send(self, outcome: Result<CapturedResponse, PrimaryError>) {
        let _ = self.tx.send(PrimaryReport {
            outcome,
            at: Instant::now(),
        });
    }

    /// The primary failed.
    pub(crate) fn failed(self) {
        self.send(Err(PrimaryError::new()));
    }

    /// The response head arrived: reported now, or (body capture on) a capture that
    /// reports when the body ends.
    pub(crate) fn head(self, parts: &Parts) -> Option<Capture> {
        let head = CapturedResponse::new(parts.status, parts.headers.clone());
        if self.cap == 0 {
            self.send(Ok(head));
            return None;
        }
        Some(Capture {
            head,
            chunks: Vec::new(),
            len: 0,
            truncated: false,
            reporter: Some(self),
        })
    }
}

/// The side copy of the primary's body; reports on end, failure or drop.
#[derive(Debug)]
pub(crate) struct Capture {
    head: CapturedResponse,
    chunks: Vec<Bytes>,
    len: usize,
    truncated: bool,
    reporter: Option<Reporter>,
}

impl Capture {
    fn push(&mut self, data: &Bytes) {
        let Some(cap) = self.reporter.as_ref().map(|r| r.cap) else {
            return;
        };
        if self.truncated {
            return;
        }
        let room = cap - self.len;
        if data.len() > room {
            self.chunks.push(data.slice(..room));
            self.len = cap;
            self.truncated = true;
        } else {
            self.chunks.push(data.clone());
            self.len += data.len();
        }
    }

    fn finish(&mut self, state: BodyState) {
        let Some(reporter) = self.reporter.take() else {
            return;
        };
        let state = if self.truncated && state == BodyState::Complete {
            BodyState::Truncated
        } else {
            state
        };
        let mut buf = BytesMut::with_capacity(self.len);
        self.chunks.iter().for_each(|c| buf.extend_from_slice(c));
        let head = std::mem::replace(
            &mut self.head,
            CapturedResponse::new(http::StatusCode::OK, http::HeaderMap::new()),
        );
        reporter.send(Ok(head.with_body(buf.freeze(), state)));
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.finish(BodyState::Incomplete);
    }
}

pin_project! {
    /// The response body the client receives from [`Mirror`](crate::Mirror): the
    /// primary's body, frame for frame (size hint, end of stream and trailers kept),
    /// copied on the side up to the capture cap when body capture is on.
    pub struct CaptureBody<B> {
        #[pin]
        inner: B,
        capture: Option<Capture>,
    }
}

impl<B> CaptureBody<B> {
    pub(crate) const fn new(inner: B, capture: Option<Capture>) -> Self {
        Self { inner, capture }
    }

    /// The wrapped body.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for CaptureBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureBody")
            .field("inner", &self.inner)
            .field("capturing", &self.capture.is_some())
            .finish()
    }
}

impl<B> HttpBody for CaptureBody<B>
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
        if let Some(capture) = this.capture.as_mut() {
            match &frame {
                Some(Ok(f)) => {
                    if let Some(data) = f.data_ref() {
                        capture.push(data);
                    }
                    if this.inner.is_end_stream() {
                        capture.finish(BodyState::Complete);
                    }
                }
                Some(Err(_)) => capture.finish(BodyState::Incomplete),
                None => capture.finish(BodyState::Complete),
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
    use http::Response;
    use http_body_util::{BodyExt, Full};

    use super::*;

    fn parts() -> Parts {
        Response::new(()).into_parts().0
    }

    #[tokio::test]
    async fn captures_up_to_cap_then_reports() {
        let (reporter, rx) = Reporter::new(4);
        let capture = reporter.head(&parts());
        let body = CaptureBody::new(Full::new(Bytes::from_static(b"abcdef")), capture);
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abcdef");
        let r = rx.await.unwrap().outcome.unwrap();
        assert_eq!(
            (r.body.as_ref(), r.body_state),
            (&b"abcd"[..], BodyState::Truncated)
        );
    }

    #[tokio::test]
    async fn head_only_and_dropped_bodies() {
        let (reporter, rx) = Reporter::new(0);
        assert!(reporter.head(&parts()).is_none());
        assert_eq!(
            rx.await.unwrap().outcome.unwrap().body_state,
            BodyState::NotCaptured
        );

        let (reporter, rx) = Reporter::new(8);
        let body = CaptureBody::new(
            Full::new(Bytes::from_static(b"ab")),
            reporter.head(&parts()),
        );
        drop(body);
        let r = rx.await.unwrap().outcome.unwrap();
        assert_eq!(r.body_state, BodyState::Incomplete);
    }
}
