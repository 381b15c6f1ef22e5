//! Benchmarks of the frontdoor workspace.
//!
//! * `benches/load/upstream.sh` (binary `upstream-load`): a by-hand load benchmark of
//!   the upstream proxy against the upstream hit directly and nginx, driven by `wrk`.
//! * `benches/load/proxy_cost.sh` (binary `proxy-cost`): user-space instructions per
//!   proxied request, counted by valgrind, so that changes can be compared without the
//!   noise of a shared machine.
//! * `benches/load/stack.sh` (binaries `stack-upstream` and `stack-report`): the
//!   `frontdoor` binary itself, with several configs, against nginx and the upstream
//!   directly.
//!
//! * `benches/load/tls.sh` (binary `tls-load`): TLS termination, small responses over
//!   keep-alive and with a new connection (a full handshake) per request, against nginx
//!   terminating TLS with the same certificate.
//!
//! This library holds what the binaries share: the benchmark upstream, the proxy
//! stack under test, the parser of `wrk`'s output ([`wrk`]), and ([`load`]) `wrk`
//! runs, the median round and a private nginx.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark set-up: a failure is a broken bench"
)]

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use bytes::Bytes;
use frontdoor_core::Body;
use frontdoor_upstream::{Forwarding, GatewayError, GatewayErrorLayer, Upstream};
use http::{Request, Response};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use tokio::net::TcpListener;

pub mod load;
pub mod wrk;

static LARGE: [u8; 1 << 20] = [b'x'; 1 << 20];

/// The benchmark upstream: `/large`, `/big` and any path ending in `/big` answer
/// 1 MiB, anything else the 13 bytes `Hello, World!`.
async fn upstream(req: Request<hyper::body::Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    let body = if path == "/large" || path.ends_with("/big") {
        Body::from(Bytes::from_static(&LARGE))
    } else {
        Body::from("Hello, World!")
    };
    Ok(Response::new(body))
}

/// Starts the benchmark upstream (hyper, HTTP/1.1 and h2c) on `127.0.0.1:0` on `rt`.
pub fn start_upstream(rt: &tokio::runtime::Runtime) -> SocketAddr {
    rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(serve_upstream(l, Arc::default()));
        addr
    })
}

/// Serves the benchmark upstream on `listener` until it fails, adding one to
/// `accepts` for every connection accepted. Call from inside a tokio runtime.
pub async fn serve_upstream(listener: TcpListener, accepts: Arc<AtomicU64>) {
    while let Ok((s, _)) = listener.accept().await {
        accepts.fetch_add(1, Ordering::Relaxed);
        let _ = s.set_nodelay(true);
        tokio::spawn(async move {
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(s), hyper::service::service_fn(upstream))
                .await;
        });
    }
}

/// The proxy stack under test: `GatewayErrorLayer` over `Upstream` to `upstream`, with
/// the default forwarding headers and up to 256 idle upstream connections.
pub fn proxy_service(upstream: SocketAddr) -> GatewayError<Upstream> {
    tower_layer::Layer::layer(
        &GatewayErrorLayer::new(),
        Upstream::builder(&format!("http://{upstream}"))
            .forwarding(Forwarding::default())
            .pool_max_idle_per_host(256)
            .build()
            .unwrap(),
    )
}
