//! `rate_limit` through the built binary: a burst then 429s with `Retry-After` and
//! nothing forwarded for them (counted in `/metrics`), clients behind a trusted proxy
//! limited apart, two workers sharing one limit, and config errors naming the key.

use std::{
    convert::Infallible,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use frontdoor::{serve::Server, Body};
use http::{Request, Response};

use super::{bin, get, start, ConfigFile};

/// An origin answering `ok`, counting the requests it receives.
async fn counting_origin() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let addr = server.local_addrs().unwrap()[0];
    tokio::spawn(server.serve(tower::service_fn(move |_req: Request<Body>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Body::from("ok"))) }
    })));
    (addr, seen)
}

/// The value of header `name` in a response head.
fn field<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn a_burst_then_429s_with_retry_after_and_nothing_forwarded() {
    let (origin, seen) = counting_origin().await;
    let file = ConfigFile::new(&format!(
        "[server]\nadmin = \"127.0.0.1:0\"\n\n[[route]]\nspec = \"::/\"\n\
         upstream = \"http://{origin}\"\nrate_limit = {{ rate = \"3/h\" }}\n"
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (status, head, body) = get(&fd.addr, "/x", "h", "").await;
        statuses.push(status);
        if status == 429 {
            // 3/h: one request every 1200 s, the burst of 3 spent at once.
            assert_eq!(field(&head, "retry-after"), Some("1200"), "{head}");
            assert_eq!(
                field(&head, "ratelimit-policy"),
                Some("\"default\";q=3;w=3600"),
                "{head}"
            );
            assert_eq!(
                field(&head, "ratelimit"),
                Some("\"default\";r=0;t=1200"),
                "{head}"
            );
            assert_eq!(body, "Too Many Requests\n");
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    let admin = fd.admin.clone().unwrap();
    let (_, _, metrics) = get(&admin, "/metrics", "admin", "").await;
    assert!(
        metrics.contains("frontdoor_rate_limited_total{route=\"route[0]\"} 3"),
        "{metrics}"
    );
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_limited_apart() {
    let (origin, seen) = counting_origin().await;
    let file = ConfigFile::new(&format!(
        "[resolve]\ntrusted_proxies = [\"127.0.0.1\"]\n\n[[route]]\nspec = \"::/\"\n\
         upstream = \"http://{origin}\"\nrate_limit = {{ rate = \"1/h\", key = \"client\" }}\n"
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let from = |ip: &str| format!("X-Forwarded-For: {ip}\r\n");
    let mut statuses = Vec::new();
    for ip in [
        "192.0.2.1",
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.2",
        "192.0.2.3",
    ] {
        statuses.push(get(&fd.addr, "/x", "h", &from(ip)).await.0);
    }
    assert_eq!(statuses, [200, 429, 200, 429, 200]);
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

/// One limiter over both workers: connections spread over the workers' listeners by
/// the kernel, and the allowed count stays the burst, not twice it.
#[tokio::test]
async fn two_workers_share_one_limit() {
    let (origin, seen) = counting_origin().await;
    let file = ConfigFile::new(&format!(
        "[server]\nworkers = 2\n\n[[route]]\nspec = \"::/\"\nupstream = \"http://{origin}\"\n\
         rate_limit = {{ rate = \"5/h\", key = \"route\" }}\n"
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let mut allowed = 0;
    for _ in 0..30 {
        let (status, head, _) = get(&fd.addr, "/x", "h", "").await;
        match status {
            200 => allowed += 1,
            429 => {}
            other => panic!("unexpected {other}: {head}"),
        }
    }
    assert_eq!(allowed, 5);
    assert_eq!(seen.load(Ordering::SeqCst), 5);
}

#[test]
fn config_errors_name_the_key() {
    let file = ConfigFile::new(
        r#"[[route]]
spec = "::/a"
upstream = "http://127.0.0.1:1"

[[route]]
spec = "::/b"
upstream = "http://127.0.0.1:1"

[[route]]
spec = "::/c"
upstream = "http://127.0.0.1:1"
rate_limit = { rate = "100/d", key = "cookie" }

[default]
upstream = "http://127.0.0.1:1"
rate_limit = { rate = "10/s", burst = 0, exempt = ["10.0.0.0/33"] }
"#,
    );
    let out = bin().args(["check", "-c"]).arg(&file.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let name = file.0.display().to_string();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "{name}: line 12: route[2].rate_limit.rate: expected N/s, N/m or N/h, got \"100/d\""
            ),
            format!(
                "{name}: line 12: route[2].rate_limit.key: expected \"client\", \"route\" or \"header:NAME\", got \"cookie\""
            ),
            format!(
                "{name}: line 16: default.rate_limit.burst: must be a positive number of requests, got 0"
            ),
            format!(
                "{name}: line 16: default.rate_limit.exempt[0]: not a CIDR or IP address: \"10.0.0.0/33\""
            ),
        ],
        "{stderr}"
    );
}
