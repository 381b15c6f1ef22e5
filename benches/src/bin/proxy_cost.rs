//! User-space cost of one proxied request, for valgrind (run by hand:
//! `benches/load/proxy_cost.sh`).
//!
//! Starts the benchmark upstream and the proxy stack (one `serve::Workers` worker, as
//! in `upstream-load`), then sends `N` keep-alive `GET /small` requests (default
//! 20000) over `CONNS` connections (default 8) to `TARGET`: `proxy` (the default) or
//! `direct` (the upstream itself). Under `valgrind --tool=callgrind` the difference in
//! instructions between the two targets, divided by `N`, is what the proxy costs per
//! request in user space; unlike wall-clock or CPU time it does not move with the load
//! of a shared machine.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a by-hand benchmark binary"
)]

use std::net::SocketAddr;

use frontdoor::serve::Workers;
use frontdoor_benches::{proxy_service, start_upstream};
use frontdoor_core::Body;
use http::Request;
use http_body_util::BodyExt as _;
use hyper_util::rt::TokioIo;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Sends `n` requests one after another on one keep-alive connection to `addr`.
async fn client(addr: SocketAddr, n: usize) {
    let io = TokioIo::new(tokio::net::TcpStream::connect(addr).await.unwrap());
    let (mut tx, conn) = hyper::client::conn::http1::handshake::<_, Body>(io)
        .await
        .unwrap();
    tokio::spawn(conn);
    for _ in 0..n {
        tx.ready().await.unwrap();
        let req = Request::get("/small")
            .header(http::header::HOST, "bench")
            .body(Body::empty())
            .unwrap();
        let res = tx.send_request(req).await.unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), 13);
    }
}

fn main() {
    let n = env_or("N", 20_000);
    let conns = env_or("CONNS", 8);
    let direct = std::env::var("TARGET").is_ok_and(|t| t == "direct");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let upstream = start_upstream(&rt);
    let target = if direct {
        upstream
    } else {
        let workers = Workers::bind(&["127.0.0.1:0".parse().unwrap()], 1).unwrap();
        let addr = workers.local_addrs()[0];
        rt.spawn(
            workers.serve_with_shutdown(move |_| proxy_service(upstream), std::future::pending()),
        );
        addr
    };
    rt.block_on(async move {
        let tasks: Vec<_> = (0..conns)
            .map(|_| tokio::spawn(client(target, n / conns)))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    println!(
        "{} requests to {}",
        n / conns * conns,
        if direct { "upstream" } else { "proxy" }
    );
}
