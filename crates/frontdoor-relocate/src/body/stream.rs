//! The body that streams a rewrite: raw input frames in, rewritten frames out; for a
//! coded body, decoded a step at a time before the rewrite and encoded again after.

use std::{
    collections::VecDeque,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::HeaderMap;
use http_body::{Body as _, Frame, SizeHint};

use super::{
    codec::{Decoder, Encoder},
    error::{RewriteError, RewriteErrorKind},
    transform::Transform,
};
use crate::{
    coding::Coding,
    event::{Hook, RelocateEvent},
};

/// How a coded body is decoded for its rewrite, and encoded again.
#[derive(Debug)]
pub(crate) struct Coded {
    decoder: Decoder,
    /// `None`: sent decoded (identity).
    encoder: Option<Encoder>,
    /// Decoded bytes so far.
    decoded: u64,
    /// The most decoded bytes allowed.
    limit: u64,
    /// Whether the decoder has given out everything.
    drained: bool,
    hook: Hook,
}

impl Coded {
    /// Decodes `from`, encodes the rewrite with `to` (`None`: identity), cuts the body
    /// off past `limit` decoded bytes (reported to `hook`).
    pub(crate) fn new(from: Coding, to: Option<Coding>, limit: u64, hook: Hook) -> Self {
        Self {
            decoder: Decoder::new(from),
            encoder: to.map(Encoder::new),
            decoded: 0,
            limit,
            drained: false,
            hook,
        }
    }
}

/// Where the body's input comes from.
#[derive(Debug)]
enum Source {
    /// The rest of the message's body.
    Body(Body),
    /// The input has ended (with these trailers): what is held back goes out next.
    Ending(Option<HeaderMap>),
    /// Everything went out.
    Done,
}

/// A body that is rewritten as it streams (or, over the buffer limit with the
/// pass-through choice, passed on as it is). Data frames go through the transform;
/// trailers pass untouched, after the transform's last output.
#[derive(Debug)]
pub(crate) struct RewriteBody {
    /// Output ready to be sent.
    queue: VecDeque<Frame<Bytes>>,
    /// Input already read (by the prefetch) and not yet transformed.
    prefix: VecDeque<Bytes>,
    source: Source,
    transform: Option<Transform>,
    coded: Option<Coded>,
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
            source: Source::Done,
            transform: None,
            coded: None,
            exact: Some(exact),
        }
    }

    /// `prefix`, then the rest of `inner`, through `transform` (or untouched when
    /// there is none).
    pub(crate) fn streaming(prefix: Vec<Bytes>, inner: Body, transform: Option<Transform>) -> Self {
        Self {
            queue: VecDeque::new(),
            prefix: prefix.into(),
            source: Source::Body(inner),
            transform,
            coded: None,
            exact: None,
        }
    }

    /// `prefix`, then the rest of the body (`Ok`) or the end with its trailers
    /// (`Err`), decoded, through `transform`, encoded again, as `coded` says.
    pub(crate) fn coded(
        prefix: Vec<Bytes>,
        rest: Result<Body, Option<HeaderMap>>,
        transform: Transform,
        coded: Coded,
    ) -> Self {
        Self {
            queue: VecDeque::new(),
            prefix: prefix.into(),
            source: rest.map_or_else(Source::Ending, Source::Body),
            transform: Some(transform),
            coded: Some(coded),
            exact: None,
        }
    }

    /// Raw input: decoded step by step when coded, else rewritten at once.
    fn input(&mut self, data: Bytes) -> Result<(), RewriteError> {
        match &mut self.coded {
            Some(coded) => {
                coded.decoder.push(data);
                Ok(())
            }
            None => self.push(data),
        }
    }

    /// Decoded input: rewritten, encoded again, queued.
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
        self.emit(out)
    }

    fn emit(&mut self, out: Bytes) -> Result<(), RewriteError> {
        let out = match self.coded.as_mut().and_then(|c| c.encoder.as_mut()) {
            Some(encoder) => encoder.encode(&out).map_err(coding_error)?,
            None => out,
        };
        if !out.is_empty() {
            self.queue.push_back(Frame::data(out));
        }
        Ok(())
    }

    /// One decoding step: `Ok(false)` when the decoder needs more input.
    fn decode_step(&mut self, ending: bool) -> Result<bool, RewriteError> {
        let Some(coded) = self.coded.as_mut() else {
            return Ok(false);
        };
        let step = if ending {
            coded.decoder.finish_step()
        } else {
            coded.decoder.step()
        };
        let Some(data) = step.map_err(coding_error)? else {
            coded.drained |= ending;
            return Ok(false);
        };
        coded.decoded += data.len() as u64;
        #[cfg(test)]
        super::high_water::record(data.len());
        if coded.decoded > coded.limit {
            let limit = coded.limit;
            coded.hook.emit(&RelocateEvent::DecodedTooLarge { limit });
            return Err(RewriteError::new(
                RewriteErrorKind::DecodedTooLarge,
                format!("the body decodes to more than {limit} bytes"),
            ));
        }
        self.push(data)?;
        Ok(true)
    }

    /// The end of the input: the transform's and the encoder's last output.
    fn finish(&mut self) -> Result<(), RewriteError> {
        if let Some(mut t) = self.transform.take() {
            let out = t.finish()?;
            self.emit(out)?;
        }
        if let Some(encoder) = self.coded.as_mut().and_then(|c| c.encoder.as_mut()) {
            let out = encoder.finish().map_err(coding_error)?;
            if !out.is_empty() {
                self.queue.push_back(Frame::data(out));
            }
        }
        Ok(())
    }

    /// While the input stalls, what the encoder holds goes out (a sync flush), so a
    /// page that streams slowly reaches the client as it comes.
    fn flush(&mut self) -> Result<Option<Bytes>, RewriteError> {
        match self.coded.as_mut().and_then(|c| c.encoder.as_mut()) {
            Some(encoder) if encoder.dirty() => {
                let out = encoder.flush().map_err(coding_error)?;
                Ok((!out.is_empty()).then_some(out))
            }
            _ => Ok(None),
        }
    }

    /// Stops everything after a failure.
    fn abort(&mut self, e: &RewriteError) {
        tracing::warn!(error = %e, "relocation body rewrite aborted");
        self.source = Source::Done;
        self.prefix.clear();
        self.queue.clear();
        self.transform = None;
        self.coded = None;
    }

    /// The next step; `Ok(None)` to poll again, `Ok(Some(..))` to return.
    fn step(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Result<Option<Poll<Option<Result<Frame<Bytes>, BoxError>>>>, RewriteError> {
        if self.coded.as_ref().is_some_and(|c| c.decoder.pending()) {
            self.decode_step(false)?;
            return Ok(None);
        }
        if let Some(chunk) = self.prefix.pop_front() {
            self.input(chunk)?;
            return Ok(None);
        }
        if matches!(self.source, Source::Ending(_)) {
            if self.coded.as_ref().is_some_and(|c| !c.drained) {
                self.decode_step(true)?;
                return Ok(None);
            }
            let trailers = match std::mem::replace(&mut self.source, Source::Done) {
                Source::Ending(trailers) => trailers,
                _ => None,
            };
            self.finish()?;
            self.queue.extend(trailers.map(Frame::trailers));
            return Ok(None);
        }
        let Source::Body(inner) = &mut self.source else {
            return Ok(Some(Poll::Ready(None)));
        };
        match Pin::new(inner).poll_frame(cx) {
            Poll::Pending => Ok(Some(match self.flush()? {
                Some(out) => Poll::Ready(Some(Ok(Frame::data(out)))),
                None => Poll::Pending,
            })),
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => self.input(data).map(|()| None),
                Err(frame) => {
                    self.source = Source::Ending(frame.into_trailers().ok());
                    Ok(None)
                }
            },
            Poll::Ready(Some(Err(e))) => {
                self.source = Source::Done;
                self.transform = None;
                self.coded = None;
                Ok(Some(Poll::Ready(Some(Err(e.into())))))
            }
            Poll::Ready(None) => {
                self.source = Source::Ending(None);
                Ok(None)
            }
        }
    }
}

#[allow(clippy::needless_pass_by_value, reason = "the shape map_err wants")]
fn coding_error(e: std::io::Error) -> RewriteError {
    RewriteError::new(RewriteErrorKind::Coding, e.to_string())
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
            match this.step(cx) {
                Ok(None) => {}
                Ok(Some(poll)) => return poll,
                Err(e) => {
                    this.abort(&e);
                    return Poll::Ready(Some(Err(Box::new(e))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.queue.is_empty() && self.prefix.is_empty() && matches!(self.source, Source::Done)
    }

    fn size_hint(&self) -> SizeHint {
        if let Some(n) = self.exact {
            return SizeHint::with_exact(n);
        }
        match (&self.source, &self.transform, &self.coded) {
            (Source::Body(inner), None, None) => {
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
