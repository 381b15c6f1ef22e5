//! Load benchmark of TLS termination (run by hand: `benches/load/tls.sh`).
//!
//! Starts, on loopback, the benchmark upstream (13-byte answers), frontdoor
//! (`serve::Workers`, 2 workers, a TLS and a plaintext listener in front of the proxy
//! stack) and nginx (2 workers, `listen ssl reuseport` and `listen reuseport`,
//! `proxy_pass` with upstream keepalive), both with the certificate and key at `CERT`
//! and `KEY`, then drives each in alternation, `ROUNDS` times, and prints the median
//! round's requests/s and p50/p99 latency, with ratios against nginx measured in the
//! same run:
//!
//! * keep-alive: 64 connections, each carrying many requests (record-layer cost);
//! * a new connection per request with `wrk` (`Connection: close`, 16 connections):
//!   TCP setup and a TLS handshake per request, but `wrk` (OpenSSL, TLS 1.2) resumes
//!   its session with a ticket on every reconnection, so these are abbreviated
//!   handshakes;
//! * full handshakes: a rustls client (in this binary, 16 tasks on 2 threads, TLS
//!   1.3, X25519, no session resumption) connects, handshakes, sends one request with
//!   `Connection: close` and reads the answer, in a loop: the full handshake rate;
//! * for reference, the keep-alive case over plaintext listeners of the same two
//!   servers, in the same run.
//!
//! Environment: `CERT`, `KEY` (PEM files, required), `CA` (the PEM CA the handshake
//! client trusts; default `CERT`), `DURATION` (seconds per round,
//! default 10), `ROUNDS` (default 3), `WRK_THREADS` (default 2), `PROXY_THREADS`
//! (default 2).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a by-hand benchmark binary"
)]

use std::{fmt::Write as _, net::SocketAddr, sync::Arc, time::Duration};

use frontdoor::serve::{
    tls::{CertResolver, CertSet, Certificate, TlsConfig},
    Workers,
};
use frontdoor_benches::{
    load::{env, free_port, median, nginx_upstream, run_wrk, runtime, Nginx, NGINX_PROXY_LOCATION},
    proxy_service, start_upstream,
    wrk::Sample,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REQUEST: &[u8] = b"GET /small HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// A rustls client that trusts the CA in `ca`, offers TLS 1.3 only and never resumes:
/// every connection is a full handshake.
fn full_handshake_client(ca: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(der.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// `conns` loops of connect, full handshake, one request, answer read to the end, for
/// `secs` seconds on a 2-thread runtime of their own.
fn handshakes(
    addr: SocketAddr,
    conns: u32,
    secs: u64,
    client: &Arc<rustls::ClientConfig>,
) -> Sample {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = runtime(2, "handshakes");
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(client));
    let (latencies, errors) = rt.block_on(async move {
        let until = tokio::time::Instant::now() + Duration::from_secs(secs);
        let tasks: Vec<_> = (0..conns)
            .map(|_| {
                let connector = connector.clone();
                tokio::spawn(async move {
                    let (mut latencies, mut errors) = (Vec::new(), 0u64);
                    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                    while tokio::time::Instant::now() < until {
                        let started = tokio::time::Instant::now();
                        let done = async {
                            let tcp = tokio::net::TcpStream::connect(addr).await?;
                            tcp.set_nodelay(true)?;
                            let mut tls = connector.connect(name.clone(), tcp).await?;
                            tls.write_all(REQUEST).await?;
                            // The answer, to the server's close (with or without a
                            // close_notify: both servers may close without one).
                            let mut answer = Vec::new();
                            let _ = tls.read_to_end(&mut answer).await;
                            Ok::<_, std::io::Error>(answer.starts_with(b"HTTP/1.1 200"))
                        };
                        match done.await {
                            Ok(true) => latencies.push(started.elapsed()),
                            _ => errors += 1,
                        }
                    }
                    (latencies, errors)
                })
            })
            .collect();
        let (mut all, mut errors) = (Vec::new(), 0);
        for task in tasks {
            let (latencies, e) = task.await.unwrap();
            all.extend(latencies);
            errors += e;
        }
        (all, errors)
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    summarize(latencies, errors, secs)
}

fn summarize(mut latencies: Vec<Duration>, errors: u64, secs: u64) -> Sample {
    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies
            .get(i)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    Sample {
        requests: latencies.len() as u64,
        rps: latencies.len() as f64 / secs as f64,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        mb_s: f64::NAN,
        errors,
    }
}

/// frontdoor's plaintext and TLS listeners (in that order): one worker per proxy
/// thread, each with its own upstream pool, all sharing one certificate resolver.
fn start_frontdoor(
    rt: &tokio::runtime::Runtime,
    workers: usize,
    upstream: SocketAddr,
    cert: &str,
    key: &str,
) -> Listeners {
    let cert = Certificate::from_pem(
        &std::fs::read(cert).expect("CERT"),
        &std::fs::read(key).expect("KEY"),
    )
    .unwrap();
    let certs = CertResolver::new(CertSet::builder().cert(cert).build().unwrap());
    let tls = TlsConfig::new(certs).unwrap();
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = Workers::bind(&[loopback], workers)
        .unwrap()
        .bind_tls(&[loopback], &tls)
        .unwrap();
    let listeners = Listeners {
        plain: server.local_addrs()[0],
        tls: server.local_tls_addrs()[0],
    };
    rt.spawn(server.serve_with_shutdown(move |_| proxy_service(upstream), std::future::pending()));
    listeners
}

/// A server's plaintext and TLS addresses.
#[derive(Clone, Copy)]
struct Listeners {
    plain: SocketAddr,
    tls: SocketAddr,
}

/// nginx proxying to `upstream` on a plaintext listener and on a TLS one with the same
/// certificate.
fn start_nginx(
    dir: &std::path::Path,
    upstream: SocketAddr,
    cert: &str,
    key: &str,
) -> Option<(Nginx, Listeners)> {
    let (plain, tls) = (free_port(), free_port());
    let http = format!(
        "{upstream_block}
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{plain} reuseport;
        {NGINX_PROXY_LOCATION}
    }}
    server {{
        listen 127.0.0.1:{tls} ssl reuseport;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        {NGINX_PROXY_LOCATION}
    }}",
        upstream_block = nginx_upstream(upstream)
    );
    let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    Nginx::start(dir, &http).map(|n| {
        (
            n,
            Listeners {
                plain: at(plain),
                tls: at(tls),
            },
        )
    })
}

/// How a case drives a server.
#[derive(Clone, Copy)]
enum Driver {
    /// wrk over plaintext HTTP/1.1, with these headers.
    Plain(&'static [&'static str]),
    /// wrk over HTTPS, with these headers.
    Https(&'static [&'static str]),
    /// The full-handshake client.
    Handshakes,
}

fn main() {
    let cert = std::env::var("CERT").expect("CERT: a PEM certificate file");
    let key = std::env::var("KEY").expect("KEY: a PEM private key file");
    let secs: u64 = env("DURATION", 10);
    let rounds: usize = env("ROUNDS", 3);
    let threads: u32 = env("WRK_THREADS", 2);
    let proxy_threads: usize = env("PROXY_THREADS", 2);

    let up_rt = runtime(2, "upstream");
    let proxy_rt = runtime(1, "proxy");
    let upstream = start_upstream(&up_rt);
    let ours = start_frontdoor(&proxy_rt, proxy_threads, upstream, &cert, &key);
    let dir = std::env::temp_dir().join(format!("frontdoor-nginx-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let nginx = start_nginx(&dir, upstream, &cert, &key);
    if nginx.is_none() {
        println!("nginx not available: its rows are skipped");
    }
    std::thread::sleep(Duration::from_millis(300)); // let nginx's workers start

    let mut table = String::new();
    let _ = writeln!(
        table,
        "| case | target | req/s | p50 ms | p99 ms | errors | req/s vs nginx | p99 vs nginx |"
    );
    let _ = writeln!(table, "|---|---|---|---|---|---|---|---|");
    let client = full_handshake_client(&std::env::var("CA").unwrap_or_else(|_| cert.clone()));
    let cases: [(&str, u32, Driver); 4] = [
        ("13 B, keep-alive, wrk (TLS 1.2)", 64, Driver::Https(&[])),
        (
            "13 B, new connection per request, wrk (TLS 1.2, resumed)",
            16,
            Driver::Https(&["Connection: close"]),
        ),
        (
            "13 B, new connection per request, full TLS 1.3 handshake",
            16,
            Driver::Handshakes,
        ),
        (
            "13 B, keep-alive, plaintext (reference)",
            64,
            Driver::Plain(&[]),
        ),
    ];
    for (case, conns, driver) in cases {
        let run = |to: Listeners| match driver {
            Driver::Plain(headers) => run_wrk(
                &format!("http://{}/small", to.plain),
                conns,
                secs,
                threads,
                headers,
            ),
            Driver::Https(headers) => run_wrk(
                &format!("https://{}/small", to.tls),
                conns,
                secs,
                threads,
                headers,
            ),
            Driver::Handshakes => handshakes(to.tls, conns, secs, &client),
        };
        let (mut frontdoor, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            frontdoor.push(run(ours));
            if let Some((_, addrs)) = &nginx {
                theirs.push(run(*addrs));
            }
        }
        let frontdoor = median(frontdoor);
        let theirs = (!theirs.is_empty()).then(|| median(theirs));
        let mut row = |name: &str, r: Sample| {
            let (a, b) = theirs.map_or((f64::NAN, f64::NAN), |n| {
                (r.rps / n.rps, r.p99_ms / n.p99_ms)
            });
            let _ = writeln!(
                table,
                "| {case} ({conns} conns) | {name} | {:.0} | {:.2} | {:.2} | {} | {a:.2} | {b:.2} |",
                r.rps, r.p50_ms, r.p99_ms, r.errors
            );
        };
        row("frontdoor (2 workers)", frontdoor);
        if let Some(n) = theirs {
            row("nginx (2 workers)", n);
        }
    }
    drop(nginx);
    let _ = std::fs::remove_dir_all(&dir);
    println!("{table}");
}
