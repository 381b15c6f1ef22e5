//! [`ResponseFuture`]: request body prefetch, the inner call, response relocation.

use std::{
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};

use bytes::{Bytes, BytesMut};
use frontdoor_core::{Body, BoxError, Error, ErrorKind};
use http::{
    header::{ACCEPT_RANGES, CONTENT_ENCODING, CONTENT_LENGTH, ETAG, VARY},
    request, response, HeaderMap, HeaderName, HeaderValue, Request, Response,
};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::{
    builder::OverLimit,
    plan::{Ctx, Rewrite},
};
use crate::{
    body::{Prefetch, Prefetched, RewriteBody, RewriteError, Transform},
    headers::response as response_headers,
};

pin_project! {
    /// Response future for [`Relocate`](super::Relocate).
    pub struct ResponseFuture<S, F> {
        #[pin]
        state: State<S, F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, F> {
        // An answer of the layer's own (a refused request, a failed rewrite).
        Answer { response: Option<Response<Body>> },
        // Reading the start of the request body, then calling the ready service.
        Request {
            svc: Option<S>,
            parts: Option<request::Parts>,
            prefetch: Prefetch,
            rewrite: Option<Rewrite>,
            ctx: Option<Ctx>,
        },
        // Waiting for the inner service.
        Inner { #[pin] fut: F, ctx: Option<Ctx> },
        // Reading the start of the response body, then answering.
        Response {
            parts: Option<response::Parts>,
            prefetch: Prefetch,
            rewrite: Option<Rewrite>,
            ctx: Option<Ctx>,
        },
    }
}

impl<S, F> ResponseFuture<S, F> {
    pub(super) const fn answer(response: Response<Body>) -> Self {
        Self {
            state: State::Answer {
                response: Some(response),
            },
        }
    }

    pub(super) const fn inner(fut: F, ctx: Option<Ctx>) -> Self {
        Self {
            state: State::Inner { fut, ctx },
        }
    }

    pub(super) fn request(
        svc: S,
        parts: request::Parts,
        prefetch: Prefetch,
        rewrite: Rewrite,
        ctx: Ctx,
    ) -> Self {
        Self {
            state: State::Request {
                svc: Some(svc),
                parts: Some(parts),
                prefetch,
                rewrite: Some(rewrite),
                ctx: Some(ctx),
            },
        }
    }
}

impl<S, F, ResBody> Future for ResponseFuture<S, F>
where
    S: Service<Request<Body>, Response = Response<ResBody>, Future = F>,
    F: Future<Output = Result<Response<ResBody>, S::Error>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut state = self.as_mut().project().state;
            let next = match state.as_mut().project() {
                StateProj::Answer { response } => {
                    return Poll::Ready(Ok(response
                        .take()
                        .unwrap_or_else(polled_after_completion)));
                }
                StateProj::Request {
                    svc,
                    parts,
                    prefetch,
                    rewrite,
                    ctx,
                } => {
                    let prefetched = ready!(prefetch.poll(cx));
                    match (svc.take(), parts.take(), rewrite.take(), ctx.take()) {
                        (Some(mut svc), Some(parts), Some(rewrite), Some(ctx)) => {
                            match request_body(parts, prefetched, rewrite, &ctx) {
                                Ok(req) => State::Inner {
                                    fut: svc.call(req),
                                    ctx: Some(ctx),
                                },
                                Err(e) => State::Answer {
                                    response: Some(e.into_response()),
                                },
                            }
                        }
                        _ => State::Answer { response: None },
                    }
                }
                StateProj::Inner { fut, ctx } => {
                    let res = ready!(fut.poll(cx))?;
                    let Some(ctx) = ctx.take() else {
                        return Poll::Ready(Ok(res.map(Body::new)));
                    };
                    response_head(res, ctx)
                }
                StateProj::Response {
                    parts,
                    prefetch,
                    rewrite,
                    ctx,
                } => {
                    let prefetched = ready!(prefetch.poll(cx));
                    let res = match (parts.take(), rewrite.take(), ctx.take()) {
                        (Some(parts), Some(rewrite), Some(ctx)) => {
                            response_body(parts, prefetched, rewrite, &ctx)
                        }
                        _ => polled_after_completion(),
                    };
                    return Poll::Ready(Ok(res));
                }
            };
            state.set(next);
        }
    }
}

fn polled_after_completion() -> Response<Body> {
    Error::internal("relocation future polled after completion").into_response()
}

/// Rewrites the response headers: the next state is the answer, or, for a body to
/// be rewritten, reading that body up to the buffer limit.
fn response_head<B, S, F>(res: Response<B>, ctx: Ctx) -> State<S, F>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (mut parts, body) = res.into_parts();
    let svn = ctx.config.profile.is_svn();
    if let Err(e) = response_headers::rewrite(&mut parts.headers, &ctx.relocation, &ctx.base, svn) {
        tracing::warn!(error = %e, status = %parts.status, "upstream response header cannot be relocated: 502");
        let response = Error::new(ErrorKind::BadGateway, e.to_string()).into_response();
        return State::Answer {
            response: Some(response),
        };
    }
    let Some(rewrite) = ctx.response_rewrite(parts.status, &parts.headers) else {
        return State::Answer {
            response: Some(Response::from_parts(parts, Body::new(body))),
        };
    };
    // The body is rewritten: it is never spliced past the rewriter.
    parts
        .extensions
        .remove::<frontdoor_core::splice::SpliceOffer>();
    weaken_etag(&mut parts.headers);
    for name in DIGESTS {
        parts.headers.remove(name);
    }
    if streams_at_once(&rewrite, &ctx) {
        let prefetched = Ok(Prefetched::Partial {
            chunks: Vec::new(),
            rest: Body::new(body),
        });
        return State::Answer {
            response: Some(response_body(parts, prefetched, rewrite, &ctx)),
        };
    }
    State::Response {
        parts: Some(parts),
        prefetch: Prefetch::new(Body::new(body), ctx.config.buffer_limit),
        rewrite: Some(rewrite),
        ctx: Some(ctx),
    }
}

/// Whether a body to be rewritten streams without being prefetched: a coded one,
/// whose decoded size is known only once it is decoded, and which therefore never
/// gets an exact `Content-Length` (unless bodies over the buffer limit pass through
/// unrewritten: then the prefetch decides).
pub(super) fn streams_at_once(rewrite: &Rewrite, ctx: &Ctx) -> bool {
    rewrite.coding.is_some() && ctx.config.over_limit == OverLimit::Stream
}

/// Headers that describe the exact bytes of a body, wrong once it is rewritten.
const DIGESTS: [HeaderName; 4] = [
    HeaderName::from_static("content-md5"),
    HeaderName::from_static("digest"),
    HeaderName::from_static("content-digest"),
    HeaderName::from_static("repr-digest"),
];

/// A rewritten body is no longer byte-identical to the upstream's: a strong `ETag`
/// becomes weak.
fn weaken_etag(headers: &mut HeaderMap) {
    if let Some(etag) = headers
        .get(ETAG)
        .filter(|v| v.as_bytes().starts_with(b"\""))
    {
        let mut weak = Vec::with_capacity(etag.len() + 2);
        weak.extend_from_slice(b"W/");
        weak.extend_from_slice(etag.as_bytes());
        if let Ok(weak) = HeaderValue::from_bytes(&weak) {
            headers.insert(ETAG, weak);
        }
    }
}

fn response_body(
    mut parts: response::Parts,
    prefetched: Result<Prefetched, BoxError>,
    rewrite: Rewrite,
    ctx: &Ctx,
) -> Response<Body> {
    match finish_body(&mut parts.headers, prefetched, rewrite, ctx, Side::Response) {
        Ok(body) => Response::from_parts(parts, Body::new(body)),
        Err(e) => {
            tracing::warn!(error = %e, status = %parts.status, "upstream response body cannot be relocated: 502");
            Error::new(ErrorKind::BadGateway, "response body cannot be relocated").into_response()
        }
    }
}

pub(super) fn request_body(
    mut parts: request::Parts,
    prefetched: Result<Prefetched, BoxError>,
    rewrite: Rewrite,
    ctx: &Ctx,
) -> Result<Request<Body>, Error> {
    match finish_body(&mut parts.headers, prefetched, rewrite, ctx, Side::Request) {
        Ok(body) => Ok(Request::from_parts(parts, Body::new(body))),
        Err(e) => {
            tracing::debug!(error = %e, method = %parts.method, "request body cannot be relocated: 400");
            Err(Error::bad_request("request body cannot be relocated"))
        }
    }
}

/// Which message a body is: a response's coding follows the client's
/// `Accept-Encoding`, a request's stays the one the client chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

/// The body to send, with `Content-Length` set to the exact rewritten length, or
/// removed when the body streams.
fn finish_body(
    headers: &mut HeaderMap,
    prefetched: Result<Prefetched, BoxError>,
    rewrite: Rewrite,
    ctx: &Ctx,
    side: Side,
) -> Result<RewriteBody, BoxError> {
    let over_limit = ctx.config.over_limit;
    let Rewrite { transform, coding } = rewrite;
    let Some(from) = coding else {
        return finish_identity(headers, prefetched, transform, over_limit);
    };
    let (chunks, rest) = match prefetched? {
        Prefetched::Complete { chunks, trailers } => (chunks, Err(trailers)),
        Prefetched::Partial { chunks, rest } => match over_limit {
            OverLimit::Stream => (chunks, Ok(rest)),
            OverLimit::PassThrough => {
                tracing::warn!("body over the relocation buffer limit passed through unrewritten");
                return Ok(RewriteBody::streaming(chunks, rest, None));
            }
        },
    };
    let to = match side {
        Side::Request => Some(from),
        Side::Response => ctx.response_coding(from),
    };
    headers.remove(CONTENT_LENGTH);
    match to {
        Some(coding) => headers.insert(CONTENT_ENCODING, coding.header_value()),
        None => headers.remove(CONTENT_ENCODING),
    };
    if side == Side::Response {
        vary_accept_encoding(headers);
        // Byte ranges of the upstream's coded bytes name nothing in what is sent.
        headers.remove(ACCEPT_RANGES);
    }
    Ok(RewriteBody::coded(
        chunks,
        rest,
        transform,
        ctx.coded(from, to),
    ))
}

/// `Vary: Accept-Encoding` on an answer whose coding followed the client's, unless
/// `Vary` already names it (or is `*`).
fn vary_accept_encoding(headers: &mut HeaderMap) {
    let named = headers
        .get_all(VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|f| f == "*" || f.eq_ignore_ascii_case("accept-encoding"));
    if !named {
        headers.append(VARY, HeaderValue::from_static("accept-encoding"));
    }
}

/// [`finish_body`] for a body without a content coding: a complete one is rewritten
/// at once, with an exact `Content-Length`.
fn finish_identity(
    headers: &mut HeaderMap,
    prefetched: Result<Prefetched, BoxError>,
    mut transform: Transform,
    over_limit: OverLimit,
) -> Result<RewriteBody, BoxError> {
    match prefetched? {
        Prefetched::Complete { chunks, trailers } => {
            let data = transform_all(&mut transform, chunks)?;
            headers.insert(CONTENT_LENGTH, HeaderValue::from(data.len()));
            Ok(RewriteBody::complete(data, trailers))
        }
        Prefetched::Partial { chunks, rest } => match over_limit {
            OverLimit::Stream => {
                headers.remove(CONTENT_LENGTH);
                Ok(RewriteBody::streaming(chunks, rest, Some(transform)))
            }
            OverLimit::PassThrough => {
                tracing::warn!("body over the relocation buffer limit passed through unrewritten");
                Ok(RewriteBody::streaming(chunks, rest, None))
            }
        },
    }
}

fn transform_all(transform: &mut Transform, chunks: Vec<Bytes>) -> Result<Bytes, RewriteError> {
    let mut out = BytesMut::new();
    for chunk in chunks {
        out.extend_from_slice(&transform.feed(chunk)?);
    }
    out.extend_from_slice(&transform.finish()?);
    Ok(out.freeze())
}
