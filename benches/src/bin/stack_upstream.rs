//! The upstream of `benches/load/stack.sh`: the benchmark upstream (13 bytes at
//! `GET /`, 1 MiB at `GET /big` and any path ending in `/big`) with a counter of the
//! TCP connections it accepts.
//!
//! Binds `127.0.0.1:0` twice and prints one line, `upstream ADDR control ADDR`. Every
//! connection to the control address is answered with the current count and a
//! newline, then closed (`read -r n </dev/tcp/127.0.0.1/PORT` in bash); control
//! connections are not counted. On SIGTERM or SIGINT it prints
//! `accepted N connections` and exits.
//!
//! Environment: `UPSTREAM_THREADS` (runtime worker threads, default 2).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a by-hand benchmark binary"
)]

use std::{
    io::Write as _,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use frontdoor_benches::serve_upstream;
use tokio::{io::AsyncWriteExt as _, net::TcpListener};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Answers every control connection with the count, then closes it.
async fn control(listener: TcpListener, accepts: Arc<AtomicU64>) {
    while let Ok((mut s, _)) = listener.accept().await {
        let line = format!("{}\n", accepts.load(Ordering::Relaxed));
        let _ = s.write_all(line.as_bytes()).await;
        let _ = s.shutdown().await;
    }
}

/// Resolves on SIGTERM or SIGINT (the handlers are installed when this is called,
/// before the first poll).
fn stopped() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).unwrap();
    let mut int = signal(SignalKind::interrupt()).unwrap();
    async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
}

fn main() {
    let threads = std::env::var("UPSTREAM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("upstream")
        .enable_all()
        .build()
        .unwrap();
    let accepts = Arc::new(AtomicU64::new(0));
    rt.block_on(async {
        let stop = stopped();
        let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ctl = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!(
            "upstream {} control {}",
            upstream.local_addr().unwrap(),
            ctl.local_addr().unwrap()
        );
        std::io::stdout().flush().unwrap();
        tokio::spawn(serve_upstream(upstream, accepts.clone()));
        tokio::spawn(control(ctl, accepts.clone()));
        stop.await;
    });
    println!("accepted {} connections", accepts.load(Ordering::Relaxed));
}
