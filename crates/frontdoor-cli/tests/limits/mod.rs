//! The limits through the built binary: PROXY protocol, request body
//! cap, per-route in-flight limit and upstream connection cap, send timeout with the
//! upstream released, cancelled requests, reload and admin warnings, the 7-day
//! duration cap.

use std::{
    convert::Infallible,
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use frontdoor::{serve::Server, Body};
use http::{Request, Response};
use http_body_util::BodyExt;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::mpsc,
};

use super::{bin, echo_origin, exchange, get, header, json, start, ConfigFile};

const BOUND: Duration = Duration::from_secs(20);

/// An origin running `svc` on a loopback port.
async fn origin<S>(svc: S) -> std::net::SocketAddr
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let addr = server.local_addrs().unwrap()[0];
    tokio::spawn(server.serve(svc));
    addr
}

/// An origin whose `/hang` requests wait for ever (counting them as they arrive);
/// other paths answer `ok`.
async fn hanging_origin(arrived: mpsc::UnboundedSender<()>) -> std::net::SocketAddr {
    origin(tower::service_fn(move |req: Request<Body>| {
        let arrived = arrived.clone();
        async move {
            if req.uri().path() == "/hang" {
                let _ = arrived.send(());
                std::future::pending::<()>().await;
            }
            Ok::<_, Infallible>(Response::new(Body::from("ok")))
        }
    }))
    .await
}

// === PROXY protocol ===

#[tokio::test]
async fn proxy_protocol_v1_and_v2_source_reaches_the_upstream_as_x_forwarded_for() {
    let origin = echo_origin().await;
    let file = ConfigFile::new(&format!(
        "[server]\nproxy_protocol = true\n\n[default]\nupstream = \"http://{origin}\"\n"
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let request = "GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

    let v1 = format!("PROXY TCP4 192.0.2.7 198.51.100.1 40001 443\r\n{request}");
    let (status, _, body) = exchange(&fd.addr, &v1).await;
    assert_eq!(status, 200);
    assert_eq!(header(&json(&body), "x-forwarded-for"), Some("192.0.2.7"));

    let mut v2 = frontdoor_core::proto::PROXY_V2_SIGNATURE.to_vec();
    v2.extend_from_slice(&[0x21, 0x21, 0, 36]);
    v2.extend_from_slice(
        &"2001:db8::9"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    v2.extend_from_slice(
        &"2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    v2.extend_from_slice(&40002u16.to_be_bytes());
    v2.extend_from_slice(&443u16.to_be_bytes());
    v2.extend_from_slice(request.as_bytes());
    let mut stream = TcpStream::connect(&fd.addr).await.unwrap();
    stream.write_all(&v2).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(BOUND, stream.read_to_string(&mut answer))
        .await
        .expect("no answer")
        .unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(header(&json(body), "x-forwarded-for"), Some("2001:db8::9"));

    // Without the header: closed, nothing answered, nothing forwarded.
    let (status, head, _) = exchange(&fd.addr, request).await;
    assert_eq!((status, head.as_str()), (0, ""));
}

// === request body cap ===

/// An origin that reports, per request, whether it received the whole body
/// (`complete`) or saw it fail (`aborted`), and answers 200.
async fn body_origin(seen: mpsc::UnboundedSender<&'static str>) -> std::net::SocketAddr {
    origin(tower::service_fn(move |req: Request<Body>| {
        let seen = seen.clone();
        async move {
            let outcome = match req.into_body().collect().await {
                Ok(_) => "complete",
                Err(_) => "aborted",
            };
            let _ = seen.send(outcome);
            Ok::<_, Infallible>(Response::new(Body::from("ok")))
        }
    }))
    .await
}

#[tokio::test]
async fn an_announced_body_over_max_request_body_is_413_with_nothing_forwarded() {
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let origin = body_origin(seen_tx).await;
    let file = ConfigFile::new(&format!(
        "[server]\nmax_request_body = 10\n\n[default]\nupstream = \"http://{origin}\"\n"
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let (status, _, _) = exchange(
        &fd.addr,
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nConnection: close\r\n\r\n01234567890",
    )
    .await;
    assert_eq!(status, 413);
    // Within the cap: forwarded whole (and the origin's report proves the first
    // request never reached it).
    let (status, _, _) = exchange(
        &fd.addr,
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(seen.recv().await, Some("complete"));
    assert!(
        seen.try_recv().is_err(),
        "the refused body reached the origin"
    );
}

/// Depends on issue 14's abort of the upstream request when the client body fails:
/// hyper's client already stops a chunked body without its last chunk, which this
/// test checks end to end; with issue 14 merged it must keep passing.
#[tokio::test]
async fn a_chunked_body_crossing_max_request_body_is_413_and_never_completes_upstream() {
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let origin = body_origin(seen_tx).await;
    let file = ConfigFile::new(&format!(
        "[server]\nmax_request_body = 10\n\n[default]\nupstream = \"http://{origin}\"\n"
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let (status, _, _) = exchange(
        &fd.addr,
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         6\r\n012345\r\n6\r\n678901\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(status, 413);
    let outcome = tokio::time::timeout(BOUND, seen.recv())
        .await
        .ok()
        .flatten();
    assert_ne!(
        outcome,
        Some("complete"),
        "the upstream saw a completed request"
    );
}

// === per-route in-flight limit and upstream connection cap ===

/// Sends `count` requests for `/hang` to `host`, and waits until the origin has
/// them all.
async fn hold(
    addr: &str,
    host: &'static str,
    count: usize,
    arrived: &mut mpsc::UnboundedReceiver<()>,
) -> Vec<tokio::task::JoinHandle<(u16, String, String)>> {
    let held = (0..count)
        .map(|_| {
            let addr = addr.to_owned();
            tokio::spawn(async move { get(&addr, "/hang", host, "").await })
        })
        .collect();
    for _ in 0..count {
        tokio::time::timeout(BOUND, arrived.recv())
            .await
            .expect("a held request never reached the origin")
            .unwrap();
    }
    held
}

/// The limit is one semaphore over both workers: with 3 requests held (spread over
/// the workers' listeners by the kernel), a fourth is refused whichever worker takes
/// it.
#[tokio::test]
async fn max_in_flight_answers_503_at_once_while_the_upstream_hangs() {
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let origin = hanging_origin(arrived_tx).await;
    let file = ConfigFile::new(&format!(
        "[server]\nworkers = 2\n\n[[route]]\nspec = \"::/\"\nupstream = \"http://{origin}\"\n\
         max_in_flight = 3\n"
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let held = hold(&fd.addr, "h", 3, &mut arrived).await;

    let started = tokio::time::Instant::now();
    let (status, head, _) = get(&fd.addr, "/other", "h", "").await;
    assert_eq!(status, 503, "{head}");
    assert!(head.contains("retry-after: 1"), "{head}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(
        arrived.try_recv().is_err(),
        "the refused request was forwarded"
    );
    held.iter().for_each(|h| h.abort());
}

/// A config of two routes in front of the hanging origin: `a` limited to 3 requests
/// in flight (with `limited_extra` added to it), `b` sent to `b_path`.
fn two_routes(origin: std::net::SocketAddr, limited_extra: &str, b_path: &str) -> String {
    format!(
        "[server]\nworkers = 2\n\n\
         [[route]]\nspec = \"a::/\"\nupstream = \"http://{origin}\"\nmax_in_flight = 3\n{limited_extra}\n\
         [[route]]\nspec = \"b::/\"\nupstream = \"http://{origin}{b_path}\"\n"
    )
}

/// A reload that changes another route keeps the limited route's semaphore, with the
/// permits its held requests took: one more request is still refused. A reload that
/// changes the limited route itself gives it a new, full semaphore; the requests held
/// on the old one keep their permits, which go with it.
#[tokio::test]
async fn reload_keeps_the_in_flight_permits_of_unchanged_routes() {
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let origin = hanging_origin(arrived_tx).await;
    let file = ConfigFile::new(&two_routes(origin, "", ""));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let mut held = hold(&fd.addr, "a", 3, &mut arrived).await;
    let (status, head, _) = get(&fd.addr, "/other", "a", "").await;
    assert_eq!(status, 503, "{head}");

    file.rewrite(&two_routes(origin, "", "/v2"));
    fd.signal("-HUP");
    fd.wait_log("config reloaded");
    let (status, head, _) = get(&fd.addr, "/other", "a", "").await;
    assert_eq!(status, 503, "{head}");
    let (status, head, body) = get(&fd.addr, "/ok", "b", "").await;
    assert_eq!((status, body.as_str()), (200, "ok"), "{head}");

    file.rewrite(&two_routes(
        origin,
        "timeouts = { connect = \"5s\" }\n",
        "/v2",
    ));
    fd.signal("-HUP");
    fd.wait_log("config reloaded");
    held.extend(hold(&fd.addr, "a", 3, &mut arrived).await);
    let (status, head, _) = get(&fd.addr, "/other", "a", "").await;
    assert_eq!(status, 503, "{head}");
    assert!(
        arrived.try_recv().is_err(),
        "a refused request was forwarded"
    );
    held.iter().for_each(|h| h.abort());
}

#[tokio::test]
async fn upstream_max_connections_waits_the_connect_timeout_then_503() {
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let origin = hanging_origin(arrived_tx).await;
    let file = ConfigFile::new(&format!(
        "[server]\nworkers = 1\n\n[[route]]\nspec = \"::/\"\nupstream = \"http://{origin}\"\n\
         upstream_max_connections = 1\ntimeouts = {{ connect = \"300ms\" }}\n"
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let addr = fd.addr.clone();
    let hanging = tokio::spawn(async move { get(&addr, "/hang", "h", "").await });
    arrived.recv().await.unwrap();

    let started = tokio::time::Instant::now();
    let (status, head, _) = get(&fd.addr, "/other", "h", "").await;
    assert_eq!(status, 503, "{head}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    hanging.abort();
}

// === send timeout ===

/// A response body that never ends and reports when it is dropped.
struct Endless(Option<mpsc::UnboundedSender<()>>);

impl http_body::Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![
            b'x';
            65536
        ])))))
    }
}

impl Drop for Endless {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

#[tokio::test]
async fn a_client_that_reads_nothing_is_cut_off_and_the_upstream_released() {
    let (dropped_tx, mut dropped) = mpsc::unbounded_channel();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let origin = origin(tower::service_fn(move |_req: Request<Body>| {
        count.fetch_add(1, Ordering::SeqCst);
        let body = Endless(Some(dropped_tx.clone()));
        async move { Ok::<_, Infallible>(Response::new(Body::new(body))) }
    }))
    .await;
    let file = ConfigFile::new(&format!(
        "[server]\nsend_timeout = \"300ms\"\n\n[default]\nupstream = \"http://{origin}\"\n"
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let mut stalled = TcpStream::connect(&fd.addr).await.unwrap();
    stalled
        .write_all(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .unwrap();
    // The client reads nothing: frontdoor drops it after the send timeout, and with
    // it the upstream response, whose connection closes (the origin's body is
    // dropped).
    tokio::time::timeout(BOUND, dropped.recv())
        .await
        .expect("the upstream response was never released")
        .unwrap();
    assert_eq!(served.load(Ordering::SeqCst), 1);
    drop(stalled);
}

// === cancelled requests, reload, admin ===

#[tokio::test]
async fn a_cancelled_request_is_logged_and_leaves_in_flight() {
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let origin = hanging_origin(arrived_tx).await;
    let file = ConfigFile::new(&format!(
        "[server]\nadmin = \"127.0.0.1:0\"\n\n[default]\nupstream = \"http://{origin}\"\n"
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let admin = fd.admin.clone().unwrap();
    let mut client = TcpStream::connect(&fd.addr).await.unwrap();
    client
        .write_all(b"GET /hang HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .unwrap();
    arrived.recv().await.unwrap();
    drop(client);
    let line = fd.wait_log("cancelled=true");
    assert!(line.contains("status=499"), "{line}");
    assert!(line.contains("target=/hang"), "{line}");
    let (_, _, metrics) = get(&admin, "/metrics", "admin", "").await;
    assert!(
        metrics.contains("frontdoor_in_flight_requests 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn reload_names_each_server_key_that_needs_a_restart() {
    let file = ConfigFile::new(
        "[server]\nheader_timeout = \"5s\"\n\n[default]\nupstream = \"builtin:echo\"\n",
    );
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    file.rewrite(
        "[server]\nheader_timeout = \"6s\"\nmax_request_body = \"1KiB\"\n\n[default]\nupstream = \"builtin:echo\"\n",
    );
    fd.signal("-HUP");
    let first = fd.wait_log("takes effect on restart");
    assert!(first.contains("server.header_timeout"), "{first}");
    let second = fd.wait_log("takes effect on restart");
    assert!(second.contains("server.max_request_body"), "{second}");
    fd.wait_log("config reloaded");
}

#[tokio::test]
async fn an_admin_listener_on_a_non_loopback_address_is_warned_about() {
    let file = ConfigFile::new(
        "[server]\nadmin = \"0.0.0.0:0\"\n\n[default]\nupstream = \"builtin:echo\"\n",
    );
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let line = fd.wait_log("not a loopback address");
    assert!(line.contains("WARN"), "{line}");
}

#[test]
fn durations_over_seven_days_are_config_errors_naming_the_key() {
    let file = ConfigFile::new(
        "[server]\nidle_timeout = \"8days\"\nsend_timeout = \"18446744073709551615s\"\n",
    );
    let out = bin().args(["check", "-c"]).arg(&file.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("line 2: server.idle_timeout: must be at most 7 days"),
        "{stderr}"
    );
    assert!(stderr.contains("line 3: server.send_timeout: "), "{stderr}");
}
