//! A client body that fails to parse, or ends early, aborts the upstream request:
//! the upstream connection is closed mid-message (no last chunk, no complete
//! `Content-Length` body), so the origin never sees a complete request. The limits
//! issue's body-size cap reuses the same abort.

use tokio::{io::AsyncWriteExt, net::TcpStream};

use super::{answers, complete_request, read_answer, read_to_close, Capture};
use frontdoor_tests::{bind_loopback, spawn};

use crate::stack::support::{front, router, upstream, CLIENT_BOUND};

/// Sends `raw` to a front in front of a capture origin, optionally closing the
/// client's write half afterwards; returns what the client got and what the origin
/// received on its one connection.
async fn upload(raw: &str, close_after: bool) -> (Vec<u8>, Vec<u8>) {
    let mut origin = Capture::start().await;
    let front = front(origin.addr).await;
    let mut client = TcpStream::connect(front.running.addr()).await.unwrap();
    client.write_all(raw.as_bytes()).await.unwrap();
    if close_after {
        client.shutdown().await.unwrap();
    }
    let received = origin.next_closed().await;
    let answered = read_to_close(&mut client).await;
    assert!(!origin.any_closed(), "one upstream connection only");
    (answered, received)
}

fn head(framing: &str) -> String {
    format!("POST /upload HTTP/1.1\r\nHost: app.test\r\n{framing}\r\n")
}

#[tokio::test]
async fn a_malformed_chunked_body_never_completes_the_upstream_request() {
    // `hello` is followed by `XX` where CRLF must be: hyper's decoder fails after
    // delivering `hello`.
    let raw = format!(
        "{}5\r\nhelloXX\r\n0\r\n\r\n",
        head("Transfer-Encoding: chunked\r\n")
    );
    let (answered, received) = upload(&raw, false).await;
    // The head is streamed as the body arrives; the HTTP/1 fast path reads the bad
    // chunk in the same read as the head and fails the body before anything is
    // written upstream.
    assert!(
        received.is_empty() || received.starts_with(b"POST /upload HTTP/1.1\r\n"),
        "{:?}",
        String::from_utf8_lossy(&received)
    );
    assert!(
        !complete_request(&received),
        "the upstream request was completed: {:?}",
        String::from_utf8_lossy(&received)
    );
    // The client is told (400) or cut off; never a 2xx.
    assert!(
        answers(&answered).iter().all(|a| a.status == 400),
        "{answered:?}"
    );
}

#[tokio::test]
async fn a_client_that_stops_mid_body_never_completes_the_upstream_request() {
    for (framing, body) in [
        ("Content-Length: 10\r\n", "hello"),
        ("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n"),
        ("Transfer-Encoding: chunked\r\n", "a\r\nhello"),
    ] {
        let raw = format!("{}{body}", head(framing));
        let (_, received) = upload(&raw, true).await;
        assert!(
            received.is_empty() || received.starts_with(b"POST /upload HTTP/1.1\r\n"),
            "{framing}"
        );
        assert!(
            !complete_request(&received),
            "{framing} {body:?}: the upstream request was completed: {:?}",
            String::from_utf8_lossy(&received)
        );
    }
}

#[tokio::test]
async fn a_client_connection_dropped_mid_body_never_completes_the_upstream_request() {
    // Graceful shutdown gives up on a slow upload after the drain timeout and drops
    // the connection: hyper then ends the request body as if it were complete.
    let mut origin = Capture::start().await;
    let stack = tower::ServiceBuilder::new()
        .layer(frontdoor::resolve::ResolveLayer::new(
            frontdoor::resolve::DirectResolver::new(),
        ))
        .service(router(upstream(origin.addr)));
    let server = bind_loopback(1)
        .await
        .drain_timeout(std::time::Duration::from_millis(50));
    let mut running = spawn(server, stack);
    let mut client = TcpStream::connect(running.addr()).await.unwrap();
    let raw = format!("{}5\r\nhello\r\n", head("Transfer-Encoding: chunked\r\n"));
    client.write_all(raw.as_bytes()).await.unwrap();
    origin.received(b"hello\r\n").await;

    running.trigger_shutdown();
    running.finished().await;
    let received = origin.next_closed().await;
    assert!(
        !complete_request(&received),
        "the upstream request was completed: {:?}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn an_early_upstream_answer_does_not_complete_the_upstream_request() {
    // The origin answers before reading the body; the answer is relayed, then the
    // client goes away mid-body, which must not look like the body's end.
    let mut origin =
        Capture::answering(Some(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")).await;
    let front = front(origin.addr).await;
    let mut client = TcpStream::connect(front.running.addr()).await.unwrap();
    let raw = format!("{}5\r\nhello\r\n", head("Transfer-Encoding: chunked\r\n"));
    client.write_all(raw.as_bytes()).await.unwrap();
    let answered = read_answer(&mut client).await;
    assert_eq!(answered.status, 200);
    drop(client);
    let received = origin.next_closed().await;
    assert!(
        !complete_request(&received),
        "the upstream request was completed: {:?}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn a_body_cut_off_by_a_dropped_connection_fails_instead_of_ending() {
    // A request body whose connection is dropped must fail, never end: an upstream
    // client streaming it would send the last chunk. (hyper reports an incomplete
    // message here; serve's body would fail on its own if hyper ever ended it.) The
    // service reads the body on a task of its own, as the upstream client's
    // connection task does, and never answers.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Arc::new(parking_lot::Mutex::new(Some(tx)));
    let called = std::sync::Arc::new(tokio::sync::Notify::new());
    let called_in = std::sync::Arc::clone(&called);
    let svc = tower::service_fn(move |req: http::Request<frontdoor::Body>| {
        let tx = std::sync::Arc::clone(&tx);
        called_in.notify_one();
        async move {
            tokio::spawn(async move {
                let ended = http_body_util::BodyExt::collect(req.into_body()).await;
                if let Some(tx) = tx.lock().take() {
                    let _ = tx.send(ended.map(|_| ()).map_err(|e| e.to_string()));
                }
            });
            std::future::pending::<Result<http::Response<frontdoor::Body>, std::convert::Infallible>>().await
        }
    });
    let server = bind_loopback(1)
        .await
        .drain_timeout(std::time::Duration::from_millis(50));
    let mut running = spawn(server, svc);
    let mut client = TcpStream::connect(running.addr()).await.unwrap();
    let raw = format!("{}5\r\nhello\r\n", head("Transfer-Encoding: chunked\r\n"));
    client.write_all(raw.as_bytes()).await.unwrap();
    // Shut down once the request is in flight: the service answers nothing, so the
    // connection is dropped by the drain timeout.
    called.notified().await;
    running.trigger_shutdown();
    running.finished().await;
    let ended = tokio::time::timeout(CLIENT_BOUND, rx)
        .await
        .unwrap()
        .unwrap();
    assert!(ended.is_err(), "the cut-off body ended cleanly");
}

#[tokio::test]
async fn an_http2_client_that_resets_mid_body_never_completes_the_upstream_request() {
    // hyper ends an HTTP/2 request body on RST_STREAM(NO_ERROR) as if END_STREAM had
    // arrived; without a Content-Length the upstream request is chunked.
    let mut origin = Capture::start().await;
    let front = front(origin.addr).await;
    let tcp = TcpStream::connect(front.running.addr()).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    let mut client = client.ready().await.unwrap();
    let req = http::Request::post("http://app.test/upload")
        .body(())
        .unwrap();
    let (_res, mut stream) = client.send_request(req, false).unwrap();
    stream
        .send_data(bytes::Bytes::from_static(b"hello"), false)
        .unwrap();
    origin.received(b"hello\r\n").await;
    stream.send_reset(h2::Reason::NO_ERROR);
    let received = origin.next_closed().await;
    assert!(
        !complete_request(&received),
        "the upstream request was completed: {:?}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn an_http2_client_that_resets_after_an_early_answer_never_completes_the_upstream_request() {
    // RFC 9113 8.1: after an early response a client may stop its upload with
    // RST_STREAM(NO_ERROR). The answered service future is gone by then, so only the
    // request body tells the upstream client that the upload was cut short; hyper ends
    // it as if END_STREAM had arrived.
    let mut origin =
        Capture::answering(Some(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")).await;
    let front = front(origin.addr).await;
    let tcp = TcpStream::connect(front.running.addr()).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    let mut client = client.ready().await.unwrap();
    let req = http::Request::post("http://app.test/upload")
        .body(())
        .unwrap();
    let (res, mut stream) = client.send_request(req, false).unwrap();
    stream
        .send_data(bytes::Bytes::from_static(b"hello"), false)
        .unwrap();
    let res = tokio::time::timeout(CLIENT_BOUND, res)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(res.status(), 200);
    origin.received(b"hello\r\n").await;
    stream.send_reset(h2::Reason::NO_ERROR);
    let received = origin.next_closed().await;
    assert!(
        !complete_request(&received),
        "the upstream request was completed: {:?}",
        String::from_utf8_lossy(&received)
    );
}

/// An h2c origin that reports, for its one request, whether the body ended with
/// END_STREAM (`true`) or was reset (`false`).
async fn h2c_origin() -> (std::net::SocketAddr, tokio::sync::oneshot::Receiver<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut conn = h2::server::handshake(stream).await.unwrap();
        let Some(Ok((req, _respond))) = conn.accept().await else {
            return;
        };
        tokio::spawn(async move { while conn.accept().await.is_some() {} });
        let mut body = req.into_body();
        let ended = loop {
            match body.data().await {
                Some(Ok(chunk)) => {
                    let _ = body.flow_control().release_capacity(chunk.len());
                }
                Some(Err(_)) => break false,
                None => break true,
            }
        };
        let _ = tx.send(ended);
    });
    (addr, rx)
}

#[tokio::test]
async fn a_malformed_chunked_body_resets_an_h2c_upstream_stream() {
    // hyper-util's pooled client (h2c here, https the same way) aborts too.
    let (origin, ended) = h2c_origin().await;
    let upstream = frontdoor::upstream::Upstream::builder(&format!("http://{origin}"))
        .http2_only(true)
        .build()
        .unwrap();
    let front = crate::stack::support::front_with(tower::util::BoxCloneSyncService::new(
        tower::ServiceBuilder::new()
            .layer(frontdoor::upstream::GatewayErrorLayer::new())
            .service(upstream),
    ))
    .await;
    let mut client = TcpStream::connect(front.running.addr()).await.unwrap();
    let raw = format!(
        "{}5\r\nhelloXX\r\n0\r\n\r\n",
        head("Transfer-Encoding: chunked\r\n")
    );
    client.write_all(raw.as_bytes()).await.unwrap();
    let ended = tokio::time::timeout(CLIENT_BOUND, ended)
        .await
        .unwrap()
        .unwrap();
    assert!(!ended, "the h2c upstream stream ended with END_STREAM");
}
