//! Reading the start of a body, up to a cap, before its headers are committed.

use std::{
    pin::Pin,
    task::{ready, Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::HeaderMap;
use http_body::Body as _;

/// What a [`Prefetch`] found.
#[derive(Debug)]
pub(crate) enum Prefetched {
    /// The whole body fitted the cap.
    Complete {
        chunks: Vec<Bytes>,
        trailers: Option<HeaderMap>,
    },
    /// The cap was passed: the chunks read so far, and the rest of the body.
    Partial { chunks: Vec<Bytes>, rest: Body },
}

/// Reads data frames until the body ends or more than `limit` bytes were read.
#[derive(Debug)]
pub(crate) struct Prefetch {
    body: Option<Body>,
    chunks: Vec<Bytes>,
    len: usize,
    limit: usize,
}

impl Prefetch {
    pub(crate) fn new(body: Body, limit: usize) -> Self {
        Self {
            body: Some(body),
            chunks: Vec::new(),
            len: 0,
            limit,
        }
    }

    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<Prefetched, BoxError>> {
        loop {
            let Some(body) = self.body.as_mut() else {
                return Poll::Ready(Err("body prefetch polled after completion".into()));
            };
            if self.len > self.limit {
                let rest = self.body.take().unwrap_or_default();
                let chunks = std::mem::take(&mut self.chunks);
                return Poll::Ready(Ok(Prefetched::Partial { chunks, rest }));
            }
            let frame = match ready!(Pin::new(body).poll_frame(cx)) {
                None => return Poll::Ready(Ok(self.complete(None))),
                Some(Err(e)) => {
                    self.body = None;
                    return Poll::Ready(Err(e.into()));
                }
                Some(Ok(frame)) => frame,
            };
            match frame.into_data() {
                Ok(data) => {
                    self.len += data.len();
                    #[cfg(test)]
                    super::high_water::record(self.len);
                    if !data.is_empty() {
                        self.chunks.push(data);
                    }
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        return Poll::Ready(Ok(self.complete(Some(trailers))));
                    }
                }
            }
        }
    }

    fn complete(&mut self, trailers: Option<HeaderMap>) -> Prefetched {
        self.body = None;
        Prefetched::Complete {
            chunks: std::mem::take(&mut self.chunks),
            trailers,
        }
    }
}
