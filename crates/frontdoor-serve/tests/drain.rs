//! The drain delay on real loopback listeners: after the shutdown signal the
//! listeners keep serving new connections for the delay, then close, and the request
//! in flight still completes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::{convert::Infallible, future::pending, net::SocketAddr, sync::Arc, time::Duration};

use frontdoor_core::Body;
use frontdoor_serve::{Drain, Server, Workers};
use http::{Request, Response};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::{mpsc, Notify},
    time::{timeout, Instant},
};

/// The drain delay: an upper bound for what must happen within it (one request on
/// loopback), and the least time before the listener may close.
const DELAY: Duration = Duration::from_secs(2);
/// How long anything else may take.
const BOUND: Duration = Duration::from_secs(20);

/// A service whose `/slow` requests report their arrival and wait for `release`;
/// other paths answer `ok`.
fn slow_service(
    arrived: mpsc::UnboundedSender<()>,
    release: Arc<Notify>,
) -> impl tower::Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Send + 'static,
> + Clone
       + Send
       + 'static {
    tower::service_fn(move |req: Request<Body>| {
        let (arrived, release) = (arrived.clone(), release.clone());
        async move {
            if req.uri().path() == "/slow" {
                arrived.send(()).unwrap();
                release.notified().await;
                return Ok(Response::new(Body::from("drained")));
            }
            Ok::<_, Infallible>(Response::new(Body::from("ok")))
        }
    })
}

/// Sends `GET path` with `Connection: close` on a new connection; the open stream.
async fn send(addr: SocketAddr, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Everything the server writes on `stream` until it closes.
async fn answer(mut stream: TcpStream) -> String {
    let mut out = String::new();
    timeout(BOUND, stream.read_to_string(&mut out))
        .await
        .expect("no answer")
        .unwrap();
    out
}

/// Waits (bounded) until connecting to `addr` is refused; the time it took.
async fn until_refused(addr: SocketAddr) -> Instant {
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    timeout(BOUND, async {
        loop {
            tick.tick().await;
            if TcpStream::connect(addr).await.is_err() {
                return Instant::now();
            }
        }
    })
    .await
    .expect("the listener still accepts")
}

/// The `/slow` requests of [`slow_service`]: each reports its arrival here and waits
/// to be released.
struct Slow {
    arrived: mpsc::UnboundedReceiver<()>,
    release: Arc<Notify>,
}

impl Slow {
    /// The service and its handle.
    fn service() -> (
        Self,
        impl tower::Service<
                Request<Body>,
                Response = Response<Body>,
                Error = Infallible,
                Future = impl Send + 'static,
            > + Clone
            + Send
            + 'static,
    ) {
        let (arrived_tx, arrived) = mpsc::unbounded_channel();
        let release = Arc::new(Notify::new());
        let svc = slow_service(arrived_tx, release.clone());
        (Self { arrived, release }, svc)
    }

    /// Starts a `/slow` request, starts `drain`, then checks the delay: a new request
    /// is served, the listener closes no sooner than [`DELAY`] later, and the slow
    /// request completes once released.
    async fn check_the_delay(mut self, addr: SocketAddr, drain: &Drain) {
        let slow = send(addr, "/slow").await;
        timeout(BOUND, self.arrived.recv()).await.unwrap().unwrap();

        drain.start();
        let started = Instant::now();
        let fresh = answer(send(addr, "/").await).await;
        assert!(fresh.starts_with("HTTP/1.1 200 OK\r\n"), "{fresh}");
        assert!(fresh.ends_with("\r\n\r\nok"), "{fresh}");

        let closed = until_refused(addr).await;
        let took = closed - started;
        assert!(took >= DELAY, "closed after {took:?}");
        self.release.notify_one();
        let drained = answer(slow).await;
        assert!(drained.starts_with("HTTP/1.1 200 OK\r\n"), "{drained}");
        assert!(drained.ends_with("\r\n\r\ndrained"), "{drained}");
    }
}

#[tokio::test]
async fn a_server_serves_through_the_drain_delay_then_closes_and_drains() {
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap()
        .drain_delay(DELAY);
    let addr = server.local_addrs().unwrap()[0];
    let drain = Drain::new();
    let (slow, svc) = Slow::service();
    let serving = tokio::spawn(server.serve_with_shutdown(svc, drain.on(pending())));
    slow.check_the_delay(addr, &drain).await;
    timeout(BOUND, serving)
        .await
        .expect("the server did not finish")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn workers_serve_through_the_drain_delay_then_close_and_drain() {
    let workers = Workers::bind(&["127.0.0.1:0".parse().unwrap()], 2)
        .unwrap()
        .drain_delay(DELAY);
    let addr = workers.local_addrs()[0];
    let drain = Drain::new();
    let (slow, svc) = Slow::service();
    let serving =
        tokio::spawn(workers.serve_with_shutdown(move |_| svc.clone(), drain.on(pending())));
    slow.check_the_delay(addr, &drain).await;
    timeout(BOUND, serving)
        .await
        .expect("the workers did not finish")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn without_a_drain_delay_the_listener_closes_at_the_signal() {
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let addr = server.local_addrs().unwrap()[0];
    let drain = Drain::new();
    let (_slow, svc) = Slow::service();
    let serving = tokio::spawn(server.serve_with_shutdown(svc, drain.on(pending())));
    drain.start();
    timeout(BOUND, serving)
        .await
        .expect("the server did not finish")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
}
