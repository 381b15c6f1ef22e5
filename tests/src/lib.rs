//! Shared support for frontdoor's integration tests: loopback servers, raw HTTP/1.1
//! and h2c clients, TLS clients ([`tls`]) and generated certificates ([`pki`]).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: failing loudly is the point"
)]

pub mod pki;
pub mod tls;

use std::net::SocketAddr;

use bytes::Bytes;
use frontdoor::{serve::Server, Body, BoxError};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::{net::TcpStream, sync::oneshot, task::JoinHandle};

/// A server running in the background on loopback, with a shutdown trigger.
#[derive(Debug)]
pub struct Running {
    /// The bound addresses, in the order requested.
    pub addrs: Vec<SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// The first address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Triggers graceful shutdown without waiting.
    pub fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Triggers graceful shutdown and waits until the server has finished.
    pub async fn shutdown(mut self) {
        self.trigger_shutdown();
        self.task.await.unwrap().unwrap();
    }

    /// Waits for the server to finish (after [`Running::trigger_shutdown`]).
    pub async fn finished(self) {
        self.task.await.unwrap().unwrap();
    }
}

/// Whether servers take the HTTP/1 fast path: on, unless the environment says
/// `FRONTDOOR_HTTP1_FAST_PATH=false` (the binary reads the same variable), so the
/// suite can run once per path.
#[must_use]
pub fn http1_fast_path() -> bool {
    std::env::var("FRONTDOOR_HTTP1_FAST_PATH").map_or(true, |v| v != "false")
}

/// Starts `server` serving `svc` in the background (on the HTTP/1 path
/// [`http1_fast_path`] names).
pub fn spawn<S, B>(server: Server, svc: S) -> Running
where
    S: tower::Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let addrs = server.local_addrs().unwrap();
    let server = server.http1_fast_path(http1_fast_path());
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(server.serve_with_shutdown(svc, async {
        let _ = rx.await;
    }));
    Running {
        addrs,
        shutdown: Some(tx),
        task,
    }
}

/// Binds `n` listeners on `127.0.0.1:0`.
pub async fn bind_loopback(n: usize) -> Server {
    let addrs = vec!["127.0.0.1:0".parse().unwrap(); n];
    Server::bind(&addrs).await.unwrap()
}

/// An HTTP/1.1 client connection to `addr`.
pub async fn h1(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    send
}

/// An HTTP/2 prior-knowledge (h2c) client connection to `addr`.
pub async fn h2c(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    send
}

/// A GET request for `path` with a `host` header.
#[must_use]
pub fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "test.invalid")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// Collects a response body as text.
pub async fn text(res: Response<Incoming>) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Collects a response body as JSON.
pub async fn json(res: Response<Incoming>) -> serde_json::Value {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}
