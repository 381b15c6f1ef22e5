//! `frontdoor::serve`: ConnInfo, h1 and h2c, several listeners, graceful shutdown,
//! header-read timeout and the connection limit.

use std::{
    convert::Infallible,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use frontdoor::{demo, Body};
use frontdoor_core::ConnInfo;
use frontdoor_tests::{bind_loopback, get, h1, h2c, json, spawn, text};
use http::{Request, Response, Version};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::{mpsc, Notify},
};

/// Answers with the connection info it was given.
async fn conn_info(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let text = match req.extensions().get::<ConnInfo>() {
        Some(info) => format!("{} {} {}", info.local, info.remote, info.tls),
        None => "missing".to_owned(),
    };
    Ok(Response::new(Body::from(text)))
}

#[tokio::test]
async fn conn_info_is_inserted() {
    let server = spawn(bind_loopback(1).await, tower::service_fn(conn_info));
    let mut client = h1(server.addr()).await;
    let res = client.send_request(get("/")).await.unwrap();
    let body = text(res).await;
    let parts: Vec<&str> = body.split(' ').collect();
    assert_eq!(parts[0], server.addr().to_string());
    assert!(parts[1].starts_with("127.0.0.1:"), "{body}");
    assert_eq!(parts[2], "false");
    server.shutdown().await;
}

#[tokio::test]
async fn h1_and_h2c_both_work() {
    let server = spawn(bind_loopback(1).await, demo::echo());
    let res = h1(server.addr())
        .await
        .send_request(get("/one?a=b"))
        .await
        .unwrap();
    assert_eq!(res.version(), Version::HTTP_11);
    let doc = json(res).await;
    assert_eq!(doc["version"], "HTTP/1.1");
    assert_eq!(doc["path"], "/one");
    assert_eq!(doc["query"], "a=b");

    let mut h2 = h2c(server.addr()).await;
    let req = Request::get(format!("http://{}/two", server.addr()))
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            b"12345",
        )))
        .unwrap();
    let res = h2.send_request(req).await.unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    let doc = json(res).await;
    assert_eq!(doc["version"], "HTTP/2.0");
    assert_eq!(doc["path"], "/two");
    assert_eq!(doc["body_length"], 5);
    server.shutdown().await;
}

/// RFC 8441 (WebSocket over HTTP/2) is not offered: the server's `SETTINGS` do not
/// carry `SETTINGS_ENABLE_CONNECT_PROTOCOL`, and a stream that carries `:protocol`
/// anyway is reset (`PROTOCOL_ERROR`) before it reaches the service.
#[tokio::test]
async fn extended_connect_is_not_offered_over_http2() {
    let server = spawn(bind_loopback(1).await, demo::echo());
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    let mut client = client.ready().await.unwrap();
    let req = Request::get(format!("http://{}/", server.addr()))
        .body(())
        .unwrap();
    let (res, _) = client.send_request(req, true).unwrap();
    // The server's SETTINGS open the connection: an answer means they were read.
    assert_eq!(res.await.unwrap().status(), 200);
    assert!(!client.is_extended_connect_protocol_enabled());
    let mut connect = Request::connect(format!("http://{}/chat", server.addr()))
        .body(())
        .unwrap();
    connect
        .extensions_mut()
        .insert(h2::ext::Protocol::from_static("websocket"));
    // Sent anyway, it is reset before it reaches the service.
    let (res, _) = client.send_request(connect, true).unwrap();
    let err = res.await.unwrap_err();
    assert_eq!(err.reason(), Some(h2::Reason::PROTOCOL_ERROR), "{err}");
    assert!(err.is_remote() && err.is_reset(), "{err:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn two_listeners_share_one_service() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let svc = tower::service_fn(move |req: Request<Body>| {
        counted.fetch_add(1, Ordering::SeqCst);
        conn_info(req)
    });
    let server = spawn(bind_loopback(2).await, svc);
    assert_eq!(server.addrs.len(), 2);
    assert_ne!(server.addrs[0], server.addrs[1]);
    for addr in &server.addrs {
        let res = h1(*addr).await.send_request(get("/")).await.unwrap();
        let body = text(res).await;
        assert!(body.starts_with(&addr.to_string()), "{body} on {addr}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_drains_an_in_flight_request() {
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    let svc = tower::service_fn(move |_req: Request<Body>| {
        let arrived_tx = arrived_tx.clone();
        let gate = gate.clone();
        async move {
            arrived_tx.send(()).unwrap();
            gate.notified().await;
            Ok::<_, Infallible>(Response::new(Body::from("drained")))
        }
    });
    let mut server = spawn(bind_loopback(1).await, svc);
    let addr = server.addr();
    let mut client = h1(addr).await;
    let in_flight = tokio::spawn(async move { client.send_request(get("/slow")).await });
    arrived.recv().await.unwrap();

    server.trigger_shutdown();
    // The listener closes: new connections are refused once the accept loop stopped.
    let refused = async {
        loop {
            if TcpStream::connect(addr).await.is_err() {
                break;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), refused)
        .await
        .expect("listener still accepting after shutdown");

    release.notify_one();
    let res = in_flight.await.unwrap().unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(text(res).await, "drained");
    tokio::time::timeout(Duration::from_secs(10), server.finished())
        .await
        .expect("server did not finish after draining");
}

#[tokio::test]
async fn drain_timeout_drops_stuck_requests() {
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let svc = tower::service_fn(move |_req: Request<Body>| {
        let arrived_tx = arrived_tx.clone();
        async move {
            arrived_tx.send(()).unwrap();
            std::future::pending::<()>().await;
            Ok::<_, Infallible>(Response::new(Body::empty()))
        }
    });
    let server = bind_loopback(1)
        .await
        .drain_timeout(Duration::from_millis(100));
    let mut server = spawn(server, svc);
    let mut client = h1(server.addr()).await;
    let stuck = tokio::spawn(async move { client.send_request(get("/")).await });
    arrived.recv().await.unwrap();
    server.trigger_shutdown();
    tokio::time::timeout(Duration::from_secs(10), server.finished())
        .await
        .expect("server did not give up after the drain timeout");
    assert!(
        stuck.await.unwrap().is_err(),
        "a dropped request is an error"
    );
}

/// Reads until EOF or error; returns what was read.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf).await;
    buf
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let server = bind_loopback(1)
        .await
        .header_read_timeout(Duration::from_millis(200));
    let server = spawn(server, demo::echo());

    // Sends part of a request head and then nothing.
    let mut partial = TcpStream::connect(server.addr()).await.unwrap();
    partial
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), read_to_close(&mut partial))
        .await
        .expect("slow client was never cut off");
    // hyper may answer 408 before closing; it never answers 200.
    assert!(!String::from_utf8_lossy(&got).contains("200 OK"));

    // Connects and sends nothing at all.
    let mut silent = TcpStream::connect(server.addr()).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), read_to_close(&mut silent))
        .await
        .expect("silent client was never cut off");
    assert!(got.is_empty());

    // A prompt client on the same server is still served.
    let res = h1(server.addr())
        .await
        .send_request(get("/ok"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    server.shutdown().await;
}

/// Answers `ok` (two bytes, so a raw client knows where the response ends).
async fn ok(_req: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::new(Body::from("ok")))
}

/// Reads from `stream` until what was read ends with `suffix`.
async fn read_until_suffix(stream: &mut TcpStream, suffix: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(suffix) {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    got
}

#[tokio::test]
async fn the_header_timeout_runs_again_after_each_response() {
    const TIMEOUT: Duration = Duration::from_millis(200);
    let server = bind_loopback(1)
        .await
        .header_read_timeout(TIMEOUT)
        .idle_timeout(TIMEOUT);
    let server = spawn(server, tower::service_fn(ok));
    let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    // An idle keep-alive connection is closed one idle timeout after its last
    // response.
    let mut idle = TcpStream::connect(server.addr()).await.unwrap();
    idle.write_all(request).await.unwrap();
    read_until_suffix(&mut idle, b"\r\n\r\nok").await;
    let answered = tokio::time::Instant::now();
    let rest = tokio::time::timeout(Duration::from_secs(10), read_to_close(&mut idle))
        .await
        .expect("idle keep-alive connection was never closed");
    assert!(rest.is_empty());
    assert!(answered.elapsed() >= TIMEOUT, "{:?}", answered.elapsed());

    // A second head that never completes is cut off too.
    let mut partial = TcpStream::connect(server.addr()).await.unwrap();
    partial.write_all(request).await.unwrap();
    read_until_suffix(&mut partial, b"\r\n\r\nok").await;
    partial
        .write_all(b"GET /second HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let rest = tokio::time::timeout(Duration::from_secs(10), read_to_close(&mut partial))
        .await
        .expect("partial second head was never cut off");
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));

    // Heads that keep coming on time keep the connection: five requests spread over
    // more than twice the timeout.
    let mut client = h1(server.addr()).await;
    for _ in 0..5 {
        let res = client.send_request(get("/")).await.unwrap();
        assert_eq!(text(res).await, "ok");
        tokio::time::sleep(TIMEOUT / 2).await;
    }
    server.shutdown().await;
}

/// A body that sends `first `, waits, then sends `last`.
struct SlowBody {
    step: u8,
    pause: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for SlowBody {
    type Data = bytes::Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Infallible>>> {
        use std::future::Future as _;
        let chunk = match self.step {
            0 => "first ",
            1 => {
                std::task::ready!(self.pause.as_mut().poll(cx));
                "last"
            }
            _ => return std::task::Poll::Ready(None),
        };
        self.step += 1;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from(chunk)))))
    }
}

#[tokio::test]
async fn a_response_longer_than_the_header_timeout_is_not_cut_off() {
    const TIMEOUT: Duration = Duration::from_millis(200);
    let server = bind_loopback(1).await.header_read_timeout(TIMEOUT);
    let svc = tower::service_fn(|_req: Request<Body>| async {
        let body = SlowBody {
            step: 0,
            pause: Box::pin(tokio::time::sleep(TIMEOUT * 3)),
        };
        Ok::<_, Infallible>(Response::new(Body::new(body)))
    });
    let server = spawn(server, svc);
    let mut client = h1(server.addr()).await;
    let res = client.send_request(get("/slow")).await.unwrap();
    assert_eq!(text(res).await, "first last");
    // The connection is still open for the next request.
    let res = client.send_request(get("/again")).await.unwrap();
    assert_eq!(text(res).await, "first last");
    server.shutdown().await;
}

#[tokio::test]
async fn idle_h2c_connections_are_not_cut_off_by_the_header_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(200);
    let server = bind_loopback(1).await.header_read_timeout(TIMEOUT);
    let server = spawn(server, tower::service_fn(ok));
    let mut client = h2c(server.addr()).await;
    let res = client.send_request(get("/")).await.unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(text(res).await, "ok");
    tokio::time::sleep(TIMEOUT * 3).await;
    let res = client.send_request(get("/")).await.unwrap();
    assert_eq!(text(res).await, "ok");
    server.shutdown().await;
}

#[tokio::test]
async fn connection_limit_holds_extra_connections_back() {
    let server = bind_loopback(1).await.max_connections(1);
    let server = spawn(server, demo::echo());
    let mut first = h1(server.addr()).await;
    assert_eq!(first.send_request(get("/1")).await.unwrap().status(), 200);

    // The second connection sits in the backlog while the first is open.
    let mut second = h1(server.addr()).await;
    let pending = tokio::spawn(async move { second.send_request(get("/2")).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!pending.is_finished(), "served past the connection limit");

    drop(first);
    let res = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .expect("second connection never served")
        .unwrap()
        .unwrap();
    assert_eq!(res.status(), 200);
    server.shutdown().await;
}

/// Sends raw bytes and returns the whole answer (the server closes after a 400).
async fn raw_exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), read_to_close(&mut stream))
        .await
        .expect("connection left open after a rejected request");
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn bad_framing_is_rejected_before_the_service() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let svc = tower::service_fn(move |req: Request<Body>| {
        counted.fetch_add(1, Ordering::SeqCst);
        conn_info(req)
    });
    let server = spawn(bind_loopback(1).await, svc);
    let cases: &[(&str, &[u8], u16)] = &[
        ("missing host", b"GET / HTTP/1.1\r\n\r\n", 400),
        ("two hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (
            "signed content-length",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc",
            400,
        ),
        (
            "chunked twice",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            400,
        ),
        (
            "gzip then chunked",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            // RFC 9112 6.1: a transfer coding the server does not implement.
            501,
        ),
        (
            "content-length with transfer-encoding",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            "fragment",
            b"DELETE /coll/#frag HTTP/1.1\r\nHost: a\r\n\r\n",
            400,
        ),
    ];
    for (name, bytes, status) in cases {
        let answer = raw_exchange(server.addr(), bytes).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{name}: {answer:?}"
        );
        assert!(
            answer.contains("\r\nconnection: close\r\n"),
            "{name}: {answer:?}"
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a rejected request reached the service"
    );

    // HTTP/1.0 without Host is fine (the resolver falls back to the server name).
    let answer = raw_exchange(server.addr(), b"GET / HTTP/1.0\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.0 200 "), "{answer:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

mod workers {
    use std::{
        collections::HashSet,
        sync::atomic::{AtomicUsize, Ordering},
    };

    use frontdoor::serve::Workers;
    use parking_lot::Mutex;

    use super::*;

    #[tokio::test]
    async fn every_worker_builds_its_own_service_and_serves_one_port() {
        let built = Arc::new(AtomicUsize::new(0));
        let threads = Arc::new(Mutex::new(HashSet::new()));
        let workers = Workers::bind(&["127.0.0.1:0".parse().unwrap()], 2).unwrap();
        assert_eq!(workers.workers(), 2);
        let addr = workers.local_addrs()[0];
        assert_ne!(addr.port(), 0);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (b, t) = (built.clone(), threads.clone());
        let task = tokio::spawn(workers.serve_with_shutdown(
            move |index| {
                b.fetch_add(1, Ordering::SeqCst);
                let t = t.clone();
                tower::service_fn(move |req: Request<Body>| {
                    t.lock()
                        .insert(std::thread::current().name().map(str::to_owned));
                    let text = format!("worker {index}");
                    let _ = req;
                    async move { Ok::<_, Infallible>(Response::new(Body::from(text))) }
                })
            },
            async {
                let _ = stop_rx.await;
            },
        ));
        // Many connections: the kernel spreads them over both workers' listeners.
        for _ in 0..32 {
            let res = h1(addr).await.send_request(get("/")).await.unwrap();
            assert!(text(res).await.starts_with("worker "));
        }
        assert_eq!(built.load(Ordering::SeqCst), 2);
        for name in threads.lock().iter() {
            let name = name.as_deref().unwrap_or_default();
            assert!(name.starts_with("frontdoor-worker-"), "served on {name:?}");
        }
        stop_tx.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("workers did not stop")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn workers_drain_in_flight_requests_on_shutdown() {
        let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
        let release = Arc::new(Notify::new());
        let workers = Workers::bind(&["127.0.0.1:0".parse().unwrap()], 2)
            .unwrap()
            .header_read_timeout(Duration::from_secs(5))
            .max_connections(64);
        let addr = workers.local_addrs()[0];
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let gate = release.clone();
        let task = tokio::spawn(workers.serve_with_shutdown(
            move |_| {
                let (arrived_tx, gate) = (arrived_tx.clone(), gate.clone());
                tower::service_fn(move |_req: Request<Body>| {
                    let (arrived_tx, gate) = (arrived_tx.clone(), gate.clone());
                    async move {
                        arrived_tx.send(()).unwrap();
                        gate.notified().await;
                        Ok::<_, Infallible>(Response::new(Body::from("drained")))
                    }
                })
            },
            async {
                let _ = stop_rx.await;
            },
        ));
        let mut client = h1(addr).await;
        let in_flight = tokio::spawn(async move { client.send_request(get("/slow")).await });
        arrived.recv().await.unwrap();
        stop_tx.send(()).unwrap();
        release.notify_one();
        let res = in_flight.await.unwrap().unwrap();
        assert_eq!(text(res).await, "drained");
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("workers did not finish")
            .unwrap()
            .unwrap();
    }

    #[test]
    fn binding_a_busy_port_is_an_error_naming_the_address() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = Workers::bind(&[addr], 2).unwrap_err();
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }
}

#[tokio::test]
async fn a_stalled_request_body_fails_after_the_body_read_timeout() {
    let server = bind_loopback(1)
        .await
        .body_read_timeout(Duration::from_millis(200));
    let server = spawn(server, demo::echo());
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    // Ten bytes announced, three sent, then nothing.
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        .await
        .unwrap();
    let mut buf = vec![0; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("a stalled body was never given up on")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    // The echo backend answers the body's error: 408, and the connection closes.
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer:?}"
    );

    // A body that arrives in pieces is not cut off.
    let mut slow = TcpStream::connect(server.addr()).await.unwrap();
    slow.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    for byte in [b"a", b"b", b"c"] {
        slow.write_all(byte).await.unwrap();
        tokio::task::yield_now().await;
    }
    let answer = String::from_utf8(read_to_close(&mut slow).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer:?}");
    assert!(answer.contains("\"body_length\":3"), "{answer:?}");
    server.shutdown().await;
}
