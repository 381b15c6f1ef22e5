//! Shared fixtures: a recording shadow double, the upstream client as the shadow,
//! loopback servers (answering, hanging, refusing), and small request helpers.
#![allow(dead_code, reason = "each test binary uses a subset")]

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use frontdoor_core::Body;
use frontdoor_mirror::{Exchange, MirrorLayer, TeeBody};
use frontdoor_upstream::{HostPolicy, Upstream};
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::Mutex;
use tokio::{io::AsyncReadExt, net::TcpListener, sync::mpsc};
use tower::{service_fn, util::BoxCloneSyncService, ServiceExt};

pub(crate) type Primary = BoxCloneSyncService<Request<TeeBody<Body>>, Response<Body>, Infallible>;

/// What a shadow double received: the head and the collected body.
#[derive(Debug)]
pub(crate) struct Seen {
    pub(crate) head: http::request::Parts,
    pub(crate) body: Bytes,
}

/// A shadow double that records each request and answers `status` after `delay`
/// (tokio time: paused in the tests that pause it).
pub(crate) fn recording_shadow(
    status: u16,
    delay: Duration,
) -> (
    BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>,
    Arc<Mutex<Vec<Seen>>>,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let svc = service_fn(move |req: Request<Body>| {
        let log = Arc::clone(&log);
        async move {
            let (head, body) = req.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            log.lock().push(Seen { head, body });
            tokio::time::sleep(delay).await;
            Ok::<_, Infallible>(
                Response::builder()
                    .status(status)
                    .body(Body::from("shadow"))
                    .unwrap(),
            )
        }
    });
    (BoxCloneSyncService::new(svc), seen)
}

/// The shadow service as the binary builds it: an `Upstream` at `url` that sends the
/// mirror's `Host` mark (`HostPolicy::Preserve`).
pub(crate) fn upstream(url: &str) -> Upstream {
    Upstream::builder(url)
        .host(HostPolicy::Preserve)
        .build()
        .unwrap()
}

/// A primary that reads the whole body, then answers 200 `primary` after `delay`.
pub(crate) fn primary(delay: Duration) -> Primary {
    BoxCloneSyncService::new(service_fn(move |req: Request<TeeBody<Body>>| async move {
        let _ = req.into_body().collect().await;
        tokio::time::sleep(delay).await;
        Ok::<_, Infallible>(Response::new(Body::from("primary")))
    }))
}

/// Installs an `on_exchange` hook that forwards every exchange to a channel.
pub(crate) fn exchanges(layer: MirrorLayer) -> (MirrorLayer, mpsc::UnboundedReceiver<Exchange>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let layer = layer.on_exchange(move |ex| {
        let _ = tx.send(ex.clone());
    });
    (layer, rx)
}

pub(crate) fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// A loopback HTTP/1 server recording each request and answering `status` `body`.
pub(crate) async fn recording_server(
    status: u16,
    body: &'static str,
) -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let tx = tx.clone();
            let body_static = body;
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let tx = tx.clone();
                async move {
                    let (head, b) = req.into_parts();
                    let body = b.collect().await.unwrap().to_bytes();
                    let _ = tx.send(Seen { head, body });
                    let body_text = body_static;
                    let res = Response::builder()
                        .status(status)
                        .body(Body::from(body_text));
                    Ok::<_, Infallible>(res.unwrap())
                }
            });
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    (addr, rx)
}

/// A loopback server that accepts connections, reads everything and never answers.
pub(crate) async fn hanging_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        // Hold the half-closed socket open: still no answer.
                        std::future::pending::<()>().await;
                    }
                }
            });
        }
    });
    addr
}

/// A loopback address nothing listens on (connections are refused).
pub(crate) async fn refused_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr
}

/// Calls `svc` with `req`, returning the response body.
pub(crate) async fn call_collect<S>(svc: S, req: Request<Body>) -> (u16, Bytes)
where
    S: tower::Service<Request<Body>, Error = Infallible>,
    S::Response: Into<Response<frontdoor_mirror::CaptureBody<Body>>>,
{
    let res: Response<_> = svc.oneshot(req).await.unwrap().into();
    let status = res.status().as_u16();
    (status, res.into_body().collect().await.unwrap().to_bytes())
}

/// Waits, at most 10 s, until `done` holds, yielding to the runtime in between: for
/// counters the shadow tasks update after the primary has already answered (a
/// shadow's `mirrored` count is taken in its task, not in the call).
pub(crate) async fn until(mut done: impl FnMut() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(waited.is_ok(), "condition not reached within 10 s");
}
