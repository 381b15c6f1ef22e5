//! The HTTP/1 fast path on real loopback listeners, against hyper's path where they
//! must agree: pipelining, HTTP/1.0 keep-alive and close-delimited bodies, `HEAD`,
//! a body that breaks its `Content-Length`, and the connections that move to hyper's
//! server mid-way (`Expect: 100-continue`, a malformed head).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::{convert::Infallible, net::SocketAddr, time::Duration};

use bytes::Bytes;
use frontdoor_core::Body;
use frontdoor_serve::Server;
use http::{Request, Response};
use http_body_util::BodyExt as _;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::oneshot,
};

/// How long anything may take.
const BOUND: Duration = Duration::from_secs(20);

/// Echoes the method, path and body length; `/stream` answers a body of unknown
/// length in two frames, `/short` promises 10 bytes and sends 5.
fn service() -> impl tower::Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Send + 'static,
> + Clone
       + Send
       + 'static {
    tower::service_fn(|req: Request<Body>| async move {
        let path = req.uri().path().to_owned();
        let method = req.method().clone();
        let body = req.into_body().collect().await.map(|b| b.to_bytes().len());
        let res = match path.as_str() {
            "/stream" => {
                let frames = Frames([&b"part1,"[..], b"part2"].into());
                Response::new(Body::new(frames))
            }
            "/short" => Response::builder()
                .header("content-length", "10")
                .body(Body::new(Frames([&b"short"[..]].into())))
                .unwrap(),
            _ => Response::new(Body::from(format!(
                "{method} {path} {}",
                body.map_or_else(|_| "failed".to_owned(), |n| n.to_string())
            ))),
        };
        Ok::<_, Infallible>(res)
    })
}

/// A body of unknown length: its parts, one frame each.
struct Frames(std::collections::VecDeque<&'static [u8]>);

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(
            self.0
                .pop_front()
                .map(|p| Ok(http_body::Frame::data(Bytes::from_static(p)))),
        )
    }
}

/// A server on `127.0.0.1:0` on the fast path (or hyper's), and its stop switch.
async fn start(fast: bool) -> (SocketAddr, oneshot::Sender<()>) {
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap()
        .http1_fast_path(fast);
    let addr = server.local_addrs().unwrap()[0];
    let (tx, rx) = oneshot::channel();
    tokio::spawn(server.serve_with_shutdown(service(), async {
        let _ = rx.await;
    }));
    (addr, tx)
}

/// Sends `raw` on a new connection and reads until the server closes it.
async fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut out))
        .await
        .expect("the server never closed")
        .unwrap();
    without_dates(&String::from_utf8_lossy(&out))
}

/// `text` with every `date` line removed (its value changes by the second).
fn without_dates(text: &str) -> String {
    text.split("\r\n")
        .filter(|l| !l.starts_with("date: "))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// Both paths' answers to `raw`, which must be the same; the fast path's.
async fn both(raw: &[u8]) -> String {
    let (fast, _stop_fast) = start(true).await;
    let (hyper, _stop_hyper) = start(false).await;
    let a = exchange(fast, raw).await;
    let b = exchange(hyper, raw).await;
    assert_eq!(
        a,
        b,
        "the paths disagree on {:?}",
        String::from_utf8_lossy(raw)
    );
    a
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_as_hyper_answers_them() {
    let out = both(
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc\
          POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n\
          GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nGET /a 0\
         HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nPOST /b 3\
         HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nPOST /c 2\
         HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 8\r\n\r\nGET /d 0"
    );
}

#[tokio::test]
async fn http10_keeps_alive_only_when_asked_and_closes_unknown_lengths() {
    let out = both(b"GET /a HTTP/1.0\r\n\r\n").await;
    assert_eq!(out, "HTTP/1.0 200 OK\r\ncontent-length: 8\r\n\r\nGET /a 0");
    let out = both(
        b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    )
    .await;
    assert_eq!(
        out,
        "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 8\r\n\r\nGET /a 0\
         HTTP/1.0 200 OK\r\nconnection: keep-alive\r\n\r\npart1,part2"
    );
}

#[tokio::test]
async fn unknown_lengths_are_chunked_and_head_answers_have_no_body() {
    let out = both(b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n6\r\npart1,\r\n5\r\npart2\r\n0\r\n\r\n"
    );
    let out = both(b"HEAD /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 9\r\n\r\n"
    );
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_closes_the_connection() {
    let raw = b"GET /short HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    let cut = "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort";
    // The promised 10 bytes never come: the answer is cut off, the connection
    // closed, and nothing follows. The fast path writes what it had; hyper may
    // write less (it drops what it had not flushed).
    let (fast, _stop_fast) = start(true).await;
    assert_eq!(exchange(fast, raw).await, cut);
    let (hyper, _stop_hyper) = start(false).await;
    let out = exchange(hyper, raw).await;
    assert!(cut.starts_with(&out), "{out:?}");
}

#[tokio::test]
async fn expect_continue_moves_the_connection_to_hyper_with_what_was_read() {
    let (addr, _stop) = start(true).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // A first request on the fast path, then one hyper must serve (100 Continue):
    // the bytes already read reach hyper's server first.
    stream
        .write_all(
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
              POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("100 Continue") {
        let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed: {:?}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    stream.write_all(b"abc").await.unwrap();
    stream
        .write_all(b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut seen))
        .await
        .unwrap()
        .unwrap();
    let out = without_dates(&String::from_utf8_lossy(&seen));
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nGET /a 0\
         HTTP/1.1 100 Continue\r\n\r\n\
         HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nPOST /b 3\
         HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 8\r\n\r\nGET /c 0"
    );
}

#[tokio::test]
async fn a_malformed_head_gets_hypers_answer_after_fast_path_requests() {
    let out =
        both(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nBad Header: x\r\n\r\n").await;
    assert!(
        out.starts_with(
            "HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nGET /a 0HTTP/1.1 400 Bad Request\r\n"
        ),
        "{out}"
    );
}
