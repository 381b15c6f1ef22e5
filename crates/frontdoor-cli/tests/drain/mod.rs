//! Drain on SIGTERM through the built binary: `/healthz` answers 503 at once while
//! the front listener still serves for `drain_delay`; then the listener closes, the
//! request in flight completes and the process exits 0.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use frontdoor::{serve::Server, Body};
use http::{Request, Response};
use tokio::{
    net::TcpStream,
    sync::{mpsc, Notify},
    time::{interval, timeout, Instant},
};

use super::{get, start, ConfigFile};

/// The drain delay the test configures: an upper bound for what must happen within
/// it (a few loopback requests), and the least time before the listener may close.
const DELAY: Duration = Duration::from_secs(3);
/// How long anything else may take.
const BOUND: Duration = Duration::from_secs(20);
/// How often a poll looks again.
const POLL: Duration = Duration::from_millis(20);

/// An origin whose `/slow` requests report their arrival and wait for `release`;
/// other paths answer `ok`.
async fn slow_origin(arrived: mpsc::UnboundedSender<()>, release: Arc<Notify>) -> SocketAddr {
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let addr = server.local_addrs().unwrap()[0];
    tokio::spawn(server.serve(tower::service_fn(move |req: Request<Body>| {
        let (arrived, release) = (arrived.clone(), release.clone());
        async move {
            if req.uri().path() == "/slow" {
                arrived.send(()).unwrap();
                release.notified().await;
                return Ok(Response::new(Body::from("slow done")));
            }
            Ok::<_, Infallible>(Response::new(Body::from("ok")))
        }
    })));
    addr
}

/// Polls `/healthz` on `admin` (bounded) until it answers 503; asserts every answer
/// before it was `200 ok` and the 503's body.
async fn until_healthz_fails(admin: &str) {
    let mut tick = interval(POLL);
    timeout(BOUND, async {
        loop {
            tick.tick().await;
            match get(admin, "/healthz", "a", "").await {
                (503, _, body) => return assert_eq!(body, "draining\n"),
                (status, _, body) => assert_eq!((status, body.as_str()), (200, "ok\n")),
            }
        }
    })
    .await
    .expect("/healthz still answers 200");
}

/// Waits (bounded) until connecting to `addr` is refused; when it was.
async fn until_refused(addr: &str) -> Instant {
    let mut tick = interval(POLL);
    timeout(BOUND, async {
        loop {
            tick.tick().await;
            if TcpStream::connect(addr).await.is_err() {
                return Instant::now();
            }
        }
    })
    .await
    .expect("the front listener still accepts")
}

#[tokio::test]
async fn sigterm_fails_healthz_serves_for_the_drain_delay_then_drains_and_exits_0() {
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let origin = slow_origin(arrived_tx, release.clone()).await;
    let file = ConfigFile::new(&format!(
        "[server]\nadmin = \"127.0.0.1:0\"\ndrain_delay = \"{}s\"\n\n\
         [default]\nupstream = \"http://{origin}\"\n",
        DELAY.as_secs()
    ));
    let mut fd = start(&["-c", file.0.to_str().unwrap()]);
    let admin = fd.admin.clone().unwrap();
    let front = fd.addr.clone();
    let (status, _, body) = get(&admin, "/healthz", "a", "").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    let in_flight = tokio::spawn(async move { get(&front, "/slow", "h", "").await });
    timeout(BOUND, arrived.recv()).await.unwrap().unwrap();
    let signalled = Instant::now();
    fd.signal("-TERM");

    until_healthz_fails(&admin).await;
    let (status, _, body) = get(&fd.addr, "/fresh", "h", "").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "ok"),
        "served within the delay"
    );

    let closed = until_refused(&fd.addr).await;
    let took = closed - signalled;
    assert!(took >= DELAY, "the listener closed after {took:?}");
    let (status, _, body) = get(&admin, "/healthz", "a", "").await;
    assert_eq!((status, body.as_str()), (503, "draining\n"), "until exit");

    release.notify_one();
    let (status, _, body) = in_flight.await.unwrap();
    assert_eq!((status, body.as_str()), (200, "slow done"));
    let mut tick = interval(POLL);
    let exited = timeout(BOUND, async {
        loop {
            tick.tick().await;
            if let Some(exit) = fd.child.try_wait().unwrap() {
                return exit;
            }
        }
    })
    .await
    .expect("frontdoor did not exit after draining");
    assert!(exited.success(), "{exited:?}");
}
