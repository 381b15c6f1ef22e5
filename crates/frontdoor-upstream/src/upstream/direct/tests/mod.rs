//! The direct client against hand-written loopback origins.

mod origin;
mod splice;

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::{HeaderMap, Method, Request, Response};
use http_body::{Body as _, Frame};
use http_body_util::BodyExt as _;
use tokio::sync::mpsc;
use tower::ServiceExt as _;

use self::origin::{Action, Origin};
use crate::{ProxyError, ProxyErrorKind, Upstream};

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

fn upstream(origin: &Origin) -> Upstream {
    Upstream::new(&format!("http://{}", origin.addr)).unwrap()
}

fn request(method: Method, body: Body) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri("/p?q=1")
        .body(body)
        .unwrap()
}

async fn call(up: &Upstream, req: Request<Body>) -> Result<Response<Body>, ProxyError> {
    up.clone().oneshot(req).await
}

/// The answer's status, body and trailers.
async fn fetch(up: &Upstream, req: Request<Body>) -> (u16, Bytes, Option<HeaderMap>) {
    let res = call(up, req).await.unwrap();
    let status = res.status().as_u16();
    let collected = res.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    (status, collected.to_bytes(), trailers)
}

async fn get(up: &Upstream) -> (u16, Bytes, Option<HeaderMap>) {
    fetch(up, request(Method::GET, Body::empty())).await
}

/// A request body fed frame by frame by the test.
struct Fed(mpsc::UnboundedReceiver<Result<Frame<Bytes>, BoxError>>);

impl http_body::Body for Fed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.poll_recv(cx)
    }
}

fn fed() -> (mpsc::UnboundedSender<Result<Frame<Bytes>, BoxError>>, Body) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, Body::new(Fed(rx)))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn sequential_requests_share_one_connection() {
    let mut origin = Origin::answering(OK).await;
    let up = upstream(&origin);
    for _ in 0..5 {
        assert_eq!(get(&up).await, (200, Bytes::from_static(b"ok"), None));
    }
    assert_eq!(origin.accepts(), 1);
    drop(up);
    let received = text(&origin.next_closed().await);
    assert_eq!(received.matches("GET /p?q=1 HTTP/1.1\r\n").count(), 5);
}

#[tokio::test]
async fn the_head_is_written_as_hyper_writes_it() {
    let mut origin = Origin::answering(OK).await;
    let up = upstream(&origin);
    let req = Request::post("/up")
        .header("x-a", "1")
        .header("x-b", "2")
        .body(Body::from("hello"))
        .unwrap();
    assert_eq!(fetch(&up, req).await.0, 200);
    drop(up);
    let received = text(&origin.next_closed().await);
    let host = origin.addr;
    assert_eq!(
        received,
        format!(
            "POST /up HTTP/1.1\r\nx-a: 1\r\nx-b: 2\r\nx-forwarded-proto: http\r\n\
             via: 1.1 frontdoor\r\nhost: {host}\r\ncontent-length: 5\r\n\r\nhello"
        )
    );
}

#[tokio::test]
async fn a_streamed_body_is_chunked_with_its_trailers() {
    let mut origin = Origin::answering(OK).await;
    let up = upstream(&origin);
    let (tx, body) = fed();
    tx.send(Ok(Frame::data(Bytes::from_static(b"hello"))))
        .unwrap();
    tx.send(Ok(Frame::data(Bytes::from(vec![b'x'; 20_000]))))
        .unwrap();
    let mut trailers = HeaderMap::new();
    trailers.insert("x-t", "1".parse().unwrap());
    trailers.insert("content-length", "9".parse().unwrap());
    tx.send(Ok(Frame::trailers(trailers))).unwrap();
    drop(tx);
    assert_eq!(fetch(&up, request(Method::PUT, body)).await.0, 200);
    drop(up);
    let received = text(&origin.next_closed().await);
    let (head, body) = received.split_once("\r\n\r\n").unwrap();
    assert!(head.ends_with("\r\ntransfer-encoding: chunked"), "{head}");
    let big = "x".repeat(20_000);
    assert_eq!(
        body,
        format!("5\r\nhello\r\n4e20\r\n{big}\r\n0\r\nx-t: 1\r\n\r\n")
    );
}

#[tokio::test]
async fn a_chunked_answer_with_trailers() {
    let origin = Origin::answering(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-t: 1\r\n\r\n",
    )
    .await;
    let up = upstream(&origin);
    for _ in 0..2 {
        let (status, body, trailers) = get(&up).await;
        assert_eq!((status, &body[..]), (200, &b"hello world"[..]));
        assert_eq!(trailers.unwrap()["x-t"], "1");
    }
    assert_eq!(origin.accepts(), 1);
}

#[tokio::test]
async fn answers_arriving_byte_by_byte() {
    let origin = Origin::start(|_, n, _| {
        Action::Trickle(if n % 2 == 0 {
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n1\r\n!\r\n0\r\nx-t: 1\r\n\r\n"
        } else {
            b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello!"
        })
    })
    .await;
    let up = upstream(&origin);
    for n in 0..4 {
        let (status, body, trailers) = get(&up).await;
        assert_eq!((status, &body[..]), (200, &b"hello!"[..]), "{n}");
        assert_eq!(trailers.is_some(), n % 2 == 0);
    }
    assert_eq!(origin.accepts(), 1);
}

#[tokio::test]
async fn a_large_answer_streams_and_the_connection_is_reused() {
    let big = Box::leak(
        [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n"[..],
            &vec![b'z'; 1 << 20],
        ]
        .concat()
        .into_boxed_slice(),
    );
    let origin = Origin::answering(big).await;
    let up = upstream(&origin);
    for _ in 0..2 {
        let (status, body, _) = get(&up).await;
        assert_eq!((status, body.len()), (200, 1 << 20));
        assert!(body.iter().all(|b| *b == b'z'));
    }
    assert_eq!(origin.accepts(), 1);
}

#[tokio::test]
async fn a_body_read_to_close_is_not_reused() {
    let origin = Origin::start(|_, _, _| {
        Action::AnswerAndClose(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nuntil close")
    })
    .await;
    let up = upstream(&origin);
    for _ in 0..2 {
        assert_eq!(
            get(&up).await,
            (200, Bytes::from_static(b"until close"), None)
        );
    }
    assert_eq!(origin.accepts(), 2);
    let origin =
        Origin::start(|_, _, _| Action::AnswerAndClose(b"HTTP/1.1 200 OK\r\n\r\nuntil close"))
            .await;
    let up = upstream(&origin);
    assert_eq!(
        get(&up).await,
        (200, Bytes::from_static(b"until close"), None)
    );
}

#[tokio::test]
async fn head_204_and_304_answers_have_no_body() {
    let origin = Origin::start(|_, n, _| {
        Action::Answer(match n {
            0 => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
            1 => b"HTTP/1.1 204 No Content\r\n\r\n",
            _ => b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
        })
    })
    .await;
    let up = upstream(&origin);
    let res = call(&up, request(Method::HEAD, Body::empty()))
        .await
        .unwrap();
    assert_eq!(res.headers()["content-length"], "5");
    assert!(res.body().is_end_stream());
    assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), "");
    assert_eq!(get(&up).await, (204, Bytes::new(), None));
    assert_eq!(get(&up).await, (304, Bytes::new(), None));
    assert_eq!(origin.accepts(), 1);
}

#[tokio::test]
async fn informational_answers_are_skipped() {
    let origin = Origin::answering(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    )
    .await;
    let up = upstream(&origin);
    let res = call(&up, request(Method::GET, Body::empty()))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!res.headers().contains_key("link"));
    assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), "ok");
}

#[tokio::test]
async fn an_exact_length_answer_says_so() {
    let origin = Origin::answering(OK).await;
    let up = upstream(&origin);
    let res = call(&up, request(Method::GET, Body::empty()))
        .await
        .unwrap();
    assert_eq!(res.body().size_hint().exact(), Some(2));
    assert!(!res.body().is_end_stream());
    let mut body = res.into_body();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), "ok");
    assert!(body.is_end_stream());
    // The connection was parked at the end of the message, before the body's end.
    assert_eq!(get(&up).await.0, 200);
    assert_eq!(origin.accepts(), 1);
}

#[tokio::test]
async fn an_early_answer_stops_the_upload_and_the_connection() {
    let mut origin = Origin::start(|conn, _, _| match conn {
        0 => Action::AnswerEarly(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n"),
        _ => Action::Answer(OK),
    })
    .await;
    let up = upstream(&origin);
    let (tx, body) = fed();
    tx.send(Ok(Frame::data(Bytes::from_static(b"hello"))))
        .unwrap();
    assert_eq!(fetch(&up, request(Method::POST, body)).await.0, 413);
    // The rest of the body is never sent; the connection is closed, not reused.
    let _ = tx.send(Ok(Frame::data(Bytes::from_static(b"world"))));
    let received = text(&origin.next_closed().await);
    assert!(received.ends_with("\r\n\r\n5\r\nhello\r\n"), "{received}");
    assert_eq!(get(&up).await.0, 200);
    assert_eq!(origin.accepts(), 2);
}

#[tokio::test]
async fn a_failing_body_aborts_the_request() {
    let mut origin = Origin::answering(OK).await;
    let up = upstream(&origin);
    for framing in ["chunked", "length"] {
        let (tx, body) = fed();
        let mut req = request(Method::POST, body);
        if framing == "length" {
            req.headers_mut()
                .insert("content-length", "10".parse().unwrap());
        }
        tx.send(Ok(Frame::data(Bytes::from_static(b"hello"))))
            .unwrap();
        tx.send(Err("client went away".into())).unwrap();
        let err = call(&up, req).await.unwrap_err();
        assert_eq!(err.kind(), ProxyErrorKind::RequestBody, "{framing}");
        let received = text(&origin.next_closed().await);
        let want = if framing == "length" {
            "\r\n\r\nhello"
        } else {
            "\r\n\r\n5\r\nhello\r\n"
        };
        assert!(received.ends_with(want), "{framing}: {received}");
    }
    // A body that ends short of its length aborts too.
    let (tx, body) = fed();
    let mut req = request(Method::POST, body);
    req.headers_mut()
        .insert("content-length", "10".parse().unwrap());
    tx.send(Ok(Frame::data(Bytes::from_static(b"hello"))))
        .unwrap();
    drop(tx);
    assert_eq!(
        call(&up, req).await.unwrap_err().kind(),
        ProxyErrorKind::RequestBody
    );
    assert!(text(&origin.next_closed().await).ends_with("\r\n\r\nhello"));
}

#[tokio::test]
async fn a_get_body_of_unknown_length_is_read_first_and_never_sent() {
    let origin = Origin::answering(OK).await;
    let up = upstream(&origin);
    // It fails: nothing reaches the upstream, not even the head.
    let (tx, body) = fed();
    tx.send(Ok(Frame::data(Bytes::from_static(b"hello"))))
        .unwrap();
    tx.send(Err("bad chunk".into())).unwrap();
    let err = call(&up, request(Method::GET, body)).await.unwrap_err();
    assert_eq!(err.kind(), ProxyErrorKind::RequestBody);
    assert_eq!(origin.accepts(), 0, "the request reached the upstream");
    // It ends: the request goes without it, as hyper sends it.
    let (tx, body) = fed();
    tx.send(Ok(Frame::data(Bytes::from_static(b"hello"))))
        .unwrap();
    drop(tx);
    let (status, _, _) = fetch(&up, request(Method::HEAD, body)).await;
    assert_eq!(status, 200);
    assert_eq!(origin.accepts(), 1);
}

#[tokio::test]
async fn a_stale_idle_connection_is_retried_once_without_a_body() {
    // The first connection answers one request, then closes on the next head.
    let origin = Origin::start(|conn, n, _| match (conn, n) {
        (0, 0) | (1.., _) => Action::Answer(OK),
        _ => Action::Close,
    })
    .await;
    let up = upstream(&origin);
    assert_eq!(get(&up).await.0, 200);
    assert_eq!(get(&up).await.0, 200);
    assert_eq!(origin.accepts(), 2);

    // With a body, the request is not sent again.
    let origin = Origin::start(|conn, n, _| match (conn, n) {
        (0, 0) => Action::Answer(OK),
        _ => Action::Close,
    })
    .await;
    let up = upstream(&origin);
    assert_eq!(get(&up).await.0, 200);
    let err = call(&up, request(Method::POST, Body::from("x")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProxyErrorKind::Closed);
    assert_eq!(origin.accepts(), 1);
}

#[tokio::test]
async fn a_closed_idle_connection_is_not_checked_out() {
    let origin = Origin::start(|_, _, _| {
        Action::AnswerAndClose(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    })
    .await;
    let up = upstream(&origin);
    for _ in 0..3 {
        assert_eq!(get(&up).await.0, 200);
    }
    assert_eq!(origin.accepts(), 3);
}

#[tokio::test]
async fn idle_connections_expire() {
    let origin = Origin::answering(OK).await;
    let up = Upstream::builder(&format!("http://{}", origin.addr))
        .pool_idle_timeout(Some(Duration::from_secs(30)))
        .build()
        .unwrap();
    assert_eq!(get(&up).await.0, 200);
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(29)).await;
    tokio::time::resume();
    assert_eq!(get(&up).await.0, 200);
    assert_eq!(origin.accepts(), 1);
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(31)).await;
    tokio::time::resume();
    assert_eq!(get(&up).await.0, 200);
    assert_eq!(origin.accepts(), 2);
}

#[tokio::test]
async fn bad_answers_are_protocol_errors() {
    let big = Box::leak(
        format!("HTTP/1.1 200 OK\r\nx-big: {}\r\n\r\n", "a".repeat(70_000)).into_boxed_str(),
    );
    let many =
        Box::leak(format!("HTTP/1.1 200 OK\r\n{}\r\n", "x-h: 1\r\n".repeat(101)).into_boxed_str());
    let answers: [&'static [u8]; 5] = [
        big.as_bytes(),
        many.as_bytes(),
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok",
        b"HTTP/1.1 2000 OK\r\n\r\n",
    ];
    for answer in answers {
        let origin = Origin::answering(answer).await;
        let err = call(&upstream(&origin), request(Method::GET, Body::empty()))
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ProxyErrorKind::Protocol,
            "{}",
            text(&answer[..40])
        );
        assert_eq!(err.error_kind().status(), 502);
    }
    let origin = Origin::answering(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n").await;
    let err = call(&upstream(&origin), request(Method::GET, Body::empty()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProxyErrorKind::Upgrade);
}

#[tokio::test]
async fn an_http10_or_closing_answer_is_not_reused() {
    for answer in [
        &b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"[..],
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    ] {
        let origin = Origin::answering(answer).await;
        let up = upstream(&origin);
        assert_eq!(get(&up).await.1, "ok");
        assert_eq!(get(&up).await.1, "ok");
        assert_eq!(origin.accepts(), 2);
    }
}

#[tokio::test]
async fn an_answer_dropped_mid_body_closes_the_connection() {
    let origin = Origin::answering(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello").await;
    let up = upstream(&origin);
    let res = call(&up, request(Method::GET, Body::empty()))
        .await
        .unwrap();
    drop(res);
    let _ = call(&up, request(Method::GET, Body::empty()))
        .await
        .unwrap();
    assert_eq!(origin.accepts(), 2);
}
