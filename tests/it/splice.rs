//! Response bodies spliced from the upstream's socket to the client's: an upstream
//! built with `splice_bodies` behind the server, a raw origin that writes each answer
//! as the test scripts it, and a hyper client. On the HTTP/1 fast path (plain TCP,
//! Linux) the bodies go by `splice(2)` (`spliced_bytes` grows); on hyper's path the
//! same answers are copied. Either way the client gets every byte in its framing,
//! and the upstream connection is reused after a whole body.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use frontdoor::{
    serve::spliced_bytes,
    upstream::{GatewayErrorLayer, Upstream},
};
use frontdoor_tests::{bind_loopback, get, h1, http1_fast_path, spawn, Running};
use http_body_util::BodyExt as _;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    sync::Notify,
};
use tower::ServiceBuilder;

/// A body of `n` bytes that is not one byte repeated.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// What the origin answers: raw bytes written in pieces (each flushed on its own),
/// then the connection is kept (for the next request) or closed.
#[derive(Clone)]
struct Answer {
    pieces: Vec<Vec<u8>>,
    close: bool,
    /// Waited for before the last piece.
    gate: Option<Arc<Notify>>,
}

/// A raw origin: reads a request head, writes the next scripted answer; counts the
/// connections it accepted.
async fn origin(answers: Vec<Answer>) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    let answers = Arc::new(parking_lot::Mutex::new(answers.into_iter()));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let answers = Arc::clone(&answers);
            tokio::spawn(async move { serve_conn(stream, &answers).await });
        }
    });
    (addr, accepted)
}

async fn serve_conn(
    mut stream: TcpStream,
    answers: &parking_lot::Mutex<std::vec::IntoIter<Answer>>,
) {
    let mut buf = Vec::new();
    loop {
        // A request head (the tests send no bodies).
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        buf.drain(..end);
        let Some(answer) = answers.lock().next() else {
            return;
        };
        for (i, piece) in answer.pieces.iter().enumerate() {
            if let (Some(gate), true) = (&answer.gate, i + 1 == answer.pieces.len()) {
                gate.notified().await;
            }
            if stream.write_all(piece).await.is_err() {
                return;
            }
            stream.flush().await.unwrap();
            tokio::task::yield_now().await;
        }
        if answer.close {
            return;
        }
    }
}

/// The server in front of `origin`, its upstream offering bodies for splicing.
async fn front(origin: SocketAddr) -> Running {
    let upstream = Upstream::builder(&format!("http://{origin}"))
        .body_idle_timeout(Some(Duration::from_secs(5)))
        .splice_bodies(true)
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(GatewayErrorLayer::new())
        .service(upstream);
    spawn(bind_loopback(1).await, svc)
}

fn length_answer(body: &[u8]) -> Answer {
    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
    let mut pieces = vec![head.into_bytes()];
    pieces.extend(body.chunks(100 * 1024).map(<[u8]>::to_vec));
    Answer {
        pieces,
        close: false,
        gate: None,
    }
}

/// A chunked answer of `chunks` (each written as one chunk with an extension, in
/// two pieces), with an `x-sum` trailer it announces.
fn chunked_answer(chunks: &[Vec<u8>]) -> Answer {
    let mut pieces =
        vec![b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-sum\r\n\r\n".to_vec()];
    for chunk in chunks {
        let (a, b) = chunk.split_at(chunk.len() / 2);
        let mut first = format!("{:x};ext=1\r\n", chunk.len()).into_bytes();
        first.extend_from_slice(a);
        let mut second = b.to_vec();
        second.extend_from_slice(b"\r\n");
        pieces.push(first);
        pieces.push(second);
    }
    pieces.push(b"0\r\nx-sum: 42\r\n\r\n".to_vec());
    Answer {
        pieces,
        close: false,
        gate: None,
    }
}

/// Whether this run's server splices (the fast path on Linux).
fn splices() -> bool {
    http1_fast_path() && cfg!(target_os = "linux")
}

/// Sends `GET path` on `client`: the answer's head, its body, and the bytes spliced
/// meanwhile (counted over the process: tests splicing at the same time can only
/// add to it, and when splicing is broken nothing does).
async fn fetch(
    client: &mut hyper::client::conn::http1::SendRequest<http_body_util::Full<Bytes>>,
    path: &str,
) -> (http::response::Parts, http_body_util::Collected<Bytes>, u64) {
    let before = spliced_bytes();
    let res = client.send_request(get(path)).await.unwrap();
    let (parts, body) = res.into_parts();
    let collected = body.collect().await.unwrap();
    (parts, collected, spliced_bytes() - before)
}

#[tokio::test]
async fn a_long_content_length_body_is_spliced_whole_and_the_connections_are_reused() {
    let body = pattern(1024 * 1024 + 17);
    let (addr, accepted) = origin(vec![length_answer(&body), length_answer(&body)]).await;
    let front = front(addr).await;
    let mut client = h1(front.addr()).await;
    for _ in 0..2 {
        let (head, got, moved) = fetch(&mut client, "/big").await;
        assert_eq!(head.status, 200);
        assert_eq!(head.headers["content-length"], body.len().to_string());
        assert!(got.to_bytes() == body, "the body arrived changed");
        if splices() {
            // All but what the upstream client read with the head.
            assert!(moved >= 900 * 1024, "only {moved} bytes spliced");
        }
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "upstream connection reused"
    );
    front.shutdown().await;
}

#[tokio::test]
async fn a_chunked_body_is_spliced_chunk_by_chunk_to_its_trailer_section() {
    let chunks = vec![pattern(300 * 1024), pattern(5), pattern(200 * 1024)];
    let whole: Vec<u8> = chunks.concat();
    let (addr, accepted) = origin(vec![chunked_answer(&chunks), chunked_answer(&chunks)]).await;
    let front = front(addr).await;
    let mut client = h1(front.addr()).await;
    for _ in 0..2 {
        let (head, collected, moved) = fetch(&mut client, "/chunked").await;
        assert_eq!(head.status, 200);
        assert_eq!(head.headers["transfer-encoding"], "chunked");
        // The trailer section is read to its end (the connection is reused below);
        // `Trailer` is hop-by-hop, so, as on every path, the trailers stop here.
        assert!(collected.trailers().is_none());
        assert!(collected.to_bytes() == whole, "the body arrived changed");
        if splices() {
            assert!(moved >= 400 * 1024, "only {moved} bytes spliced");
        }
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "upstream connection reused"
    );
    front.shutdown().await;
}

#[tokio::test]
async fn an_upstream_that_closes_mid_body_cuts_the_answer_off() {
    let body = pattern(1024 * 1024);
    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
    let short = Answer {
        pieces: vec![head.into_bytes(), body[..300 * 1024].to_vec()],
        close: true,
        gate: None,
    };
    let (addr, _) = origin(vec![short, length_answer(&body)]).await;
    let front = front(addr).await;
    let mut client = h1(front.addr()).await;
    let res = client.send_request(get("/short")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.into_body().collect().await.is_err(),
        "a body cut off upstream is cut off downstream"
    );
    // The next client, on a new upstream connection, gets the whole body.
    let mut client = h1(front.addr()).await;
    let res = client.send_request(get("/big")).await.unwrap();
    let got = res.into_body().collect().await.unwrap().to_bytes();
    assert!(got == body, "the body arrived changed");
    front.shutdown().await;
}

#[tokio::test]
async fn a_bad_chunk_size_mid_splice_cuts_the_answer_off() {
    let mut answer = chunked_answer(&[pattern(200 * 1024)]);
    answer.pieces.truncate(3);
    answer.pieces.push(b"zz\r\n".to_vec());
    answer.close = true;
    let (addr, _) = origin(vec![answer]).await;
    let front = front(addr).await;
    let mut client = h1(front.addr()).await;
    let res = client.send_request(get("/bad")).await.unwrap();
    assert!(res.into_body().collect().await.is_err());
    front.shutdown().await;
}

#[tokio::test]
async fn a_head_request_gets_the_length_and_no_body() {
    let body = pattern(512 * 1024);
    let head_answer = Answer {
        pieces: vec![
            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes(),
        ],
        close: false,
        gate: None,
    };
    let (addr, accepted) = origin(vec![head_answer, length_answer(&body)]).await;
    let front = front(addr).await;
    let mut client = h1(front.addr()).await;
    let req = http::Request::head("/big")
        .header("host", "front.test")
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    let res = client.send_request(req).await.unwrap();
    assert_eq!(res.headers()["content-length"], body.len().to_string());
    assert!(res
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .is_empty());
    let res = client.send_request(get("/big")).await.unwrap();
    let got = res.into_body().collect().await.unwrap().to_bytes();
    assert!(got == body, "the body arrived changed");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "upstream connection reused"
    );
    front.shutdown().await;
}

#[tokio::test]
async fn what_arrived_is_written_while_the_upstream_holds_the_rest() {
    let gate = Arc::new(Notify::new());
    let events = Answer {
        pieces: vec![
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                .to_vec(),
            b"b\r\ndata: one\n\n\r\n".to_vec(),
            b"b\r\ndata: two\n\n\r\n0\r\n\r\n".to_vec(),
        ],
        close: false,
        gate: Some(Arc::clone(&gate)),
    };
    let (addr, _) = origin(vec![events]).await;
    let front = front(addr).await;
    let mut stream = TcpStream::connect(front.addr()).await.unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).contains("data: one") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("the first event was held back")
            .unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    gate.notify_one();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got))
        .await
        .expect("the answer ends")
        .unwrap();
    // (hyper's path writes chunk sizes in upper case.)
    let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
    assert!(text.ends_with("b\r\ndata: two\n\n\r\n0\r\n\r\n"), "{text}");
    front.shutdown().await;
}
