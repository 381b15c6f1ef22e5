//! Canned handlers.
//!
//! | Handler | Answer |
//! | --- | --- |
//! | [`simple`] | `200`, empty body (the fallback of the resolution order) |
//! | [`status`] | the given status, empty body |
//! | [`echo`] | `200`, the request's headers (minus framing) and body |
//! | [`delay`] | waits, then delegates |
//! | [`route`] | forwards to another server with `Host` rewritten, returns its answer |
//! | [`redirect`] | the given 3xx with a `Location` |
//! | [`set_cookie`] | `200` with a `Set-Cookie` |
//! | [`upgrade_echo`] | `101`, then echoes every byte on the upgraded connection |
//! | [`latch`] | fires a [`Signal`], then delegates |
//! | [`sequence`] | the n-th call uses the n-th handler, the last one repeats |

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    CONNECTION, CONTENT_LENGTH, HOST, LOCATION, SET_COOKIE, TRANSFER_ENCODING, UPGRADE,
};
use http::{HeaderValue, Request};

use crate::conn::client::forward;
use crate::consts::DEFAULT_MAX_BODY;
use crate::fault::Signal;
use crate::handler::{BoxHandler, Handler, Reply};

/// `200 OK` with an empty body.
#[must_use]
pub fn simple() -> BoxHandler {
    status(200)
}

/// This status with an empty body.
#[must_use]
pub fn status(code: u16) -> BoxHandler {
    BoxHandler::new(move |_req: Request<Bytes>| async move { Reply::status(code) })
}

/// `200 OK` whose headers are a copy of the request's (without
/// `Content-Length`/`Transfer-Encoding`, which are recomputed) and whose body
/// is the request body.
#[must_use]
pub fn echo() -> BoxHandler {
    BoxHandler::new(|req: Request<Bytes>| async move {
        let (parts, body) = req.into_parts();
        let mut reply = Reply::text(200, body);
        let headers = reply.response.headers_mut();
        for (name, value) in &parts.headers {
            if name != CONTENT_LENGTH && name != TRANSFER_ENCODING {
                headers.append(name.clone(), value.clone());
            }
        }
        reply
    })
}

/// Waits `d`, then answers with `next`.
#[must_use]
pub fn delay(d: Duration, next: impl Handler) -> BoxHandler {
    let next = Arc::new(next);
    BoxHandler::new(move |req: Request<Bytes>| {
        let next = Arc::clone(&next);
        async move {
            tokio::time::sleep(d).await;
            next.call(req).await
        }
    })
}

/// Forwards the request to `addr` with `Host: <addr>` and returns that
/// server's response (its body de-chunked). Traffic that reaches another
/// endpoint this way is recorded there too. A failure becomes a 502.
#[must_use]
pub fn route(addr: SocketAddr) -> BoxHandler {
    BoxHandler::new(move |mut req: Request<Bytes>| async move {
        if let Ok(v) = HeaderValue::from_str(&addr.to_string()) {
            req.headers_mut().insert(HOST, v);
        }
        let host = addr.ip().to_string();
        match forward((host.as_str(), addr.port()), &req, DEFAULT_MAX_BODY).await {
            Ok(mut resp) => {
                resp.headers_mut().remove(TRANSFER_ENCODING);
                resp.headers_mut().remove(CONTENT_LENGTH);
                Reply::new(resp)
            }
            Err(e) => Reply::text(502, format!("route to {addr} failed: {e}")),
        }
    })
}

/// This redirect status (301, 302, 303, 307, 308) with `Location: location`.
#[must_use]
pub fn redirect(code: u16, location: &str) -> BoxHandler {
    let location = HeaderValue::from_str(location).ok();
    BoxHandler::new(move |_req: Request<Bytes>| {
        let location = location.clone();
        async move {
            let mut reply = Reply::status(code);
            if let Some(l) = location {
                reply.response.headers_mut().insert(LOCATION, l);
            }
            reply
        }
    })
}

/// `200 OK` with one `Set-Cookie` header per given value, in order.
#[must_use]
pub fn set_cookie(cookies: &[&str]) -> BoxHandler {
    let values: Vec<HeaderValue> = cookies
        .iter()
        .filter_map(|c| HeaderValue::from_str(c).ok())
        .collect();
    BoxHandler::new(move |_req: Request<Bytes>| {
        let values = values.clone();
        async move {
            let mut reply = Reply::status(200);
            for v in values {
                reply.response.headers_mut().append(SET_COOKIE, v);
            }
            reply
        }
    })
}

/// Accepts any `Upgrade` with `101 Switching Protocols`, then echoes every
/// byte received on the upgraded connection. Without an `Upgrade` header it
/// answers 426. Works on hyper and raw endpoints.
#[must_use]
pub fn upgrade_echo() -> BoxHandler {
    BoxHandler::new(|mut req: Request<Bytes>| async move {
        let Some(proto) = req.headers().get(UPGRADE).cloned() else {
            return Reply::status(426);
        };
        if req
            .extensions()
            .get::<hyper::upgrade::OnUpgrade>()
            .is_some()
        {
            let on = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                if let Ok(up) = on.await {
                    let io = hyper_util::rt::TokioIo::new(up);
                    let (mut r, mut w) = tokio::io::split(io);
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                }
            });
        }
        let mut reply = Reply::status(101);
        let h = reply.response.headers_mut();
        h.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        h.insert(UPGRADE, proto);
        reply
    })
}

/// Fires `signal`, then answers with `next`: Deproxy's latch pattern for
/// coordinating a client fault with the origin's progress.
#[must_use]
pub fn latch(signal: Signal, next: impl Handler) -> BoxHandler {
    let next = Arc::new(next);
    BoxHandler::new(move |req: Request<Bytes>| {
        signal.fire();
        let next = Arc::clone(&next);
        async move { next.call(req).await }
    })
}

/// The n-th call uses the n-th handler; once exhausted the last one repeats.
/// An empty list answers like [`simple`]. Essential for retry tests.
#[must_use]
pub fn sequence(handlers: Vec<BoxHandler>) -> BoxHandler {
    let handlers = Arc::new(handlers);
    let calls = Arc::new(AtomicUsize::new(0));
    BoxHandler::new(move |req: Request<Bytes>| {
        let n = calls.fetch_add(1, Ordering::Relaxed);
        let h = handlers
            .get(n)
            .or_else(|| handlers.last())
            .cloned()
            .unwrap_or_else(simple);
        async move { h.call(req).await }
    })
}
