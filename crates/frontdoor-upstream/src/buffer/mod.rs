//! Request buffering (nginx's `proxy_request_buffering`): a request body up to a
//! size is read completely before the inner service (the upstream) sees the request,
//! so a client that trickles its body takes no upstream connection meanwhile.
//!
//! For each request with a body, [`RequestBuffer`]:
//!
//! * reads the body while it fits in the layer's `limit` and in the server-wide
//!   [`BufferBudget`] (the bytes every buffered body holds at once, over all routes
//!   and workers). Reading it is what makes the server answer `Expect: 100-continue`
//!   (hyper sends the `100` when the body is first read), so a buffering front door
//!   answers it itself and the `Expect` header is not forwarded;
//! * a body that ends within both is forwarded from memory, as one complete message
//!   (a chunked body gets a `Content-Length` when it has no trailers);
//! * a body announced (`Content-Length`) over the limit is not buffered at all; one
//!   that crosses the limit or the budget while being read streams from there on:
//!   what was read first, then the rest as it comes, as if nothing had been buffered;
//! * a body that fails while being read (its read timeout, its size cap, a client that
//!   went away) fails the request with the body's error, and nothing is forwarded: the
//!   gateway layer answers it with its status (`408`, `413`, `400`).
//!
//! Requests without a body, `CONNECT` and upgrade requests pass untouched. The
//! budget's bytes are held until the buffered body has been forwarded (dropped).
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use frontdoor_core::Body;
//! use frontdoor_upstream::buffer::{BufferBudget, RequestBufferLayer};
//! use http::{Request, Response};
//! use http_body_util::BodyExt;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor_core::BoxError> {
//! let budget = BufferBudget::new(64 * 1024 * 1024); // shared by every route
//! let svc = ServiceBuilder::new()
//!     .layer(RequestBufferLayer::new(64 * 1024, budget))
//!     .service(service_fn(|req: Request<Body>| async move {
//!         // The body arrives complete, with its length.
//!         assert_eq!(req.headers()["content-length"], "5");
//!         let body = req.into_body().collect().await?.to_bytes();
//!         Ok::<_, frontdoor_core::BoxError>(Response::new(Body::from(body)))
//!     }));
//! let req = Request::post("/upload").body(Body::from("hello"))?;
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.into_body().collect().await?.to_bytes(), Bytes::from("hello"));
//! # Ok(())
//! # }
//! ```

use std::{
    collections::VecDeque,
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::{proto::hop_by_hop, Body, BoxError};
use http::{header, request::Parts, HeaderMap, HeaderValue, Method, Request};
use http_body::{Body as _, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::util::Oneshot;
use tower::ServiceExt as _;
use tower_layer::Layer;
use tower_service::Service;

// === BufferBudget ===

/// The bytes all buffered request bodies may hold at once, shared by every
/// [`RequestBufferLayer`] made with a clone of it (every route, every worker). A body
/// that would take the budget past its size streams instead of buffering.
#[derive(Clone, Debug)]
pub struct BufferBudget {
    bytes: Arc<Semaphore>,
}

impl BufferBudget {
    /// A budget of `total` bytes.
    #[must_use]
    pub fn new(total: usize) -> Self {
        Self {
            bytes: Arc::new(Semaphore::new(total.min(Semaphore::MAX_PERMITS))),
        }
    }

    /// The bytes not held by a buffered body now.
    #[must_use]
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }

    /// Takes `n` more bytes into `held`; `false` when the budget has not got them.
    fn take(&self, n: usize, held: &mut Option<OwnedSemaphorePermit>) -> bool {
        if n == 0 {
            return true;
        }
        let Ok(n) = u32::try_from(n) else {
            return false;
        };
        match Arc::clone(&self.bytes).try_acquire_many_owned(n) {
            Ok(permit) => {
                match held {
                    Some(h) => h.merge(permit),
                    None => *held = Some(permit),
                }
                true
            }
            Err(_) => false,
        }
    }
}

// === RequestBufferLayer ===

/// Buffers request bodies up to `limit` bytes. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct RequestBufferLayer {
    limit: usize,
    budget: BufferBudget,
}

impl RequestBufferLayer {
    /// Buffers bodies of up to `limit` bytes (0: none, every body streams), within
    /// `budget`.
    #[must_use]
    pub const fn new(limit: usize, budget: BufferBudget) -> Self {
        Self { limit, budget }
    }
}

impl<S> Layer<S> for RequestBufferLayer {
    type Service = RequestBuffer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestBuffer {
            inner,
            layer: self.clone(),
        }
    }
}

// === RequestBuffer ===

/// The service of [`RequestBufferLayer`]. Its readiness is the inner service's; a
/// request whose body is buffered is handed to a clone of the inner service with
/// `oneshot` once the body has been read, so nothing the inner service reserves when
/// it is ready (a concurrency permit, a connection) is held while a body trickles in.
#[derive(Clone, Debug)]
pub struct RequestBuffer<S> {
    inner: S,
    layer: RequestBufferLayer,
}

impl<S> RequestBuffer<S> {
    frontdoor_core::define_inner_service_accessors!();
}

impl<S, B> Service<Request<B>> for RequestBuffer<S>
where
    S: Service<Request<Body>> + Clone,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let limit = self.layer.limit;
        let announced = announced_length(req.headers());
        let skip = limit == 0
            || http_body::Body::is_end_stream(req.body())
            || req.method() == Method::CONNECT
            || hop_by_hop::has_token(req.headers(), &header::CONNECTION, "upgrade")
            || announced.is_some_and(|n| n > limit as u64);
        if skip {
            return ResponseFuture::called(self.inner.call(req.map(Body::new)));
        }
        let (parts, body) = req.into_parts();
        let mut held = None;
        // An announced length is taken from the budget at once, all or nothing.
        let reserved = match announced {
            Some(n) => usize::try_from(n).is_ok_and(|n| self.layer.budget.take(n, &mut held)),
            None => false,
        };
        if announced.is_some() && !reserved {
            let req = Request::from_parts(parts, Body::new(body));
            return ResponseFuture::called(self.inner.call(req));
        }
        ResponseFuture {
            state: State::Reading {
                inner: Some(self.inner.clone()),
                parts: Some(parts),
                body: Some(Body::new(body)),
                read: Read {
                    frames: VecDeque::new(),
                    len: 0,
                    limit,
                    budget: (!reserved).then(|| self.layer.budget.clone()),
                    held,
                },
            },
        }
    }
}

/// The body length a request announces, when it is valid digits.
fn announced_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// What has been read of a body being buffered.
struct Read {
    frames: VecDeque<Frame<Bytes>>,
    len: usize,
    limit: usize,
    /// The budget to take each frame's bytes from; `None` when the announced length
    /// was taken at once.
    budget: Option<BufferBudget>,
    held: Option<OwnedSemaphorePermit>,
}

impl Read {
    /// Keeps `frame`; `false` when it does not fit (it is kept anyway, to be replayed
    /// before the rest of the body streams).
    fn keep(&mut self, frame: Frame<Bytes>) -> bool {
        let n = frame.data_ref().map_or(0, Bytes::len);
        self.len += n;
        self.frames.push_back(frame);
        let in_budget = match &self.budget {
            Some(budget) => budget.take(n, &mut self.held),
            None => true,
        };
        in_budget && self.len <= self.limit
    }
}

// === ResponseFuture ===

pin_project! {
    /// Response future of [`RequestBuffer`]: reads the body, then calls the inner
    /// service.
    pub struct ResponseFuture<S>
    where
        S: Service<Request<Body>>,
    {
        #[pin]
        state: State<S>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S>
    where
        S: Service<Request<Body>>,
    {
        Reading {
            inner: Option<S>,
            parts: Option<Parts>,
            body: Option<Body>,
            read: Read,
        },
        Calling {
            #[pin]
            fut: Oneshot<S, Request<Body>>,
        },
        Called {
            #[pin]
            fut: S::Future,
        },
    }
}

impl<S> ResponseFuture<S>
where
    S: Service<Request<Body>>,
{
    fn called(fut: S::Future) -> Self {
        Self {
            state: State::Called { fut },
        }
    }
}

impl<S> fmt::Debug for ResponseFuture<S>
where
    S: Service<Request<Body>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S> Future for ResponseFuture<S>
where
    S: Service<Request<Body>>,
    S::Error: Into<BoxError>,
{
    type Output = Result<S::Response, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Reading {
                    inner,
                    parts,
                    body,
                    read,
                } => {
                    let req = match ready!(poll_read(body, read, cx)) {
                        Err(e) => return Poll::Ready(Err(e)),
                        Ok(end) => forwarded(parts.take(), body.take(), read, end),
                    };
                    let (Some(inner), Some(req)) = (inner.take(), req) else {
                        return Poll::Ready(Err("request buffer polled after completion".into()));
                    };
                    this.state.set(State::Calling {
                        fut: inner.oneshot(req),
                    });
                }
                StateProj::Calling { fut } => return fut.poll(cx).map_err(Into::into),
                StateProj::Called { fut } => return fut.poll(cx).map_err(Into::into),
            }
        }
    }
}

/// How reading stopped.
#[derive(Clone, Copy)]
enum End {
    /// The body ended: it is all in memory.
    Complete,
    /// It did not fit: replay what was read, then stream the rest.
    Overflow,
}

/// Reads frames until the body ends, fails, or stops fitting.
fn poll_read(
    body: &mut Option<Body>,
    read: &mut Read,
    cx: &mut Context<'_>,
) -> Poll<Result<End, BoxError>> {
    let Some(b) = body.as_mut() else {
        return Poll::Ready(Err("request buffer polled after completion".into()));
    };
    loop {
        match ready!(Pin::new(&mut *b).poll_frame(cx)) {
            None => return Poll::Ready(Ok(End::Complete)),
            Some(Err(e)) => return Poll::Ready(Err(e.into())),
            Some(Ok(frame)) => {
                if !read.keep(frame) {
                    return Poll::Ready(Ok(End::Overflow));
                }
            }
        }
    }
}

/// The request to forward once reading stopped: the buffered frames (and, after an
/// overflow, the rest of the body), without the `Expect` the reading answered.
fn forwarded(
    parts: Option<Parts>,
    body: Option<Body>,
    read: &mut Read,
    end: End,
) -> Option<Request<Body>> {
    let (mut parts, body) = (parts?, body?);
    parts.headers.remove(header::EXPECT);
    let frames = std::mem::take(&mut read.frames);
    let held = read.held.take();
    let replay = match end {
        End::Complete => {
            let trailers = frames.iter().any(Frame::is_trailers);
            if !trailers {
                parts
                    .headers
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(read.len));
                parts.headers.remove(header::TRANSFER_ENCODING);
            }
            Replay::new(frames, None, held, read.len)
        }
        End::Overflow => Replay::new(frames, Some(body), held, read.len),
    };
    Some(Request::from_parts(parts, Body::new(replay)))
}

// === Replay ===

/// A buffered body: the frames read, then the rest of the body when it overflowed.
/// Holds its budget until dropped.
struct Replay {
    frames: VecDeque<Frame<Bytes>>,
    rest: Option<Body>,
    /// Bytes of `frames` left to give.
    left: u64,
    _held: Option<OwnedSemaphorePermit>,
}

impl Replay {
    fn new(
        frames: VecDeque<Frame<Bytes>>,
        rest: Option<Body>,
        held: Option<OwnedSemaphorePermit>,
        len: usize,
    ) -> Self {
        Self {
            frames,
            rest,
            left: len as u64,
            _held: held,
        }
    }
}

impl http_body::Body for Replay {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(frame) = self.frames.pop_front() {
            let n = frame.data_ref().map_or(0, Bytes::len) as u64;
            self.left -= n;
            return Poll::Ready(Some(Ok(frame)));
        }
        match self.rest.as_mut() {
            Some(rest) => Pin::new(rest).poll_frame(cx).map_err(Into::into),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
            && self
                .rest
                .as_ref()
                .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        match &self.rest {
            None => SizeHint::with_exact(self.left),
            Some(rest) => {
                let r = rest.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(r.lower() + self.left);
                if let Some(upper) = r.upper() {
                    hint.set_upper(upper + self.left);
                }
                hint
            }
        }
    }
}

#[cfg(test)]
mod tests;
