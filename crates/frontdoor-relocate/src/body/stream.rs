//! The body that streams a rewrite: raw input frames in, rewritten frames out.

use std::{
    collections::VecDeque,
    pin::Pin,
    task::{ready, Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::HeaderMap;
use http_body::{Frame, SizeHint};

use super::{error::RewriteError, transform::Transform};

/// A body that is rewritten as it streams (or, over the buffer limit with the
/// pass-through choice, passed on as it is). Data frames go through the transform;
/// trailers pass untouched, after the transform's last output.
#[derive(Debug)]
pub(crate) struct RewriteBody {
    /// Output ready to be sent.
    queue: VecDeque<Frame<Bytes>>,
    /// Input already read (by the prefetch) and not yet transformed.
    prefix: VecDeque<Bytes>,
    inner: Option<Body>,
    transform: Option<Transform>,
    exact: Option<u64>,
}

impl RewriteBody {
    /// A body that is already complete: `data`, then `trailers`.
    pub(crate) fn complete(data: Bytes, trailers: Option<HeaderMap>) -> Self {
        let exact = data.len() as u64;
        let mut queue = VecDeque::with_capacity(2);
        if !data.is_empty() {
            queue.push_back(Frame::data(data));
        }
        if let Some(t) = trailers {
            queue.push_back(Frame::trailers(t));
        }
        Self {
            queue,
            prefix: VecDeque::new(),
            inner: None,
            transform: None,
            exact: Some(exact),
        }
    }

    /// `prefix`, then the rest of `inner`, through `transform` (or untouched when
    /// there is none).
    pub(crate) fn streaming(prefix: Vec<Bytes>, inner: Body, transform: Option<Transform>) -> Self {
        Self {
            queue: VecDeque::new(),
            prefix: prefix.into(),
            inner: Some(inner),
            transform,
            exact: None,
        }
    }

    fn push(&mut self, data: Bytes) -> Result<(), RewriteError> {
        let out = match &mut self.transform {
            Some(t) => {
                let out = t.feed(data)?;
                #[cfg(test)]
                super::high_water::record(t.held());
                out
            }
            None => data,
        };
        if !out.is_empty() {
            self.queue.push_back(Frame::data(out));
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), RewriteError> {
        self.inner = None;
        if let Some(mut t) = self.transform.take() {
            let out = t.finish()?;
            if !out.is_empty() {
                self.queue.push_back(Frame::data(out));
            }
        }
        Ok(())
    }

    /// Stops everything after a failure.
    fn abort(&mut self, e: &RewriteError) {
        tracing::warn!(error = %e, "relocation body rewrite aborted");
        self.inner = None;
        self.prefix.clear();
        self.queue.clear();
        self.transform = None;
    }
}

impl http_body::Body for RewriteBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            if let Some(frame) = this.queue.pop_front() {
                return Poll::Ready(Some(Ok(frame)));
            }
            let step = if let Some(chunk) = this.prefix.pop_front() {
                this.push(chunk)
            } else {
                let Some(inner) = this.inner.as_mut() else {
                    return Poll::Ready(None);
                };
                match ready!(Pin::new(inner).poll_frame(cx)) {
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => this.push(data),
                        Err(trailers) => {
                            let done = this.finish();
                            this.queue.push_back(trailers);
                            done
                        }
                    },
                    Some(Err(e)) => {
                        this.inner = None;
                        this.transform = None;
                        return Poll::Ready(Some(Err(e.into())));
                    }
                    None => this.finish(),
                }
            };
            if let Err(e) = step {
                this.abort(&e);
                return Poll::Ready(Some(Err(Box::new(e))));
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.queue.is_empty() && self.prefix.is_empty() && self.inner.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        if let Some(n) = self.exact {
            return SizeHint::with_exact(n);
        }
        match (&self.inner, &self.transform) {
            (Some(inner), None) => {
                let held: u64 = self.prefix.iter().map(|b| b.len() as u64).sum();
                let hint = inner.size_hint();
                let mut out = SizeHint::new();
                out.set_lower(hint.lower() + held);
                if let Some(upper) = hint.upper() {
                    out.set_upper(upper + held);
                }
                out
            }
            _ => SizeHint::new(),
        }
    }
}
