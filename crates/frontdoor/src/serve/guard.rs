//! The per-connection hyper service in front of the user's service: it counts each
//! request in on the connection's [`ConnClock`], answers framing a proxy must not
//! forward with a `400` and an announced body over `max_request_body` with a `413`,
//! and hands the rest on with [`ConnInfo`] and an idle-timed, capped body. A `101`
//! answer marks the connection upgraded on its clock.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use frontdoor_core::{Body, BoxError, ConnInfo};
use http::{header, HeaderValue, Request, Response, StatusCode, Version};
use http_body_util::Either;
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tower::{util::Oneshot, Service, ServiceExt};
use tracing::debug;

use super::{
    clock::{ConnClock, InFlight, Tracked},
    idle_body::{request_body, IdleBody},
    ConnService, ResponseBody,
};

/// What the [`Guard`] applies to each request body.
#[derive(Clone, Copy, Debug)]
pub(super) struct GuardConfig {
    pub(super) body_read_timeout: Duration,
    /// The most bytes a request body may have; 0 means no cap.
    pub(super) max_request_body: u64,
}

/// The hyper service of one connection, wrapping the user's service `S`.
#[derive(Debug)]
pub(super) struct Guard<S> {
    inner: S,
    info: ConnInfo,
    clock: Arc<ConnClock>,
    config: GuardConfig,
}

// === impl Guard ===

impl<S> Guard<S> {
    pub(super) const fn new(
        inner: S,
        info: ConnInfo,
        clock: Arc<ConnClock>,
        config: GuardConfig,
    ) -> Self {
        Self {
            inner,
            info,
            clock,
            config,
        }
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
        if let Some(reason) = framing_error(&req) {
            debug!(remote = %self.info.remote, reason, "rejected request framing");
            return Guarded::Rejected {
                res: Some(rejection(StatusCode::BAD_REQUEST, reason)),
                token,
            };
        }
        let GuardConfig {
            body_read_timeout,
            max_request_body,
        } = self.config;
        if max_request_body > 0 && announced_length(&req).is_some_and(|n| n > max_request_body) {
            debug!(remote = %self.info.remote, "announced request body over max_request_body");
            return Guarded::Rejected {
                res: Some(rejection(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body too large",
                )),
                token,
            };
        }
        let mut req = req.map(|body| {
            if http_body::Body::is_end_stream(&body) {
                Body::new(body)
            } else {
                request_body(IdleBody::new(body, body_read_timeout), max_request_body)
            }
        });
        req.extensions_mut().insert(self.info);
        Guarded::Inner {
            fut: self.inner.clone().oneshot(req),
            token,
        }
    }
}

/// Checks what hyper's HTTP/1 parser lets through but a proxy must not forward
/// (RFC 9112 sections 3.2 and 6): a missing or repeated `Host` on HTTP/1.1, a
/// `Content-Length` that is not plain digits, and any `Transfer-Encoding` other than
/// a single `chunked`. Returns the reason to reject, if any.
fn framing_error<B>(req: &Request<B>) -> Option<&'static str> {
    let headers = req.headers();
    let mut hosts = headers.get_all(header::HOST).iter();
    let first_host = hosts.next();
    if hosts.next().is_some() {
        return Some("more than one host header");
    }
    if first_host.is_none() && req.version() == Version::HTTP_11 {
        return Some("missing host header");
    }
    for cl in &headers.get_all(header::CONTENT_LENGTH) {
        let digits = cl.as_bytes();
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Some("invalid content-length");
        }
    }
    let mut te = headers.get_all(header::TRANSFER_ENCODING).iter();
    if let Some(first) = te.next() {
        let single_chunked =
            te.next().is_none() && first.as_bytes().eq_ignore_ascii_case(b"chunked");
        if !single_chunked {
            return Some("unsupported transfer-encoding");
        }
    }
    None
}

/// The body length the request announces (`Content-Length`, already checked to be
/// digits by [`framing_error`]).
fn announced_length<B>(req: &Request<B>) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
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
        Inner { #[pin] fut: F, token: Option<InFlight> },
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
            GuardedProj::Inner { fut, token } => fut
                .poll(cx)
                .map_ok(|res| {
                    if res.status() == StatusCode::SWITCHING_PROTOCOLS {
                        if let Some(token) = token.as_ref() {
                            token.clock().mark_upgraded();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(req: http::request::Builder) -> Option<&'static str> {
        framing_error(&req.body(()).unwrap())
    }

    #[test]
    fn framing_a_proxy_must_not_forward_is_named() {
        let get = || Request::get("/").header("host", "h");
        assert_eq!(verdict(get()), None);
        assert_eq!(verdict(get().header("content-length", "12")), None);
        assert_eq!(verdict(get().header("transfer-encoding", "Chunked")), None);
        assert_eq!(
            verdict(Request::get("/")),
            Some("missing host header"),
            "HTTP/1.1 needs a Host"
        );
        assert_eq!(verdict(Request::get("/").version(Version::HTTP_10)), None);
        assert_eq!(
            verdict(get().header("host", "h2")),
            Some("more than one host header")
        );
        for cl in ["", "+1", "1,1", " 1"] {
            assert_eq!(
                verdict(get().header("content-length", cl)),
                Some("invalid content-length"),
                "{cl:?}"
            );
        }
        assert_eq!(
            verdict(get().header("transfer-encoding", "gzip, chunked")),
            Some("unsupported transfer-encoding")
        );
        assert_eq!(
            verdict(
                get()
                    .header("transfer-encoding", "chunked")
                    .header("transfer-encoding", "chunked")
            ),
            Some("unsupported transfer-encoding")
        );
    }
}
