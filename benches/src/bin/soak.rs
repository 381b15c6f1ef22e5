//! Soak test of the `frontdoor` binary (run by hand: `benches/load/soak.sh`; not part
//! of `cargo test`).
//!
//! Starts the benchmark upstream on loopback and the built `frontdoor` binary in front
//! of it (a config with one default upstream; every limit at its default), then sends
//! `REQUESTS` requests (default one million) over `CONCURRENCY` client tasks (default
//! 32), mixing keep-alive and new connections: half of the connections carry one
//! request, the others 2 to 64. It reads the proxy's resident memory (`VmRSS`) once
//! `WARMUP` requests (default 100,000) are done and again at the end, and passes when
//! there was no error (a transport error, a status other than 200, a wrong body) and
//! the memory grew by less than 10% after warm-up. It stops by itself after
//! `MAX_SECS` (default 1200) whatever the count.
//!
//! Environment: `FRONTDOOR` (the binary, required), `REQUESTS`, `CONCURRENCY`,
//! `WARMUP`, `MAX_SECS`, `WORKERS` (frontdoor's `--workers`, default 2).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a by-hand soak binary"
)]

use std::{
    io::{BufRead, BufReader},
    process::{Command, ExitCode, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use frontdoor_benches::start_upstream;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::{net::TcpStream, time::Instant};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Counters shared by the client tasks.
#[derive(Default)]
struct Counts {
    issued: AtomicU64,
    done: AtomicU64,
    errors: AtomicU64,
    connections: AtomicU64,
}

/// The resident set size of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A tiny deterministic generator (xorshift), one per task: the mix of connection
/// lengths is the same on every run.
struct Lengths(u64);

impl Lengths {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        // Half the connections carry one request; the others 2..=64.
        if self.0 % 2 == 0 {
            1
        } else {
            2 + (self.0 >> 8) % 63
        }
    }
}

async fn connect(addr: &str, counts: &Counts) -> Option<SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(addr).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    counts.connections.fetch_add(1, Ordering::Relaxed);
    Some(tx)
}

/// One request on `tx`; `true` when it was answered 200 with the upstream's body.
async fn one(tx: &mut SendRequest<Empty<Bytes>>, last: bool) -> bool {
    let mut req = http::Request::get("/small")
        .header("host", "soak")
        .body(Empty::new())
        .unwrap();
    if last {
        req.headers_mut()
            .insert("connection", http::HeaderValue::from_static("close"));
    }
    if tx.ready().await.is_err() {
        return false;
    }
    let Ok(res) = tx.send_request(req).await else {
        return false;
    };
    let ok = res.status() == 200;
    match res.into_body().collect().await {
        Ok(body) => ok && body.to_bytes() == "Hello, World!",
        Err(_) => false,
    }
}

/// One client task: connections of random lengths until `total` requests were
/// issued or the deadline passed.
async fn client(addr: String, counts: Arc<Counts>, total: u64, seed: u64, deadline: Instant) {
    let mut lengths = Lengths(seed | 1);
    'conns: while Instant::now() < deadline {
        let budget = lengths.next();
        let Some(mut tx) = connect(&addr, &counts).await else {
            if counts.issued.fetch_add(1, Ordering::Relaxed) >= total {
                return;
            }
            counts.errors.fetch_add(1, Ordering::Relaxed);
            counts.done.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        for i in 0..budget {
            if counts.issued.fetch_add(1, Ordering::Relaxed) >= total {
                return;
            }
            let ok = one(&mut tx, i + 1 == budget).await;
            counts.done.fetch_add(1, Ordering::Relaxed);
            if !ok {
                counts.errors.fetch_add(1, Ordering::Relaxed);
                continue 'conns;
            }
        }
    }
}

fn main() -> ExitCode {
    let frontdoor = std::env::var("FRONTDOOR").expect("FRONTDOOR: the frontdoor binary");
    let total = env("REQUESTS", 1_000_000);
    let concurrency = env("CONCURRENCY", 32);
    let warmup = env("WARMUP", 100_000).min(total / 2);
    let max = Duration::from_secs(env("MAX_SECS", 1200));
    let workers = env("WORKERS", 2);

    let upstream_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let upstream = start_upstream(&upstream_rt);
    let config = std::env::temp_dir().join(format!("frontdoor-soak-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        format!("[default]\nupstream = \"http://{upstream}\"\n"),
    )
    .unwrap();

    let mut child = Command::new(&frontdoor)
        .args(["serve", "-c"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0", "--workers", &workers.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start frontdoor");
    let pid = child.id();
    let mut addr = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(a) = line.strip_prefix("frontdoor listening on http://") {
            addr = Some(a.to_owned());
        }
        if line == "ready" {
            break;
        }
    }
    let addr = addr.expect("frontdoor printed no listen address");
    println!("soak: frontdoor pid {pid} on {addr}, upstream {upstream}, {total} requests, {concurrency} clients");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    let deadline = start + max;
    let (rss_warm, rss_peak) = rt.block_on(async {
        let tasks: Vec<_> = (0..concurrency)
            .map(|i| {
                tokio::spawn(client(
                    addr.clone(),
                    Arc::clone(&counts),
                    total,
                    0x9e37_79b9_7f4a_7c15 ^ (i + 1),
                    deadline,
                ))
            })
            .collect();
        let mut rss_warm = None;
        let mut rss_peak = 0;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last_report = Instant::now();
        while !tasks.iter().all(tokio::task::JoinHandle::is_finished) {
            tick.tick().await;
            let done = counts.done.load(Ordering::Relaxed);
            let rss = rss_kib(pid);
            rss_peak = rss_peak.max(rss);
            if rss_warm.is_none() && done >= warmup {
                rss_warm = Some(rss);
                println!("soak: warm-up done at {done} requests, RSS {rss} KiB");
            }
            if last_report.elapsed() >= Duration::from_secs(10) {
                last_report = Instant::now();
                println!(
                    "soak: {done} requests, {} errors, {} connections, RSS {rss} KiB",
                    counts.errors.load(Ordering::Relaxed),
                    counts.connections.load(Ordering::Relaxed)
                );
            }
        }
        for t in tasks {
            let _ = t.await;
        }
        (rss_warm, rss_peak)
    });
    let took = start.elapsed();
    let rss_end = rss_kib(pid);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&config);

    let done = counts.done.load(Ordering::Relaxed);
    let errors = counts.errors.load(Ordering::Relaxed);
    let connections = counts.connections.load(Ordering::Relaxed);
    let rss_warm = rss_warm.unwrap_or(rss_end);
    let growth = (rss_end as f64 - rss_warm as f64) / rss_warm.max(1) as f64 * 100.0;
    println!();
    println!("| requests | errors | connections | seconds | req/s | RSS after warm-up KiB | RSS at end KiB | RSS peak KiB | growth |");
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {done} | {errors} | {connections} | {:.1} | {:.0} | {rss_warm} | {rss_end} | {rss_peak} | {growth:+.1}% |",
        took.as_secs_f64(),
        done as f64 / took.as_secs_f64()
    );
    let pass = done >= total && errors == 0 && growth < 10.0;
    println!("soak: {}", if pass { "PASS" } else { "FAIL" });
    if pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
