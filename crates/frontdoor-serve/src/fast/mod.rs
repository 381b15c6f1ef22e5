//! The proxy-specialised HTTP/1.1 path ([`Server::http1_fast_path`](crate::Server::http1_fast_path),
//! on by default): one task per connection reads each request head once
//! (`head.rs`: the wire scanner's rules, producing the request the service sees),
//! calls the service, and writes the answer (`respond.rs`, its head encoded by
//! `outbound.rs`), with no hyper server and no second scan of the head. The request
//! body is read off the connection's buffer by the service itself as it forwards it
//! (`inbound.rs`).
//!
//! Which requests take which path:
//!
//! * HTTP/1.1 and HTTP/1.0 requests (keep-alive as each version says) on a
//!   plaintext connection, or a TLS one whose ALPN chose
//!   `http/1.1` (or none), are served here, pipelined ones included;
//! * the connection moves to the hyper path (hyper's server with the wire scanner,
//!   for the rest of its life) at the first head that asks for what only hyper does:
//!   an `Upgrade` (WebSocket) or `CONNECT`, an `Expect`
//!   (`100-continue`), and every head hyper answers itself (malformed, too large:
//!   400, 414, 431); so do connections that open with the HTTP/2 preface, and TLS
//!   connections that agreed on `h2`.
//!
//! An answer that offers its body for splicing (`splice.rs`) on a plain TCP
//! connection has the body's data moved by `splice(2)` when it is framed by length
//! or chunked.
//!
//! The guard's rules apply as on the hyper path: the framing refusals (fragment,
//! `Content-Length` with `Transfer-Encoding`, [`check_head`]'s table) answer with the
//! same status and body and close; an announced body over `max_request_body` is a
//! `413`; the body is paced, capped and never ends short; hop-by-hop headers the
//! client nominated are removed, [`ConnInfo`] is stamped. A service error closes the
//! connection without an answer, as hyper does. A connection whose request body was
//! not read to its end by the time the answer starts closes after the answer.

pub(crate) mod fuzz;
mod head;
mod inbound;
mod outbound;
mod respond;
#[cfg(target_os = "linux")]
pub(crate) mod splice;

use std::{future::poll_fn, pin::pin, sync::Arc, task::Poll};

use bytes::Bytes;
use frontdoor_core::{
    proto::{
        framing::{check_head, Refusal},
        hop_by_hop,
    },
    Body, BoxError, ConnInfo, UploadBody,
};
use http::{header, HeaderValue, Method, Request, Response, StatusCode, Version};
use parking_lot::Mutex;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    time::Instant,
};
use tracing::debug;

use self::{
    head::{BodyFraming, Head, HeadLimits, Parsed},
    inbound::{close, fill, Conn, Inbound, RequestBody},
    respond::{respond, Exchange, COPY_MAX, WRITE_BUF},
};
use crate::{
    bounds::{ConnService, ResponseBody},
    clock::{Check, ConnClock, Expired, Timeouts},
    conn_io::ConnIo,
    guard::{announced_length, canonical_length, GuardConfig},
    http_conn::{serve_hyper, Protocol},
    idle_body::{request_body, BodyPace, IdleBody},
    proxy_protocol::Rewind,
    shared::Shared,
};

/// How a connection's loop ended.
enum Ended<S> {
    /// Close the connection.
    Close,
    /// Hand it to the hyper path, with these bytes first.
    Handoff(Bytes, S),
}

/// Serves HTTP/1.1 over `io` on the fast path until the connection ends, a timeout
/// expires or shutdown drains it; hands it to the hyper path as the
/// [module docs](self) say.
pub(crate) async fn serve<I, S, B>(
    io: ConnIo<I>,
    clock: Arc<ConnClock>,
    info: ConnInfo,
    protocol: Protocol,
    service: S,
    shared: &Shared,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: ConnService<B>,
    B: ResponseBody,
{
    let mut guard = Abandon(Some(Arc::new(Mutex::new(Inbound::new(io)))));
    let Some(conn) = guard.0.as_ref() else {
        return;
    };
    let run = run(conn, &clock, info, protocol, service, shared);
    let Some(ended) = timed(run, &clock, shared).await else {
        return;
    };
    match ended {
        Ended::Close => close(conn).await,
        Ended::Handoff(prefix, service) => {
            let Some(conn) = guard.0.take() else {
                return;
            };
            let Ok(inbound) = Arc::try_unwrap(conn) else {
                debug!(remote = %info.remote, "connection still borrowed at handoff: closing");
                return;
            };
            let io = inbound
                .into_inner()
                .io
                .map_inner(|io| Rewind::new(io, prefix));
            Box::pin(serve_hyper(io, clock, info, protocol, service, shared)).await;
        }
    }
}

/// Abandons the connection's read side when its task ends, however it ends (see
/// [`Inbound::abandon`]); taken out at a handoff.
struct Abandon<I>(Option<Conn<I>>);

impl<I> Drop for Abandon<I> {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            conn.lock().abandon();
        }
    }
}

/// Runs `run` under the connection's clock (header, idle and send timeouts) and the
/// forced end of a drain; `None` when either cut it off.
async fn timed<F: std::future::Future>(
    run: F,
    clock: &ConnClock,
    shared: &Shared,
) -> Option<F::Output> {
    let timeouts = Timeouts::of(&shared.config);
    let first = match clock.check(Instant::now(), timeouts) {
        Check::RearmAt(at) => at,
        Check::Close(expired) => {
            log_expired(expired);
            return None;
        }
    };
    let mut run = pin!(run);
    let mut timer = pin!(tokio::time::sleep_until(first));
    loop {
        tokio::select! {
            ended = run.as_mut() => return Some(ended),
            () = timer.as_mut() => match clock.check(Instant::now(), timeouts) {
                Check::Close(expired) => {
                    log_expired(expired);
                    return None;
                }
                Check::RearmAt(at) => timer.as_mut().reset(at),
            },
            () = shared.force.cancelled() => return None,
        }
    }
}

fn log_expired(expired: Expired) {
    debug!("{}: closing connection", expired.as_str());
}

/// The connection's loop: a head, the service's answer, the next head.
async fn run<I, S, B>(
    conn: &Conn<I>,
    clock: &Arc<ConnClock>,
    info: ConnInfo,
    protocol: Protocol,
    mut service: S,
    shared: &Shared,
) -> Ended<S>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: ConnService<B>,
    B: ResponseBody,
{
    let config = &shared.config;
    let limits = HeadLimits {
        max_headers: config.max_headers,
        max_header_bytes: config.max_header_bytes,
        detect_h2: matches!(protocol, Protocol::Detect),
    };
    let guard = GuardConfig::of(config);
    let mut out = Vec::with_capacity(1024);
    loop {
        let parsed = loop {
            let head = head::parse(&mut conn.lock().buf, limits);
            match head {
                Head::Partial => {}
                Head::Handoff(prefix) => return Ended::Handoff(prefix, service),
                Head::Refused(refusal) => {
                    answer_refusal(conn, clock, refusal, &mut out).await;
                    return Ended::Close;
                }
                Head::Request(parsed) => break parsed,
            }
            let idle = conn.lock().buf.is_empty();
            let read = if idle {
                tokio::select! {
                    biased;
                    read = fill(conn) => read,
                    () = shared.shutdown.cancelled() => return Ended::Close,
                }
            } else {
                fill(conn).await
            };
            match read {
                Ok(n) if n > 0 => {}
                // The client closed between requests (or mid-head, which hyper
                // answers with nothing either).
                _ => return Ended::Close,
            }
        };
        let Parsed {
            req,
            framing,
            keep_alive,
        } = parsed;
        let token = clock.begin(Version::HTTP_11);
        let is_head = req.method() == Method::HEAD;
        let http10 = req.version() == Version::HTTP_10;
        let req = match prepare(req, (framing, limits.max_headers), conn, clock, info, guard) {
            Ok(req) => req,
            Err(res) => {
                respond(conn, *res, Exchange::closing(http10), &mut out).await;
                drop(token);
                return Ended::Close;
            }
        };
        if framing == BodyFraming::None && closed_already(conn).await {
            debug!(remote = %info.remote, "client closed after its request: closing connection");
            return Ended::Close;
        }
        let ready = poll_fn(|cx| service.poll_ready(cx))
            .await
            .map_err(Into::into);
        let res: Result<Response<B>, BoxError> = match ready {
            Ok(()) => {
                let call = service.call(req);
                // The client's end of stream is looked at first on every wake, as
                // hyper's server reads before it polls the service: a request whose
                // client is gone is not sent on when both are ready.
                tokio::select! {
                    biased;
                    () = client_gone(conn, limits.max_header_bytes) => {
                        debug!(remote = %info.remote, "client closed before the answer: closing connection");
                        return Ended::Close;
                    }
                    res = call => res.map_err(Into::into),
                }
            }
            Err(e) => Err(e),
        };
        let res = match res {
            Ok(res) => res,
            Err(e) => {
                debug!(remote = %info.remote, error = %e, "service error: closing connection");
                return Ended::Close;
            }
        };
        let keep_alive = keep_alive
            && !clock.is_closing()
            && !shared.shutdown.is_cancelled()
            && conn.lock().body_done()
            && res.status() != StatusCode::SWITCHING_PROTOCOLS;
        let exchange = Exchange {
            is_head,
            keep_alive,
            http10,
        };
        // Kept alive only when the request body was read to its end before the
        // answer started (above) and the answer was written whole.
        let keep_alive = respond(conn, res, exchange, &mut out).await;
        drop(token);
        if !keep_alive {
            return Ended::Close;
        }
        conn.lock().shrink();
        if out.capacity() > WRITE_BUF + COPY_MAX {
            out = Vec::with_capacity(1024);
        }
    }
}

/// Whether the client has already closed its connection (an end of stream is
/// waiting behind the request just parsed), looked at once before the request is
/// handed on, as hyper's server reads ahead before it calls the service: a
/// half-closed client's request is never forwarded. Bytes read meanwhile (a
/// pipelined request) are kept.
async fn closed_already<I>(conn: &Conn<I>) -> bool
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let polled = poll_fn(|cx| Poll::Ready(inbound::poll_fill_once(&mut conn.lock(), cx))).await;
    matches!(polled, Poll::Ready(Ok(0) | Err(_)))
}

/// Resolves when the client closes its connection while its answer is awaited
/// (hyper's `half_close(false)`, which the hyper path keeps: an EOF aborts the
/// exchange). Watched only once the request body is read (the body's reader owns
/// the reads until then); bytes that arrive meanwhile (a pipelined request) are
/// kept, up to `max` bytes, past which watching stops.
async fn client_gone<I>(conn: &Conn<I>, max: usize)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    loop {
        let watch = {
            let inbound = conn.lock();
            inbound.body_done() && inbound.buf.len() <= max
        };
        if !watch {
            return std::future::pending().await;
        }
        match fill(conn).await {
            Ok(n) if n > 0 => {}
            _ => return,
        }
    }
}

/// The guard's work on a parsed request (its body framed by `framing`, with at
/// most `max_trailers` trailer lines, as the wire scanner counts them): its framing
/// checked, its body attached
/// (paced, capped, never ending short), its `Content-Length` canonical, the
/// hop-by-hop headers the client nominated removed, [`ConnInfo`] stamped; or the
/// answer that refuses it.
fn prepare<I>(
    req: Request<()>,
    (framing, max_trailers): (BodyFraming, usize),
    conn: &Conn<I>,
    clock: &Arc<ConnClock>,
    info: ConnInfo,
    guard: GuardConfig,
) -> Result<Request<Body>, Box<Response<Body>>>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if let Err(refusal) = check_head(&req) {
        debug!(remote = %info.remote, reason = refusal.reason(), "refused request framing");
        return Err(Box::new(refusal.response()));
    }
    let content_length = announced_length(&req);
    let max = guard.max_request_body;
    if max > 0 && content_length.is_some_and(|n| n > max) {
        debug!(remote = %info.remote, "announced request body over max_request_body");
        let mut res =
            frontdoor_core::text_response(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Err(Box::new(res));
    }
    let body = if framing == BodyFraming::None {
        Body::empty()
    } else {
        let generation = conn.lock().begin_body(framing, max_trailers);
        let pace = BodyPace {
            idle: guard.body_read_timeout,
            min_rate: guard.min_body_rate,
        };
        let raw = RequestBody::new(Arc::clone(conn), framing, generation);
        let body = UploadBody::new(IdleBody::new(raw, pace, Arc::clone(clock)))
            .content_length(content_length);
        request_body(body, max)
    };
    let mut req = req.map(|()| body);
    if let Some(n) = content_length {
        canonical_length(req.headers_mut(), n);
    }
    hop_by_hop::strip_nominated(req.headers_mut());
    req.extensions_mut().insert(info);
    Ok(req)
}

/// Answers a refused head (the connection closes after it).
async fn answer_refusal<I>(
    conn: &Conn<I>,
    clock: &Arc<ConnClock>,
    refusal: Refusal,
    out: &mut Vec<u8>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    debug!(reason = refusal.reason(), "refused request framing");
    let token = clock.begin(Version::HTTP_11);
    respond(conn, refusal.response(), Exchange::closing(false), out).await;
    drop(token);
}
