//! Load benchmark of `frontdoor-upstream` (run by hand: `benches/load/upstream.sh`).
//!
//! Starts, on loopback, a hyper upstream (`/small`: 13 bytes, `/large`: 1 MiB), the
//! frontdoor proxy stack (`GatewayErrorLayer` + `Upstream`, served by
//! `frontdoor::serve`) and nginx (2 workers, `proxy_pass` with upstream keepalive),
//! then drives each with `wrk` (64 connections for small, 16 for 1 MiB) in
//! alternation, `ROUNDS` times, and prints the median round's requests/s, p50/p99
//! latency and MB/s, with ratios against nginx measured in the same run.
//!
//! Environment: `DURATION` (seconds per round, default 10), `ROUNDS` (default 3),
//! `WRK_THREADS` (default 2), `PROXY_MODE` (`workers`, the default: one
//! `serve::Workers` worker per core like nginx's worker processes; or `multi`: one
//! multi-threaded runtime with `serve::Server`), `PROXY_THREADS` (default 2),
//! `ONLY_SMALL` (skip the 1 MiB case).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a by-hand benchmark binary"
)]

use std::{
    fmt::Write as _,
    net::SocketAddr,
    process::{Command, Stdio},
    time::Duration,
};

use frontdoor::serve::{Server, Workers};
use frontdoor_benches::{
    proxy_service, start_upstream,
    wrk::{self, Sample},
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn runtime(threads: usize, name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()
        .unwrap()
}

/// The proxy on one multi-threaded runtime: `frontdoor::serve::Server`.
fn start_proxy(rt: &tokio::runtime::Runtime, upstream: SocketAddr) -> SocketAddr {
    rt.block_on(async move {
        let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
            .await
            .unwrap();
        let addr = server.local_addrs().unwrap()[0];
        tokio::spawn(server.serve(proxy_service(upstream)));
        addr
    })
}

/// The proxy as one worker per core: `frontdoor::serve::Workers`, each worker with
/// its own upstream pool.
fn start_proxy_workers(rt: &tokio::runtime::Runtime, n: usize, upstream: SocketAddr) -> SocketAddr {
    let workers = Workers::bind(&["127.0.0.1:0".parse().unwrap()], n).unwrap();
    let addr = workers.local_addrs()[0];
    rt.spawn(workers.serve_with_shutdown(move |_| proxy_service(upstream), std::future::pending()));
    addr
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts nginx with 2 workers proxying to `upstream` with keepalive; returns its
/// address and the child (stopped with `-s stop` at the end).
fn start_nginx(upstream: SocketAddr, dir: &std::path::Path) -> Option<SocketAddr> {
    let port = free_port();
    let conf = format!(
        "worker_processes 2;\n\
         daemon on;\n\
         pid {dir}/nginx.pid;\n\
         error_log {dir}/error.log warn;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
           access_log off;\n\
           client_body_temp_path {dir}/body;\n\
           proxy_temp_path {dir}/proxy;\n\
           fastcgi_temp_path {dir}/fastcgi;\n\
           uwsgi_temp_path {dir}/uwsgi;\n\
           scgi_temp_path {dir}/scgi;\n\
           upstream backend {{ server {upstream}; keepalive 256; }}\n\
           server {{\n\
             listen 127.0.0.1:{port};\n\
             location / {{\n\
               proxy_pass http://backend;\n\
               proxy_http_version 1.1;\n\
               proxy_set_header Connection \"\";\n\
               proxy_set_header Host $host;\n\
               proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
               proxy_set_header X-Forwarded-Proto $scheme;\n\
             }}\n\
           }}\n\
         }}\n",
        dir = dir.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let status = Command::new("nginx")
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .stderr(Stdio::null())
        .status()
        .ok()?;
    status
        .success()
        .then(|| SocketAddr::from(([127, 0, 0, 1], port)))
}

fn stop_nginx(dir: &std::path::Path) {
    let _ = Command::new("nginx")
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-p")
        .arg(dir)
        .arg("-s")
        .arg("stop")
        .stderr(Stdio::null())
        .status();
}

/// The round with the median requests/s.
fn median(mut runs: Vec<Sample>) -> Sample {
    runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    runs.get(runs.len() / 2).copied().unwrap_or_default()
}

fn run_wrk(addr: SocketAddr, path: &str, conns: u32, secs: u64, threads: u32) -> Sample {
    let out = Command::new("wrk")
        .args([
            &format!("-t{threads}"),
            &format!("-c{conns}"),
            &format!("-d{secs}s"),
            "--latency",
            &format!("http://{addr}{path}"),
        ])
        .output()
        .expect("wrk runs");
    wrk::parse(&String::from_utf8_lossy(&out.stdout))
}

fn main() {
    let secs: u64 = std::env::var("DURATION")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let threads: u32 = std::env::var("WRK_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);

    let up_rt = runtime(2, "upstream");
    let proxy_threads: usize = std::env::var("PROXY_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let proxy_rt = runtime(proxy_threads, "proxy");
    let upstream = start_upstream(&up_rt);
    // PROXY_MODE=workers (default: one worker per core, as nginx) or multi (one
    // multi-threaded runtime with PROXY_THREADS workers).
    let multi = std::env::var("PROXY_MODE").is_ok_and(|m| m == "multi");
    let proxy = if multi {
        start_proxy(&proxy_rt, upstream)
    } else {
        start_proxy_workers(&proxy_rt, proxy_threads, upstream)
    };
    let dir = std::env::temp_dir().join(format!("frontdoor-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let nginx = start_nginx(upstream, &dir);
    if nginx.is_none() {
        println!("nginx not available: its rows are skipped");
    }
    std::thread::sleep(Duration::from_millis(300)); // let nginx's workers start

    let mut table = String::new();
    let _ = writeln!(
        table,
        "| case | target | req/s | p50 ms | p99 ms | MB/s | errors | req/s vs nginx | p99 vs nginx | MB/s vs nginx |"
    );
    let _ = writeln!(table, "|---|---|---|---|---|---|---|---|---|---|");
    let cases = [("13 B", "/small", 64), ("1 MiB", "/large", 16)];
    let only_small = std::env::var("ONLY_SMALL").is_ok();
    // Targets are measured in alternation, ROUNDS times each, and the median round
    // is reported: on a small shared machine one run can be off by 15%.
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    for (case, path, conns) in cases.into_iter().take(if only_small { 1 } else { 2 }) {
        let mut direct = Vec::new();
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..rounds {
            direct.push(run_wrk(upstream, path, conns, secs, threads));
            ours.push(run_wrk(proxy, path, conns, secs, threads));
            if let Some(n) = nginx {
                theirs.push(run_wrk(n, path, conns, secs, threads));
            }
        }
        let (direct, ours) = (median(direct), median(ours));
        let theirs = (!theirs.is_empty()).then(|| median(theirs));
        let mut row = |name: &str, r: Sample| {
            let (a, b, c) = theirs.map_or((f64::NAN, f64::NAN, f64::NAN), |n| {
                (r.rps / n.rps, r.p99_ms / n.p99_ms, r.mb_s / n.mb_s)
            });
            let _ = writeln!(
                table,
                "| {case} ({conns} conns) | {name} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {a:.2} | {b:.2} | {c:.2} |",
                r.rps, r.p50_ms, r.p99_ms, r.mb_s, r.errors
            );
        };
        row("upstream direct", direct);
        row("frontdoor", ours);
        if let Some(n) = theirs {
            row("nginx (2 workers)", n);
        }
    }
    if nginx.is_some() {
        stop_nginx(&dir);
    }
    println!("{table}");
}
