//! `frontdoor::serve` limits, one test per limit against the real serve stack on
//! `127.0.0.1:0`: idle, header and send timeouts, upgraded connections, the
//! per-address limit, head, header-count, stream and body caps, and the PROXY
//! protocol.

use std::{
    convert::Infallible,
    net::SocketAddr,
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
use frontdoor_core::{ConnInfo, ErrorKind};
use frontdoor_tests::{bind_loopback, get, h1, spawn, text, Running};
use http::{Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::{mpsc, Notify},
};

const SHORT: Duration = Duration::from_millis(300);
/// Bound on anything a test waits for; the limits under test are all far shorter.
const BOUND: Duration = Duration::from_secs(10);

/// Answers `ok`.
async fn ok(_req: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::new(Body::from("ok")))
}

/// Reads until EOF or error; returns what was read.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf).await;
    buf
}

/// Reads until EOF (bounded by [`BOUND`]); panics naming `what` if it never comes.
async fn closed(stream: &mut TcpStream, what: &str) -> String {
    let got = tokio::time::timeout(BOUND, read_to_close(stream))
        .await
        .unwrap_or_else(|_| panic!("{what}: the connection was never closed"));
    String::from_utf8_lossy(&got).into_owned()
}

/// Reads from `stream` until what was read ends with `suffix`.
async fn read_until_suffix(stream: &mut TcpStream, suffix: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(suffix) {
        let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
            .await
            .expect("no answer")
            .unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    got
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

// === timeouts ===

#[tokio::test]
async fn an_idle_h2c_connection_is_closed_after_its_request() {
    let server = bind_loopback(1).await.idle_timeout(SHORT);
    let server = spawn(server, tower::service_fn(ok));
    let stream = TcpStream::connect(server.addr()).await.unwrap();
    let (mut client, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let conn = tokio::spawn(conn);
    let res = client.send_request(get("/")).await.unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(text(res).await, "ok");
    let started = tokio::time::Instant::now();
    // The server sends GOAWAY and closes: the client's connection task ends.
    tokio::time::timeout(BOUND, conn)
        .await
        .expect("an idle h2c connection was never closed")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() >= SHORT / 2, "{:?}", started.elapsed());
    server.shutdown().await;
}

#[tokio::test]
async fn idle_keep_alive_closes_after_the_idle_timeout_and_a_started_head_after_the_header_timeout()
{
    const IDLE: Duration = Duration::from_millis(600);
    let server = bind_loopback(1)
        .await
        .header_read_timeout(SHORT)
        .idle_timeout(IDLE);
    let server = spawn(server, tower::service_fn(ok));

    // Idle after a response: closed after the idle timeout, not the header timeout.
    let mut idle = TcpStream::connect(server.addr()).await.unwrap();
    idle.write_all(GET).await.unwrap();
    read_until_suffix(&mut idle, b"\r\n\r\nok").await;
    let answered = tokio::time::Instant::now();
    assert!(closed(&mut idle, "idle keep-alive").await.is_empty());
    assert!(answered.elapsed() >= IDLE, "{:?}", answered.elapsed());

    // A second head that starts and stalls: cut off one header timeout after its
    // first byte, well before the idle timeout would have.
    let mut partial = TcpStream::connect(server.addr()).await.unwrap();
    partial.write_all(GET).await.unwrap();
    read_until_suffix(&mut partial, b"\r\n\r\nok").await;
    partial
        .write_all(b"GET /second HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let first_byte = tokio::time::Instant::now();
    let rest = closed(&mut partial, "partial second head").await;
    assert!(!rest.contains("200 OK"), "{rest:?}");
    let took = first_byte.elapsed();
    assert!(took >= SHORT && took < IDLE, "{took:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_first_head_is_due_one_header_timeout_after_accept() {
    let server = bind_loopback(1).await.header_read_timeout(SHORT);
    let server = spawn(server, tower::service_fn(ok));
    let mut late = TcpStream::connect(server.addr()).await.unwrap();
    // The head starts after 2/3 of the timeout and would end 2/3 of a timeout after
    // its first byte: in time from its first byte, late from accept.
    tokio::time::sleep(SHORT * 2 / 3).await;
    late.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(SHORT * 2 / 3).await;
    let _ = late.write_all(b"Host: x\r\n\r\n").await;
    let answer = closed(&mut late, "late first head").await;
    assert!(!answer.contains("200 OK"), "{answer:?}");
    server.shutdown().await;
}

/// A response body that never ends (64 KiB chunks) and reports when it is dropped.
struct Endless {
    dropped: Option<mpsc::UnboundedSender<()>>,
}

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
        if let Some(tx) = self.dropped.take() {
            let _ = tx.send(());
        }
    }
}

#[tokio::test]
async fn a_client_that_reads_nothing_is_cut_off_after_the_send_timeout() {
    let (dropped_tx, mut dropped) = mpsc::unbounded_channel();
    let svc = tower::service_fn(move |_req: Request<Body>| {
        let body = Endless {
            dropped: Some(dropped_tx.clone()),
        };
        async move { Ok::<_, Infallible>(Response::new(Body::new(body))) }
    });
    let server = bind_loopback(1)
        .await
        .send_timeout(SHORT)
        .idle_timeout(BOUND * 10);
    let server = spawn(server, svc);
    let mut stalled = TcpStream::connect(server.addr()).await.unwrap();
    stalled.write_all(GET).await.unwrap();
    // The client reads nothing: once the socket buffers are full, writes stall, and
    // after the send timeout the connection and its response body are dropped.
    tokio::time::timeout(BOUND, dropped.recv())
        .await
        .expect("a client that reads nothing kept its response")
        .unwrap();
    server.shutdown().await;
}

/// The HTTP/2 client preface and an empty SETTINGS frame.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

/// A HEADERS frame on stream 1 (END_STREAM, END_HEADERS): `GET /` for `x`, HPACK
/// static indices and one literal `:authority`.
const H2_GET: &[u8] = b"\0\0\x06\x01\x05\0\0\0\x01\x82\x84\x86\x41\x01x";

/// The frame types the server sent until it closed the connection (bounded by
/// [`BOUND`]), never answering its PINGs or SETTINGS.
async fn frames_until_close(stream: &mut TcpStream) -> Vec<u8> {
    let bytes = tokio::time::timeout(BOUND, read_to_close(stream))
        .await
        .expect("the connection was never closed");
    let mut types = Vec::new();
    let mut rest = &bytes[..];
    while rest.len() >= 9 {
        let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        types.push(rest[3]);
        rest = &rest[(9 + len).min(rest.len())..];
    }
    types
}

#[tokio::test]
async fn an_idle_h2c_connection_whose_client_ignores_the_goaway_ping_is_closed_within_three_seconds(
) {
    // A header timeout far longer than the test: only the idle path can close it.
    let server = bind_loopback(1)
        .await
        .idle_timeout(SHORT)
        .header_read_timeout(Duration::from_secs(60))
        .send_timeout(Duration::from_secs(60));
    let server = spawn(server, tower::service_fn(ok));
    // One connection that never opens a stream (idle from its preface), one that is
    // served a request first; neither acknowledges anything.
    for request in [&b""[..], H2_GET] {
        let mut stream = TcpStream::connect(server.addr()).await.unwrap();
        stream.write_all(H2_PREFACE).await.unwrap();
        stream.write_all(request).await.unwrap();
        let started = tokio::time::Instant::now();
        let types = frames_until_close(&mut stream).await;
        let took = started.elapsed();
        assert!(types.contains(&0x7), "no GOAWAY: {types:?}");
        if !request.is_empty() {
            assert!(
                types.contains(&0x1),
                "the request was not answered: {types:?}"
            );
        }
        assert!(
            took < SHORT + Duration::from_secs(4),
            "closed {took:?} after the preface"
        );
    }
    server.shutdown().await;
}

// === upgrades ===

/// Answers `101` to `Upgrade: echo` and echoes the upgraded bytes back.
async fn upgrade_echo(mut req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let mut io = TokioIo::new(upgraded);
        let mut buf = [0u8; 1024];
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if io.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let res = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "upgrade")
        .header("upgrade", "echo")
        .body(Body::empty())
        .unwrap();
    Ok(res)
}

/// Connects and upgrades to the echo protocol.
async fn upgraded(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n")
        .await
        .unwrap();
    let head = read_until_suffix(&mut stream, b"\r\n\r\n").await;
    assert!(head.starts_with(b"HTTP/1.1 101 "), "{head:?}");
    stream
}

#[tokio::test]
async fn an_upgraded_connection_idle_past_the_idle_timeout_is_closed() {
    let server = bind_loopback(1).await.idle_timeout(SHORT);
    let server = spawn(server, tower::service_fn(upgrade_echo));
    let mut ws = upgraded(server.addr()).await;
    // Traffic keeps it open past several idle timeouts...
    for _ in 0..4 {
        tokio::time::sleep(SHORT / 2).await;
        ws.write_all(b"ping").await.unwrap();
        read_until_suffix(&mut ws, b"ping").await;
    }
    // ...silence closes it.
    let quiet = tokio::time::Instant::now();
    assert!(closed(&mut ws, "idle upgraded connection").await.is_empty());
    assert!(quiet.elapsed() >= SHORT, "{:?}", quiet.elapsed());
    server.shutdown().await;
}

#[tokio::test]
async fn an_upgraded_connection_holds_its_slot_and_is_closed_by_shutdown_after_the_drain_timeout() {
    let server = bind_loopback(1)
        .await
        .max_connections(1)
        .drain_timeout(SHORT)
        .idle_timeout(BOUND * 10);
    let mut server = spawn(server, tower::service_fn(upgrade_echo));
    let mut ws = upgraded(server.addr()).await;
    ws.write_all(b"hello").await.unwrap();
    read_until_suffix(&mut ws, b"hello").await;

    // The upgraded connection holds the only slot: a second client waits.
    let mut second = h1(server.addr()).await;
    let waiting = tokio::spawn(async move { second.send_request(get("/")).await });
    tokio::time::sleep(SHORT).await;
    assert!(!waiting.is_finished(), "served past max_connections");

    // Shutdown waits for the upgraded connection, then closes it after the drain
    // timeout.
    server.trigger_shutdown();
    let started = tokio::time::Instant::now();
    assert!(closed(&mut ws, "upgraded connection at shutdown")
        .await
        .is_empty());
    assert!(started.elapsed() >= SHORT, "{:?}", started.elapsed());
    tokio::time::timeout(BOUND, server.finished())
        .await
        .expect("shutdown never finished");
    waiting.abort();
}

// === connection limits ===

/// Whether a new connection to `addr` is served (`false`: closed without an answer).
async fn served(addr: SocketAddr) -> bool {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    let answer = closed(&mut stream, "probe").await;
    answer.starts_with("HTTP/1.1 200 ")
}

#[tokio::test]
async fn the_per_address_limit_refuses_the_extra_connection_and_serves_again_once_one_closes() {
    let server = bind_loopback(1).await.max_connections_per_ip(2);
    let server = spawn(server, tower::service_fn(ok));
    let mut a = h1(server.addr()).await;
    let mut b = h1(server.addr()).await;
    for client in [&mut a, &mut b] {
        let res = client.send_request(get("/")).await.unwrap();
        assert_eq!(text(res).await, "ok");
    }
    assert!(
        !served(server.addr()).await,
        "a third connection was served"
    );
    drop(a);
    // The server notices the close in its own time: probe until served (bounded).
    let again = async {
        while !served(server.addr()).await {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(BOUND, again)
        .await
        .expect("never served again after a connection closed");
    drop(b);
    server.shutdown().await;
}

// === size limits ===

/// A service counting its calls and answering `ok`.
fn counting(
    hits: &Arc<AtomicUsize>,
) -> impl tower::Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    let hits = Arc::clone(hits);
    tower::service_fn(move |req: Request<Body>| {
        hits.fetch_add(1, Ordering::SeqCst);
        async move {
            let body = req.into_body().collect().await;
            let text = match body {
                Ok(_) => "ok".to_owned(),
                Err(e) => ErrorKind::of(&e).as_str().to_owned(),
            };
            Ok::<_, Infallible>(Response::new(Body::from(text)))
        }
    })
}

async fn exchange(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(bytes).await;
    closed(&mut stream, "exchange").await
}

#[tokio::test]
async fn heads_over_max_header_bytes_or_max_headers_are_answered_431_unserved() {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = bind_loopback(1)
        .await
        .max_header_bytes(8 * 1024)
        .max_headers(10);
    let server = spawn(server, counting(&hits));
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    let answer = exchange(server.addr(), big.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer:?}");
    let many: String = (0..11).map(|i| format!("X-{i}: y\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let answer = exchange(server.addr(), many.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer:?}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "an oversized head was served"
    );
    // Within both limits: served.
    let fine = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Small: y\r\n\r\n";
    let answer = exchange(server.addr(), fine.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn an_announced_body_over_max_request_body_is_answered_413_unserved() {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = bind_loopback(1).await.max_request_body(10);
    let server = spawn(server, counting(&hits));
    let answer = exchange(
        server.addr(),
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    let answer = exchange(
        server.addr(),
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789",
    )
    .await;
    assert!(answer.ends_with("\r\n\r\nok"), "{answer:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_chunked_body_crossing_max_request_body_fails_as_payload_too_large() {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = bind_loopback(1).await.max_request_body(10);
    let server = spawn(server, counting(&hits));
    let answer = exchange(
        server.addr(),
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\n012345\r\n6\r\n678901\r\n0\r\n\r\n",
    )
    .await;
    assert!(answer.ends_with("\r\n\r\npayload_too_large"), "{answer:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_body_below_the_minimum_rate_is_answered_408_and_the_client_still_reads_it() {
    // 1 KiB/s after 300 ms: a client sending a byte every 20 ms (50 B/s) is too slow.
    let server = bind_loopback(1)
        .await
        .body_read_timeout(SHORT)
        .min_body_rate(1024);
    let server = spawn(server, frontdoor::demo::echo());
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        .await
        .unwrap();
    let (mut read, mut write) = stream.into_split();
    let answer = tokio::spawn(async move {
        let mut got = Vec::new();
        let _ = tokio::time::timeout(BOUND, read.read_to_end(&mut got)).await;
        got
    });
    // Keep sending after the answer: the server discards it while it lingers, so the
    // answer is read in full, not lost to a reset.
    let mut interval = tokio::time::interval(Duration::from_millis(20));
    let mut sent = 0;
    while !answer.is_finished() && sent < 400 {
        interval.tick().await;
        if write.write_all(b"a").await.is_err() {
            break;
        }
        sent += 1;
    }
    let answer = String::from_utf8(answer.await.unwrap()).unwrap();
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
    assert!(answer.contains("connection: close\r\n"), "{answer:?}");
    assert!(
        answer.ends_with("\r\n\r\nrequest body failed\n"),
        "{answer:?}"
    );
    assert!(sent < 400, "the client was never cut off");

    // A body at the rate arrives whole.
    let answer = exchange(
        server.addr(),
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    )
    .await;
    assert!(answer.contains("\"body_length\":3"), "{answer:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn an_http2_stream_below_the_minimum_rate_is_answered_408_and_the_connection_goes_on() {
    let server = bind_loopback(1)
        .await
        .body_read_timeout(SHORT)
        .min_body_rate(1024);
    let server = spawn(server, frontdoor::demo::echo());
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    let mut client = client.ready().await.unwrap();
    let url = format!("http://{}/", server.addr());
    let (res, mut stream) = client
        .send_request(Request::post(url.as_str()).body(()).unwrap(), false)
        .unwrap();
    // 50 bytes a second until the answer comes.
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let answered = tokio::time::timeout(BOUND, async {
        tokio::pin!(res);
        loop {
            tokio::select! {
                res = &mut res => return res,
                _ = tick.tick() => {
                    let _ = stream.send_data(Bytes::from_static(b"a"), false);
                }
            }
        }
    })
    .await
    .expect("a slow stream was never cut off")
    .unwrap();
    assert_eq!(answered.status(), StatusCode::REQUEST_TIMEOUT);
    // The other streams are innocent: the connection serves the next request.
    let mut client = client.ready().await.unwrap();
    let (res, _) = client
        .send_request(Request::get(url.as_str()).body(()).unwrap(), true)
        .unwrap();
    assert_eq!(res.await.unwrap().status(), StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn a_reader_slow_to_take_the_body_is_not_the_clients_fault() {
    // 100 KiB/s after 300 ms of waiting for the client; the client sends its 3,000
    // bytes at once, the service takes the first frame, then pauses longer than that.
    let server = bind_loopback(1)
        .await
        .body_read_timeout(SHORT)
        .min_body_rate(100 * 1024);
    let server = spawn(
        server,
        tower::service_fn(|req: Request<Body>| async move {
            let mut body = req.into_body();
            let mut len = 0;
            let mut first = true;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| e.to_string());
                let Ok(frame) = frame else {
                    return Ok::<_, Infallible>(Response::new(Body::from("failed")));
                };
                len += frame.data_ref().map_or(0, Bytes::len);
                if first {
                    first = false;
                    // The reader's own pace, which the client's rate does not include.
                    tokio::time::sleep(2 * SHORT).await;
                }
            }
            Ok(Response::new(Body::from(len.to_string())))
        }),
    );
    let mut request =
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\nConnection: close\r\n\r\n".to_vec();
    request.extend_from_slice(&[b'a'; 3000]);
    let answer = exchange(server.addr(), &request).await;
    assert!(answer.ends_with("\r\n\r\n3000"), "{answer:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_content_length_with_leading_zeros_is_forwarded_canonical() {
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let server = bind_loopback(1).await;
    let server = spawn(
        server,
        tower::service_fn(move |req: Request<Body>| {
            record.lock().push(req.headers()["content-length"].clone());
            async move {
                let body = req.into_body().collect().await.unwrap().to_bytes();
                Ok::<_, Infallible>(Response::new(Body::from(body)))
            }
        }),
    );
    let answer = exchange(
        server.addr(),
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 010\r\nConnection: close\r\n\r\n0123456789",
    )
    .await;
    assert!(answer.ends_with("\r\n\r\n0123456789"), "{answer:?}");
    assert_eq!(*seen.lock(), ["10"]);
    server.shutdown().await;
}

#[tokio::test]
async fn h2c_streams_over_h2_max_concurrent_streams_wait() {
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let gate = Arc::clone(&release);
    let svc = tower::service_fn(move |_req: Request<Body>| {
        let (arrived_tx, gate) = (arrived_tx.clone(), Arc::clone(&gate));
        async move {
            arrived_tx.send(()).unwrap();
            gate.notified().await;
            Ok::<_, Infallible>(Response::new(Body::from("ok")))
        }
    });
    let server = bind_loopback(1).await.h2_max_concurrent_streams(1);
    let server = spawn(server, svc);
    let client = frontdoor_tests::h2c(server.addr()).await;
    let (mut c1, mut c2) = (client.clone(), client);
    let first = tokio::spawn(async move { c1.send_request(get("/1")).await });
    arrived.recv().await.unwrap();
    let second = tokio::spawn(async move { c2.send_request(get("/2")).await });
    tokio::time::sleep(SHORT).await;
    assert!(
        arrived.try_recv().is_err(),
        "a second stream ran concurrently"
    );
    release.notify_one();
    assert_eq!(text(first.await.unwrap().unwrap()).await, "ok");
    tokio::time::timeout(BOUND, arrived.recv())
        .await
        .expect("the second stream never ran");
    release.notify_one();
    assert_eq!(text(second.await.unwrap().unwrap()).await, "ok");
    server.shutdown().await;
}

// === PROXY protocol ===

/// Answers with the peer address the connection info names.
async fn peer(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let remote = req
        .extensions()
        .get::<ConnInfo>()
        .map_or_else(|| "missing".to_owned(), |i| i.remote.to_string());
    Ok(Response::new(Body::from(remote)))
}

fn proxy_v2(source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
    let (SocketAddr::V4(s), SocketAddr::V4(d)) = (source, destination) else {
        panic!("v4 only here");
    };
    let mut out = frontdoor_core::proto::PROXY_V2_SIGNATURE.to_vec();
    out.extend_from_slice(&[0x21, 0x11, 0, 12]);
    out.extend_from_slice(&s.ip().octets());
    out.extend_from_slice(&d.ip().octets());
    out.extend_from_slice(&s.port().to_be_bytes());
    out.extend_from_slice(&d.port().to_be_bytes());
    out
}

async fn proxy_server() -> Running {
    let server: Server = bind_loopback(1).await.proxy_protocol(true);
    spawn(server, tower::service_fn(peer))
}

#[tokio::test]
async fn the_proxy_protocol_source_becomes_the_peer_address() {
    let server = proxy_server().await;
    let head = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let mut v1 = b"PROXY TCP4 192.0.2.7 198.51.100.1 40001 443\r\n".to_vec();
    v1.extend_from_slice(head);
    let answer = exchange(server.addr(), &v1).await;
    assert!(answer.ends_with("\r\n\r\n192.0.2.7:40001"), "{answer:?}");

    let mut v2 = proxy_v2(
        "203.0.113.9:40002".parse().unwrap(),
        "198.51.100.1:443".parse().unwrap(),
    );
    v2.extend_from_slice(head);
    let answer = exchange(server.addr(), &v2).await;
    assert!(answer.ends_with("\r\n\r\n203.0.113.9:40002"), "{answer:?}");

    // The header may arrive in pieces, the request in the same segment as its end.
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream.write_all(b"PROXY TCP6 2001:db8::5 ").await.unwrap();
    tokio::task::yield_now().await;
    let mut rest = b"2001:db8::1 40003 443\r\n".to_vec();
    rest.extend_from_slice(head);
    stream.write_all(&rest).await.unwrap();
    let answer = closed(&mut stream, "v1 in pieces").await;
    assert!(
        answer.ends_with("\r\n\r\n[2001:db8::5]:40003"),
        "{answer:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn without_a_proxy_protocol_header_nothing_is_served() {
    let server = proxy_server().await;
    let answer = exchange(
        server.addr(),
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.is_empty(), "{answer:?}");
    // A client that sends nothing is closed within the header timeout too.
    let server2 = bind_loopback(1)
        .await
        .proxy_protocol(true)
        .header_read_timeout(SHORT);
    let server2 = spawn(server2, tower::service_fn(peer));
    let mut silent = TcpStream::connect(server2.addr()).await.unwrap();
    assert!(closed(&mut silent, "silent PROXY client").await.is_empty());
    // A LOCAL command (a balancer's health check) keeps the real peer.
    let mut local = frontdoor_core::proto::PROXY_V2_SIGNATURE.to_vec();
    local.extend_from_slice(&[0x20, 0x00, 0, 0]);
    local.extend_from_slice(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let answer = exchange(server.addr(), &local).await;
    assert!(answer.contains("\r\n\r\n127.0.0.1:"), "{answer:?}");
    server.shutdown().await;
    server2.shutdown().await;
}
