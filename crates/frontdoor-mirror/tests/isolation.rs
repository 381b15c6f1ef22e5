//! The shadow never holds the primary up: real loopback shadows that hang or refuse,
//! an `Upstream` as the shadow service end to end (from HTTP/1 and HTTP/2 clients),
//! large bodies teed without buffering.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod support;

use std::{convert::Infallible, time::Duration};

use bytes::Bytes;
use frontdoor_core::Body;
use frontdoor_mirror::{MirrorLayer, ShadowErrorKind, SkipReason, TeeBody};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::{channel::Channel, BodyExt, Empty};
use hyper::{body::Incoming, server::conn::http2};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    service::TowerToHyperService,
};
use support::{
    exchanges, get, hanging_server, primary, recording_server, refused_addr, until, upstream,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
    time::timeout,
};
use tower::{service_fn, Layer, ServiceExt};

/// Every primary answer within one second while the shadow hangs (its timeout is 30 s)
/// or refuses connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_is_not_held_up_by_a_hanging_or_refusing_shadow() {
    let hanging = hanging_server().await;
    let refused = refused_addr().await;
    for addr in [hanging, refused] {
        let layer = MirrorLayer::new(upstream(&format!("http://{addr}")))
            .timeout(Duration::from_secs(30))
            .exchange_ttl(Duration::from_secs(60));
        let stats = layer.stats_handle();
        let svc = layer.layer(primary(Duration::ZERO));
        for i in 0..20 {
            let res = timeout(Duration::from_secs(1), svc.clone().oneshot(get("/x")))
                .await
                .unwrap_or_else(|_| panic!("primary answer {i} took over a second ({addr})"))
                .unwrap();
            assert_eq!(res.status(), 200);
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, "primary");
        }
        assert_eq!(stats.snapshot().considered(), 20);
        until(|| stats.snapshot().mirrored() >= 20).await;
        assert_eq!(stats.snapshot().mirrored(), 20);
    }
}

#[tokio::test]
async fn a_refusing_shadow_is_counted_as_a_connect_failure() {
    let addr = refused_addr().await;
    let (layer, mut rx) = exchanges(MirrorLayer::new(upstream(&format!("http://{addr}"))));
    let stats = layer.stats_handle();
    let svc = layer.layer(primary(Duration::ZERO));
    svc.oneshot(get("/")).await.unwrap();
    let ex = timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    match &ex.replay {
        frontdoor_mirror::Side::Failed(e) => assert!(e.is_connect(), "{e:?}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(ex.primary.response().unwrap().status, 200);
    assert_eq!(stats.snapshot().failed(ShadowErrorKind::Connect), 1);
}

/// With a hanging shadow, the in-flight bound fills and further requests are skipped
/// at once, not queued.
#[tokio::test]
async fn a_hanging_shadow_fills_the_bound_then_requests_are_skipped() {
    let addr = hanging_server().await;
    let layer = MirrorLayer::new(upstream(&format!("http://{addr}")))
        .max_in_flight(4)
        .timeout(Duration::from_secs(30));
    let stats = layer.stats_handle();
    let svc = layer.layer(primary(Duration::ZERO));
    for _ in 0..10 {
        let res = timeout(Duration::from_secs(1), svc.clone().oneshot(get("/")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    until(|| {
        let snap = stats.snapshot();
        snap.mirrored() + snap.skipped(SkipReason::Saturated) >= 10
    })
    .await;
    let snap = stats.snapshot();
    assert_eq!(snap.mirrored() + snap.skipped(SkipReason::Saturated), 10);
    assert_eq!(snap.skipped(SkipReason::Saturated), 6);
}

/// An `Upstream` shadow: path joined under its base path, credentials stripped, Host
/// marked, a POST body (opted in) mirrored with a byte-correct Content-Length, and
/// both bodies compared.
#[tokio::test]
async fn an_upstream_shadow_gets_the_safe_copy_under_its_base_url() {
    let (addr, mut seen) = recording_server(200, "shadow says hi").await;
    let layer = MirrorLayer::new(upstream(&format!("http://{addr}/base")))
        .methods([Method::GET, Method::POST])
        .compare(["status".parse().unwrap(), "body".parse().unwrap()]);
    let (layer, mut rx) = exchanges(layer);
    let svc = layer.layer(primary(Duration::ZERO));
    let req = Request::post("/app/x?q=1")
        .header("host", "www.example.com")
        .header("authorization", "Bearer secret")
        .header("cookie", "session=1")
        .header("x-custom", "kept")
        .body(Body::from("héllo"))
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        "primary"
    );
    let got = timeout(Duration::from_secs(10), seen.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.head.uri, "/base/app/x?q=1");
    assert_eq!(got.head.headers["host"], "www.example.com-shadow");
    assert_eq!(got.head.headers["content-length"], "6");
    assert_eq!(got.head.headers["x-custom"], "kept");
    assert!(got.head.headers.get("authorization").is_none());
    assert!(got.head.headers.get("cookie").is_none());
    assert_eq!(got.body, "héllo");
    let ex = timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ex.replay.response().unwrap().body, "shadow says hi");
    assert_eq!(ex.diffs.len(), 1);
    assert_eq!(ex.diffs[0].kind(), frontdoor_mirror::DiffKind::Body);
}

/// A request from an HTTP/2 (h2c, prior knowledge) client is mirrored over an
/// HTTP/1.1 `Upstream`: sent as HTTP/1.1 in origin form under the base path, its
/// `:authority` marked into `Host`, and no failure counted.
#[tokio::test]
async fn http2_client_requests_are_mirrored_over_http1() {
    let (shadow_addr, mut seen) = recording_server(200, "shadow").await;
    let layer = MirrorLayer::new(upstream(&format!("http://{shadow_addr}/base")));
    let stats = layer.stats_handle();
    let (layer, mut rx) = exchanges(layer);
    let svc = layer
        .layer(primary(Duration::ZERO))
        .map_request(|req: Request<Incoming>| req.map(Body::new));
    let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front_addr = front.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = front.accept().await.unwrap();
        let _ = http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
            .await;
    });
    let stream = TcpStream::connect(front_addr).await.unwrap();
    let (mut client, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = Request::get("http://www.example.com:8443/app/x?q=1")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let res = client.send_request(req).await.unwrap();
    assert_eq!(
        (res.status(), res.version()),
        (StatusCode::OK, Version::HTTP_2)
    );
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        "primary"
    );
    // Reported once the shadow has answered, so after it recorded the request.
    let ex = timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ex.replay.response().map(|r| r.status),
        Some(StatusCode::OK),
        "{:?}",
        ex.replay
    );
    let got = seen.try_recv().unwrap();
    assert_eq!(got.head.method, Method::GET);
    assert_eq!(got.head.uri, "/base/app/x?q=1");
    assert_eq!(got.head.version, Version::HTTP_11);
    assert_eq!(got.head.headers["host"], "www.example.com-shadow:8443");
    let snap = stats.snapshot();
    assert_eq!((snap.mirrored(), snap.replayed()), (1, 1));
    assert_eq!(snap.failed_total(), 0);
}

/// A 4 MiB body streams to the primary chunk by chunk (each chunk reaches the
/// primary before the next is sent), while the 64 KiB tee gives up: not mirrored.
#[tokio::test]
async fn large_bodies_are_teed_without_buffering_the_primary() {
    const CHUNK: usize = 64 * 1024;
    const CHUNKS: usize = 64;
    let (shadow, seen) = support::recording_shadow(200, Duration::ZERO);
    let layer = MirrorLayer::new(shadow).methods([Method::PUT]);
    let stats = layer.stats_handle();
    let (got_tx, mut got_rx) = mpsc::unbounded_channel::<usize>();
    let primary = service_fn(move |req: Request<TeeBody<Channel<Bytes>>>| {
        let got_tx = got_tx.clone();
        async move {
            let mut body = req.into_body();
            while let Some(frame) = body.frame().await {
                let len = frame.unwrap().into_data().map_or(0, |d| d.len());
                got_tx.send(len).unwrap();
            }
            Ok::<_, Infallible>(Response::new(Body::from("stored")))
        }
    });
    let svc = layer.layer(primary);
    let (mut tx, body) = Channel::<Bytes>::new(1);
    let call = tokio::spawn(svc.oneshot(Request::put("/big").body(body).unwrap()));
    let chunk = Bytes::from(vec![b'x'; CHUNK]);
    for i in 0..CHUNKS {
        tx.send_data(chunk.clone()).await.unwrap();
        let n = timeout(Duration::from_secs(5), got_rx.recv())
            .await
            .unwrap_or_else(|_| panic!("chunk {i} was held back from the primary"));
        assert_eq!(n, Some(CHUNK));
    }
    drop(tx);
    let res = call.await.unwrap().unwrap();
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        "stored"
    );
    let skipped = async {
        while stats.snapshot().skipped(SkipReason::BodyTooLarge) == 0 {
            tokio::task::yield_now().await;
        }
    };
    timeout(Duration::from_secs(5), skipped).await.unwrap();
    assert_eq!(stats.snapshot().mirrored(), 0);
    assert!(seen.lock().is_empty());
}
