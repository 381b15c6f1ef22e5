//! The per-connection hyper service in front of the user's service: it counts each
//! request in on the connection's [`ConnClock`], refuses framing a proxy must not
//! forward (what the parsed head shows, [`check_head`], and what only the wire shows,
//! the [`Ledger`]'s verdict on the HTTP/1 request or HTTP/2 stream), answers an
//! announced body over `max_request_body` with a `413`, writes an announced
//! `Content-Length` as the canonical decimal, removes the hop-by-hop headers the
//! client nominated, and hands the rest on with [`ConnInfo`] and a paced, capped body
//! that fails, never ends, when cut short ([`UploadBody`]; too slow: `408`, and the
//! HTTP/1 answer closes the connection). A `101` answer (or a 2xx to `CONNECT`) marks
//! the connection upgraded on its clock and stops its scanner.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use frontdoor_core::{
    proto::{
        framing::{check_head, Refusal},
        hop_by_hop,
    },
    Body, BoxError, ConnInfo, EndStream, UploadBody,
};
use http::{header, HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body_util::Either;
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tower::{util::Oneshot, Service, ServiceExt};
use tracing::debug;

use crate::{
    bounds::{ConnService, ResponseBody},
    clock::{ConnClock, InFlight, Tracked},
    config::Config,
    idle_body::{request_body, BodyPace, IdleBody},
    strict::{Check, Ledger, WireEnd},
};

/// What the [`Guard`] applies to each request body.
#[derive(Clone, Copy, Debug)]
pub(super) struct GuardConfig {
    pub(super) body_read_timeout: Duration,
    /// The minimum average rate of a request body, in bytes a second; 0 is none.
    pub(super) min_body_rate: u64,
    /// The most bytes a request body may have; 0 means no cap.
    pub(super) max_request_body: u64,
}

impl GuardConfig {
    /// The per-request settings of the server's `config`.
    pub(super) const fn of(config: &Config) -> Self {
        Self {
            body_read_timeout: config.body_read_timeout,
            min_body_rate: config.min_body_rate,
            max_request_body: config.max_request_body,
        }
    }
}

/// The hyper service of one connection, wrapping the user's service `S`.
#[derive(Debug)]
pub(super) struct Guard<S> {
    inner: S,
    info: ConnInfo,
    clock: Arc<ConnClock>,
    config: GuardConfig,
    ledger: Arc<Ledger>,
    /// HTTP/1 requests seen on the connection.
    requests: AtomicU64,
}

// === impl Guard ===

impl<S> Guard<S> {
    pub(super) const fn new(
        inner: S,
        info: ConnInfo,
        clock: Arc<ConnClock>,
        config: GuardConfig,
        ledger: Arc<Ledger>,
    ) -> Self {
        Self {
            inner,
            info,
            clock,
            config,
            ledger,
            requests: AtomicU64::new(0),
        }
    }

    /// The verdict on `req`: refused, or passed with the end its HTTP/1 body must
    /// reach (`None` for HTTP/2, whose body must reach `END_STREAM`).
    fn check<B>(&self, req: &Request<B>) -> Result<Option<WireEnd>, Refusal> {
        let wire = if req.version() < Version::HTTP_2 {
            let index = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
            match self.ledger.check(index, req.method(), req.uri()) {
                Check::Pass(end) => Some(end),
                Check::Refuse(refusal) => return Err(refusal),
            }
        } else {
            self.ledger.check_stream(req.method(), req.uri())?;
            None
        };
        check_head(req)?;
        Ok(wire)
    }
}

impl<S, B> hyper::service::Service<Request<Incoming>> for Guard<S>
where
    // The `Response` binding names `B` for the compiler; `ConnService` has the rest.
    S: ConnService<B> + Service<Request<Body>, Response = Response<B>>,
    B: ResponseBody,
{
    type Response = Response<GuardedBody<B>>;
    type Error = BoxError;
    type Future = Guarded<Oneshot<S, Request<Body>>, B>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let token = Some(self.clock.begin(req.version()));
        let wire = match self.check(&req) {
            Ok(wire) => wire,
            Err(refusal) => {
                debug!(remote = %self.info.remote, reason = refusal.reason(), "refused request framing");
                return Guarded::Rejected {
                    res: Some(refusal.response().map(Either::Right)),
                    token,
                };
            }
        };
        let GuardConfig {
            body_read_timeout,
            min_body_rate,
            max_request_body,
        } = self.config;
        let content_length = announced_length(&req);
        if max_request_body > 0 && content_length.is_some_and(|n| n > max_request_body) {
            debug!(remote = %self.info.remote, "announced request body over max_request_body");
            return Guarded::Rejected {
                res: Some(rejection(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body too large",
                )),
                token,
            };
        }
        let tunnel = req.method() == Method::CONNECT;
        let ledger = wire.is_some().then(|| Arc::clone(&self.ledger));
        let pace = BodyPace {
            idle: body_read_timeout,
            min_rate: min_body_rate,
        };
        let mut req = req.map(|body| {
            if http_body::Body::is_end_stream(&body) {
                return Body::new(body);
            }
            let body = UploadBody::new(IdleBody::new(body, pace, Arc::clone(&self.clock)))
                .content_length(content_length);
            match wire {
                Some(end) => request_body(body.message_end(end), max_request_body),
                None => request_body(body.message_end(EndStream), max_request_body),
            }
        });
        if let Some(n) = content_length {
            canonical_length(req.headers_mut(), n);
        }
        hop_by_hop::strip_nominated(req.headers_mut());
        req.extensions_mut().insert(self.info);
        Guarded::Inner {
            fut: self.inner.clone().oneshot(req),
            token,
            ledger,
            tunnel,
        }
    }
}

/// The body length the request announces (`Content-Length`, already checked to be
/// digits by [`check_head`]).
pub(super) fn announced_length<B>(req: &Request<B>) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Writes an announced `Content-Length` as the canonical decimal `n` when the client
/// wrote it otherwise (`010`, which an upstream reading leading zeros as octal would
/// frame as 8 bytes): what is forwarded is the length the front door framed.
pub(super) fn canonical_length(headers: &mut http::HeaderMap, n: u64) {
    let canonical = headers
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| !(v.len() > 1 && v.as_bytes()[0] == b'0'));
    if !canonical {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
}

/// An answer that closes the connection: after a framing error the rest of the
/// stream cannot be trusted, and a refused body is not read.
fn rejection<B>(status: StatusCode, reason: &'static str) -> Response<Either<B, Body>> {
    let mut res = frontdoor_core::text_response(status, reason);
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res.map(Either::Right)
}

/// The response body of the connection service: the service's or the framing
/// guard's, holding the request's [`InFlight`] token until hyper drops it.
pub(super) type GuardedBody<B> = Tracked<Either<B, Body>>;

pin_project! {
    /// The per-request future of the connection service: the service's answer, or
    /// the framing guard's rejection. The request's [`InFlight`] token moves into the
    /// response body.
    #[project = GuardedProj]
    pub(super) enum Guarded<F, B> {
        Inner {
            #[pin] fut: F,
            token: Option<InFlight>,
            // The HTTP/1 connection's ledger, told when the connection switches protocols.
            ledger: Option<Arc<Ledger>>,
            tunnel: bool,
        },
        Rejected { res: Option<Response<Either<B, Body>>>, token: Option<InFlight> },
    }
}

// === impl Guarded ===

impl<F, B, E> Future for Guarded<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<GuardedBody<B>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GuardedProj::Inner {
                fut,
                token,
                ledger,
                tunnel,
            } => fut
                .poll(cx)
                .map_ok(|res| {
                    let switching = res.status() == StatusCode::SWITCHING_PROTOCOLS
                        || (*tunnel && res.status().is_success());
                    if switching {
                        if let Some(token) = token.as_ref() {
                            token.clock().mark_upgraded();
                        }
                        if let Some(ledger) = ledger.as_ref() {
                            ledger.upgraded();
                        }
                    }
                    let mut res = res;
                    if let Some(token) = token.as_ref() {
                        let clock = token.clock();
                        // A body that was too slow: its answer (408) ends the
                        // connection. HTTP/2 resets the stream instead; the other
                        // streams are innocent.
                        if clock.is_closing() && !clock.is_http2() {
                            res.headers_mut()
                                .insert(header::CONNECTION, HeaderValue::from_static("close"));
                        }
                    }
                    res.map(|b| Tracked::new(Either::Left(b), token.take()))
                })
                .map_err(Into::into),
            GuardedProj::Rejected { res, token } => match res.take() {
                Some(res) => Poll::Ready(Ok(res.map(|b| Tracked::new(b, token.take())))),
                None => Poll::Ready(Err("guarded future polled after completion".into())),
            },
        }
    }
}
