//! Loopback fixtures shared by the integration tests: scripted raw upstreams, real hyper
//! upstreams, and a real hyper server in front of the proxy stack.
#![allow(dead_code, reason = "each test binary uses a subset")]

use std::{convert::Infallible, future::Future, net::SocketAddr};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError, ConnInfo};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tower::{Service, ServiceExt};

/// A listener on a free loopback port.
pub(crate) async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

/// Reads one request head (up to and including the blank line).
pub(crate) async fn read_head(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(0) | Err(_) => break,
            Ok(_) => buf.push(byte[0]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// An upstream that, for each connection, records the request head it received and
/// answers with `script`, then closes.
pub(crate) async fn raw_upstream(
    script: &'static [u8],
) -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let (l, addr) = listener().await;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let head = read_head(&mut s).await;
                let _ = tx.send(head);
                let _ = s.write_all(script).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (addr, rx)
}

/// A real hyper upstream (HTTP/1 and h2c) running `handler` for every request.
pub(crate) async fn hyper_upstream<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let (l, addr) = listener().await;
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(req).await) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    addr
}

/// Serves `svc` on a loopback port with hyper's auto (HTTP/1 + h2c) server, with
/// upgrades, inserting [`ConnInfo`] as the facade's `serve` does.
pub(crate) async fn serve<S>(svc: S) -> SocketAddr
where
    S: Service<Request<Incoming>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let (l, addr) = listener().await;
    tokio::spawn(async move {
        while let Ok((s, remote)) = l.accept().await {
            let svc = svc.clone();
            let info = ConnInfo::new(addr, remote);
            tokio::spawn(async move {
                let svc = svc.map_request(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(info);
                    req
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(s), TowerToHyperService::new(svc))
                    .await;
            });
        }
    });
    addr
}

/// A plain hyper-util client for driving the proxy from outside.
pub(crate) fn client() -> Client<HttpConnector, Body> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Collects a body in a test.
pub(crate) async fn collect<B>(body: B) -> Result<Bytes, BoxError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    use http_body_util::BodyExt;
    Ok(body.collect().await.map_err(Into::into)?.to_bytes())
}
