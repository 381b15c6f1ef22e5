use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError, Error, ErrorKind};
use http::{HeaderMap, Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use tokio::sync::mpsc;
use tower::{service_fn, Service, ServiceExt};

use super::*;
use crate::{GatewayErrorLayer, ProxyError};

/// What the inner service saw: its head and its whole body.
#[derive(Debug)]
struct Seen {
    headers: HeaderMap,
    body: Bytes,
    trailers: Option<HeaderMap>,
}

/// A body fed frame by frame through a channel.
fn channel_body() -> (mpsc::Sender<Result<Frame<Bytes>, BoxError>>, Body) {
    let (tx, rx) = mpsc::channel(16);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (tx, Body::new(StreamBody::new(stream)))
}

/// A buffering service over an inner service that records what it got; `called` is
/// set when the inner service is called.
fn buffered(
    limit: usize,
    budget: BufferBudget,
    called: Arc<AtomicBool>,
) -> (
    impl Service<Request<Body>, Response = Response<Body>, Error = BoxError, Future: Send + 'static>
        + Clone,
    mpsc::UnboundedReceiver<Seen>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let inner = service_fn(move |req: Request<Body>| {
        called.store(true, Ordering::SeqCst);
        let tx = tx.clone();
        async move {
            let (parts, body) = req.into_parts();
            let collected = body.collect().await?;
            let trailers = collected.trailers().cloned();
            let _ = tx.send(Seen {
                headers: parts.headers,
                body: collected.to_bytes(),
                trailers,
            });
            Ok::<_, BoxError>(Response::new(Body::empty()))
        }
    });
    (RequestBufferLayer::new(limit, budget).layer(inner), rx)
}

fn data(s: &'static str) -> Result<Frame<Bytes>, BoxError> {
    Ok(Frame::data(Bytes::from_static(s.as_bytes())))
}

#[tokio::test]
async fn a_trickled_chunked_body_is_read_whole_before_the_inner_service_is_called() {
    let called = Arc::new(AtomicBool::new(false));
    let budget = BufferBudget::new(1 << 20);
    let (svc, mut seen) = buffered(64, budget.clone(), Arc::clone(&called));
    let (tx, body) = channel_body();
    let req = Request::post("/up")
        .header("expect", "100-continue")
        .header("transfer-encoding", "chunked")
        .body(body)
        .unwrap();
    let call = tokio::spawn(svc.oneshot(req));
    tx.send(data("hel")).await.unwrap();
    tx.send(data("lo")).await.unwrap();
    tokio::task::yield_now().await;
    assert!(
        !called.load(Ordering::SeqCst),
        "called before the body ended"
    );
    drop(tx);
    call.await.unwrap().unwrap();
    let seen = seen.recv().await.unwrap();
    assert_eq!(seen.body, "hello");
    assert_eq!(seen.headers["content-length"], "5");
    assert!(seen.headers.get("transfer-encoding").is_none());
    assert!(
        seen.headers.get("expect").is_none(),
        "Expect was answered here"
    );
    assert_eq!(budget.available(), 1 << 20, "the budget is given back");
}

#[tokio::test]
async fn trailers_are_kept_and_the_body_stays_chunked() {
    let (svc, mut seen) = buffered(64, BufferBudget::new(1024), Arc::default());
    let (tx, body) = channel_body();
    let mut trailers = HeaderMap::new();
    trailers.insert("x-sum", "1".parse().unwrap());
    tx.send(data("abc")).await.unwrap();
    tx.send(Ok(Frame::trailers(trailers))).await.unwrap();
    drop(tx);
    svc.oneshot(Request::post("/").body(body).unwrap())
        .await
        .unwrap();
    let seen = seen.recv().await.unwrap();
    assert_eq!(seen.body, "abc");
    assert!(seen.headers.get("content-length").is_none());
    assert_eq!(seen.trailers.unwrap()["x-sum"], "1");
}

#[tokio::test]
async fn a_body_over_the_limit_streams_once_the_limit_is_crossed() {
    let called = Arc::new(AtomicBool::new(false));
    let (svc, mut seen) = buffered(4, BufferBudget::new(1024), Arc::clone(&called));
    let (tx, body) = channel_body();
    let call = tokio::spawn(svc.oneshot(Request::post("/").body(body).unwrap()));
    tx.send(data("abc")).await.unwrap();
    tokio::task::yield_now().await;
    assert!(!called.load(Ordering::SeqCst));
    tx.send(data("defg")).await.unwrap();
    // Past the limit: the inner service is called while the body still streams.
    while !called.load(Ordering::SeqCst) {
        tokio::task::yield_now().await;
    }
    tx.send(data("h")).await.unwrap();
    drop(tx);
    call.await.unwrap().unwrap();
    let seen = seen.recv().await.unwrap();
    assert_eq!(seen.body, "abcdefgh");
    assert!(seen.headers.get("content-length").is_none());
}

#[tokio::test]
async fn an_announced_body_over_the_limit_or_the_budget_is_not_buffered() {
    for (limit, budget) in [(4, 1024), (64, 4)] {
        let called = Arc::new(AtomicBool::new(false));
        let (svc, mut seen) = buffered(limit, BufferBudget::new(budget), Arc::clone(&called));
        let (tx, body) = channel_body();
        let req = Request::put("/")
            .header("content-length", "10")
            .header("expect", "100-continue")
            .body(body)
            .unwrap();
        let call = tokio::spawn(svc.oneshot(req));
        while !called.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        tx.send(data("0123456789")).await.unwrap();
        drop(tx);
        call.await.unwrap().unwrap();
        let seen = seen.recv().await.unwrap();
        assert_eq!(seen.body, "0123456789");
        assert_eq!(
            seen.headers["expect"], "100-continue",
            "a streamed body's Expect is the upstream's"
        );
    }
}

#[tokio::test]
async fn a_chunked_body_that_outgrows_the_budget_streams_and_gives_it_back() {
    let budget = BufferBudget::new(5);
    let (svc, mut seen) = buffered(64, budget.clone(), Arc::default());
    let (tx, body) = channel_body();
    tx.send(data("abc")).await.unwrap();
    tx.send(data("def")).await.unwrap();
    drop(tx);
    svc.oneshot(Request::post("/").body(body).unwrap())
        .await
        .unwrap();
    assert_eq!(seen.recv().await.unwrap().body, "abcdef");
    assert_eq!(budget.available(), 5);
}

#[tokio::test]
async fn a_body_failing_while_buffered_forwards_nothing_and_answers_its_status() {
    let called = Arc::new(AtomicBool::new(false));
    let (svc, _seen) = buffered(64, BufferBudget::new(1024), Arc::clone(&called));
    let svc = GatewayErrorLayer::new().layer(svc);
    for (kind, status) in [
        (ErrorKind::RequestTimeout, 408),
        (ErrorKind::PayloadTooLarge, 413),
        (ErrorKind::BadRequest, 400),
    ] {
        let (tx, body) = channel_body();
        tx.send(data("ab")).await.unwrap();
        tx.send(Err(Error::new(kind, "body failed").into()))
            .await
            .unwrap();
        let res = svc
            .clone()
            .oneshot(Request::post("/").body(body).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), status);
    }
    assert!(!called.load(Ordering::SeqCst));
}

#[tokio::test]
async fn bodiless_upgrade_and_unbuffered_requests_pass_untouched() {
    let (svc, mut seen) = buffered(64, BufferBudget::new(1024), Arc::default());
    let req = Request::get("/")
        .header("expect", "100-continue")
        .body(Body::empty())
        .unwrap();
    svc.oneshot(req).await.unwrap();
    assert_eq!(seen.recv().await.unwrap().headers["expect"], "100-continue");
    // An upgrade request, or any request with buffering off, is handed on at once,
    // its body unread.
    for (limit, connection) in [(64, "upgrade"), (0, "keep-alive")] {
        let called = Arc::new(AtomicBool::new(false));
        let (svc, _seen) = buffered(limit, BufferBudget::new(1024), Arc::clone(&called));
        let (tx, body) = channel_body();
        let req = Request::post("/")
            .header("connection", connection)
            .body(body)
            .unwrap();
        let call = tokio::spawn(svc.oneshot(req));
        while !called.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        drop(tx);
        call.await.unwrap().unwrap();
    }
}

#[test]
fn public_types_are_send_sync_clone() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    send_sync_clone::<RequestBufferLayer>();
    send_sync_clone::<BufferBudget>();
    send_sync_clone::<RequestBuffer<crate::Upstream>>();
    send::<ResponseFuture<crate::Upstream>>();
    let _: Option<ProxyError> = None;
}
