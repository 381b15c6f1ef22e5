//! Active health checks through the built binary: an upstream whose health path
//! fails leaves the balancer's set and comes back when it passes again; when every
//! upstream fails, requests still go to them (fail open). The state is read from the
//! admin listener (`/metrics`, `/routes`), polled with a bound, never slept on.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU16, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use frontdoor::{serve::Server, Body};
use http::{Request, Response, StatusCode};
use tokio::time::Instant;

use super::{get, start, ConfigFile};

/// An origin answering its health path with a settable status, and every other path
/// with `200` and its name; counts the other requests.
struct Origin {
    addr: SocketAddr,
    health: Arc<AtomicU16>,
    served: Arc<AtomicUsize>,
}

impl Origin {
    async fn start(name: &'static str) -> Self {
        let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
            .await
            .unwrap();
        let addr = server.local_addrs().unwrap()[0];
        let health = Arc::new(AtomicU16::new(200));
        let served = Arc::new(AtomicUsize::new(0));
        let (h, s) = (Arc::clone(&health), Arc::clone(&served));
        let svc = tower::service_fn(move |req: Request<Body>| {
            let status = if req.uri().path() == "/healthz" {
                StatusCode::from_u16(h.load(Ordering::SeqCst)).unwrap()
            } else {
                s.fetch_add(1, Ordering::SeqCst);
                StatusCode::OK
            };
            let body = if status == StatusCode::OK {
                name
            } else {
                "down"
            };
            let res = Response::builder()
                .status(status)
                .body(Body::from(body))
                .unwrap();
            std::future::ready(Ok::<_, Infallible>(res))
        });
        tokio::spawn(server.serve(svc));
        Self {
            addr,
            health,
            served,
        }
    }

    fn set_health(&self, status: u16) {
        self.health.store(status, Ordering::SeqCst);
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The `frontdoor_upstream_healthy` value of the upstream at `addr`, if reported.
async fn healthy_gauge(admin: &str, addr: SocketAddr) -> Option<u8> {
    let (status, _, metrics) = get(admin, "/metrics", "admin", "").await;
    assert_eq!(status, 200);
    metrics
        .lines()
        .filter(|l| l.starts_with("frontdoor_upstream_healthy{"))
        .find(|l| l.contains(&format!("upstream=\"http://{addr}")))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// The cells of the `/routes` health row of the upstream at `addr`.
fn health_row(routes: &str, addr: SocketAddr) -> Vec<&str> {
    routes
        .lines()
        .skip_while(|l| l.split_whitespace().collect::<Vec<_>>() != ["route", "upstream", "health"])
        .find(|l| l.contains(&format!("//{addr}/")))
        .unwrap_or_else(|| panic!("no row of {addr} in {routes}"))
        .split_whitespace()
        .collect()
}

/// Polls (bounded) until the gauge of `addr` reads `want`; how long it took.
async fn wait_gauge(admin: &str, addr: SocketAddr, want: u8) -> Duration {
    let start = Instant::now();
    loop {
        if healthy_gauge(admin, addr).await == Some(want) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{addr} never reported {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `n` requests through the front door; the bodies (each origin's name).
async fn send(fd: &str, n: usize) -> Vec<String> {
    let mut bodies = Vec::new();
    for _ in 0..n {
        let (status, head, body) = get(fd, "/x", "app.example", "").await;
        assert_eq!(status, 200, "{head}");
        bodies.push(body);
    }
    bodies
}

// The log is read with blocking waits: the origins run on other threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_upstream_leaves_the_set_and_comes_back() {
    let (a, b) = (Origin::start("a").await, Origin::start("b").await);
    let config = format!(
        r#"[server]
admin = "127.0.0.1:0"
workers = 2

[[route]]
name = "app"
spec = "::/"
upstream = ["{}", "{}"]
health_check = {{ path = "/healthz", interval = "100ms", timeout = "1s", unhealthy = 3, healthy = 2 }}
"#,
        a.url(),
        b.url()
    );
    let file = ConfigFile::new(&config);
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let admin = fd.admin.clone().expect("admin address printed");
    wait_gauge(&admin, a.addr, 1).await;
    wait_gauge(&admin, b.addr, 1).await;
    let bodies = send(&fd.addr, 40).await;
    assert!(bodies.iter().any(|b| b == "a") && bodies.iter().any(|b| b == "b"));

    // b's health path fails: out after three failed checks (about 300 ms), not at once.
    b.set_health(500);
    let took = wait_gauge(&admin, b.addr, 0).await;
    assert!(took >= Duration::from_millis(180), "out after {took:?}");
    fd.wait_log("upstream unhealthy: it takes no traffic");
    let (_, _, routes) = get(&admin, "/routes", "admin", "").await;
    assert_eq!(
        health_row(&routes, a.addr),
        ["app", &format!("{}/", a.url()), "healthy"]
    );
    assert_eq!(
        health_row(&routes, b.addr),
        ["app", &format!("{}/", b.url()), "unhealthy"]
    );
    let before = b.served.load(Ordering::SeqCst);
    let bodies = send(&fd.addr, 30).await;
    assert!(bodies.iter().all(|body| body == "a"), "{bodies:?}");
    assert_eq!(b.served.load(Ordering::SeqCst), before);

    // A reload that keeps the route keeps its checkers and their verdicts (new ones
    // would start healthy).
    file.rewrite(&format!(
        "{config}\n[[route]]\nspec = \"::/other\"\nupstream = \"builtin:echo\"\n"
    ));
    fd.signal("-HUP");
    fd.wait_log("config reloaded");
    assert_eq!(healthy_gauge(&admin, b.addr).await, Some(0));
    let bodies = send(&fd.addr, 20).await;
    assert!(bodies.iter().all(|body| body == "a"), "{bodies:?}");
    assert_eq!(b.served.load(Ordering::SeqCst), before);

    // b recovers: back after two passed checks, and takes traffic again.
    b.set_health(204);
    wait_gauge(&admin, b.addr, 1).await;
    fd.wait_log("upstream healthy: it takes traffic again");
    let bodies = send(&fd.addr, 40).await;
    assert!(bodies.iter().any(|body| body == "b"), "{bodies:?}");
    let (_, _, routes) = get(&admin, "/routes", "admin", "").await;
    assert!(!routes.contains("unhealthy"), "{routes}");

    // A reload without the route: its checkers stop and its series leave /metrics.
    file.rewrite(
        "[server]\nadmin = \"127.0.0.1:0\"\nworkers = 2\n\n[[route]]\nspec = \"::/other\"\n\
         upstream = \"builtin:echo\"\n",
    );
    fd.signal("-HUP");
    fd.wait_log("config reloaded");
    assert_eq!(healthy_gauge(&admin, a.addr).await, None);
    assert_eq!(healthy_gauge(&admin, b.addr).await, None);
}

// The log is read with blocking waits: the origins run on other threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_upstream_unhealthy_still_answers() {
    let (a, b) = (Origin::start("a").await, Origin::start("b").await);
    let file = ConfigFile::new(&format!(
        r#"[server]
admin = "127.0.0.1:0"

[[route]]
spec = "::/one"
upstream = "{}"
health_check = {{ path = "/healthz", interval = "100ms", unhealthy = 1 }}

[[route]]
spec = "::/"
upstream = ["{}", "{}"]
health_check = {{ path = "/healthz", interval = "100ms", unhealthy = 1, status = [200] }}
"#,
        a.url(),
        a.url(),
        b.url()
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let admin = fd.admin.clone().expect("admin address printed");
    a.set_health(503);
    b.set_health(204); // not in `status = [200]`
    wait_gauge(&admin, b.addr, 0).await;
    fd.wait_log("every upstream of the route is unhealthy: requests go to all of them");
    let start = Instant::now();
    while healthy_gauge(&admin, a.addr).await != Some(0) || {
        let (_, _, routes) = get(&admin, "/routes", "admin", "").await;
        routes.matches("unhealthy").count() < 3
    } {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not all unhealthy"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Fail open: both still take requests, and the one-upstream route still answers.
    let bodies = send(&fd.addr, 40).await;
    assert!(bodies.iter().any(|body| body == "a") && bodies.iter().any(|body| body == "b"));
    let (status, _, body) = get(&fd.addr, "/one/x", "app.example", "").await;
    assert_eq!((status, body.as_str()), (200, "a"));
}
