//! Which requests are mirrored and what the copy carries: methods, sampling, the
//! predicate, the in-flight bound, the safety edits; and the public types' contract.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod support;

use std::{convert::Infallible, sync::Arc, time::Duration};

use frontdoor_core::{Body, BoxError};
use frontdoor_mirror::{
    CaptureBody, HostMark, Mirror, MirrorId, MirrorLayer, ResponseFuture, ShadowErrorKind,
    SkipReason, TeeBody,
};
use http::{HeaderName, Method, Request, Response};
use support::{exchanges, get, primary, recording_shadow, Primary};
use tokio::sync::Semaphore;
use tower::{service_fn, util::BoxCloneSyncService, Layer, ServiceExt};

const MS: Duration = Duration::from_millis(1);

#[test]
fn public_types_are_send_sync_clone() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    send_sync_clone::<MirrorLayer>();
    send_sync_clone::<Mirror<Primary>>();
    send_sync_clone::<frontdoor_mirror::MirrorStats>();
    send_sync_clone::<frontdoor_mirror::Exchange>();
    send::<ResponseFuture<<Primary as tower::Service<Request<TeeBody<Body>>>>::Future>>();
    send::<TeeBody<Body>>();
    send::<CaptureBody<Body>>();
}

/// A gated shadow: every request waits until the test releases a permit.
fn gated_shadow() -> (
    BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>,
    Arc<Semaphore>,
) {
    let gate = Arc::new(Semaphore::new(0));
    let g = Arc::clone(&gate);
    let svc = service_fn(move |_req: Request<Body>| {
        let g = Arc::clone(&g);
        async move {
            g.acquire().await.unwrap().forget();
            Ok::<_, Infallible>(Response::new(Body::empty()))
        }
    });
    (BoxCloneSyncService::new(svc), gate)
}

/// Over the bound a request is skipped at once (counted), not queued behind the
/// shadow; once the shadow answers, the slot is free again.
#[tokio::test(start_paused = true)]
async fn the_in_flight_bound_skips_rather_than_queues() {
    let (shadow, gate) = gated_shadow();
    let layer = MirrorLayer::new(shadow).max_in_flight(1);
    let stats = layer.stats_handle();
    let (layer, mut rx) = exchanges(layer);
    let svc = layer.layer(primary(Duration::ZERO));
    for _ in 0..5 {
        svc.clone().oneshot(get("/")).await.unwrap();
    }
    let snap = stats.snapshot();
    assert_eq!(snap.skipped(SkipReason::Saturated), 4);
    gate.add_permits(1);
    let first = rx.recv().await.unwrap();
    assert!(first.replay.response().is_some());
    svc.oneshot(get("/")).await.unwrap();
    gate.add_permits(1);
    rx.recv().await.unwrap();
    let snap = stats.snapshot();
    assert_eq!(
        (snap.mirrored(), snap.skipped(SkipReason::Saturated)),
        (2, 4)
    );
    // Nothing was queued: exactly the two mirrored requests were answered.
    assert_eq!(snap.exchanges(), 2);
    assert!(rx.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn credentials_are_stripped_and_the_primary_keeps_them() {
    let (shadow, seen) = recording_shadow(200, MS);
    let (layer, mut rx) = exchanges(MirrorLayer::new(shadow));
    let primary_saw = Arc::new(parking_lot::Mutex::new(None));
    let p = Arc::clone(&primary_saw);
    let inner = service_fn(move |req: Request<TeeBody<Body>>| {
        *p.lock() = Some((
            req.headers().clone(),
            req.extensions().get::<MirrorId>().copied(),
        ));
        async { Ok::<_, Infallible>(Response::new(Body::empty())) }
    });
    let req = Request::get("http://www.example.com/a")
        .header("authorization", "Basic dTpw")
        .header("cookie", "sid=1")
        .header("proxy-authorization", "Basic eDp5")
        .header("connection", "x-hop")
        .header("x-hop", "1")
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    layer.layer(inner).oneshot(req).await.unwrap();
    let ex = rx.recv().await.unwrap();
    let seen = seen.lock();
    let h = &seen[0].head.headers;
    for name in [
        "authorization",
        "cookie",
        "proxy-authorization",
        "connection",
        "x-hop",
    ] {
        assert!(h.get(name).is_none(), "{name} reached the shadow");
    }
    assert_eq!(h["accept"], "text/html");
    assert_eq!(h["host"], "www.example.com-shadow");
    let (primary_headers, id) = primary_saw.lock().take().unwrap();
    assert_eq!(primary_headers["authorization"], "Basic dTpw");
    assert_eq!(primary_headers["cookie"], "sid=1");
    assert_eq!(id, Some(ex.id), "the primary request carries the mirror id");
}

/// The seven credential headers are stripped whatever is configured; a configured
/// list adds to them (calls add up), and everything else reaches the shadow.
#[tokio::test(start_paused = true)]
async fn configured_headers_are_stripped_besides_the_seven() {
    let (shadow, seen) = recording_shadow(200, MS);
    let layer = MirrorLayer::new(shadow)
        .strip_headers([HeaderName::from_static("x-foo")])
        .strip_headers([HeaderName::from_static("x-bar")]);
    let (layer, mut rx) = exchanges(layer);
    let req = Request::get("/a")
        .header("host", "www.example.com")
        .header("Authorization", "Basic dTpw")
        .header("Cookie", "sid=1")
        .header("Proxy-Authorization", "Basic eDp5")
        .header("X-Api-Key", "k")
        .header("X-Auth-Token", "t")
        .header("X-CSRF-Token", "c")
        .header("X-Amz-Security-Token", "s")
        .header("X-Foo", "1")
        .header("x-bar", "2")
        .header("x-foo-kept", "3")
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    layer.layer(primary(MS)).oneshot(req).await.unwrap();
    rx.recv().await.unwrap();
    let seen = seen.lock();
    let h = &seen[0].head.headers;
    let mut names: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["accept", "host", "x-foo-kept"]);
    assert_eq!(h["host"], "www.example.com-shadow");
    assert_eq!(h["x-foo-kept"], "3");
}

#[tokio::test(start_paused = true)]
async fn host_mark_is_configurable() {
    let (shadow, seen) = recording_shadow(200, MS);
    let layer = MirrorLayer::new(shadow).host(HostMark::fixed("canary.internal").unwrap());
    let (layer, mut rx) = exchanges(layer);
    let req = Request::get("/")
        .header("host", "a.example")
        .body(Body::empty())
        .unwrap();
    layer.layer(primary(MS)).oneshot(req).await.unwrap();
    rx.recv().await.unwrap();
    assert_eq!(seen.lock()[0].head.headers["host"], "canary.internal");
}

#[tokio::test(start_paused = true)]
async fn only_get_and_head_by_default_and_the_predicate_decides() {
    let (shadow, seen) = recording_shadow(200, MS);
    let layer = MirrorLayer::new(shadow).filter(|parts| parts.uri.path() != "/health");
    let stats = layer.stats_handle();
    let (layer, mut rx) = exchanges(layer);
    let svc = layer.layer(primary(MS));
    for m in [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::POST,
        Method::DELETE,
    ] {
        let req = Request::builder()
            .method(m)
            .uri("/x")
            .body(Body::empty())
            .unwrap();
        svc.clone().oneshot(req).await.unwrap();
    }
    svc.clone().oneshot(get("/health")).await.unwrap();
    let ws = Request::get("/ws")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .body(Body::empty())
        .unwrap();
    svc.oneshot(ws).await.unwrap();
    rx.recv().await.unwrap();
    rx.recv().await.unwrap();
    let methods: Vec<Method> = seen.lock().iter().map(|s| s.head.method.clone()).collect();
    assert_eq!(methods.len(), 2);
    assert!(methods.contains(&Method::GET) && methods.contains(&Method::HEAD));
    let snap = stats.snapshot();
    assert_eq!(snap.skipped(SkipReason::Method), 3);
    assert_eq!(snap.skipped(SkipReason::Filtered), 1);
    assert_eq!(snap.skipped(SkipReason::Upgrade), 1);
    assert_eq!(snap.considered(), 7);
}

/// 4000 requests at 25 %: mean 1000, sigma 27.4; the band is ±6 sigma.
#[tokio::test(start_paused = true)]
async fn sampling_stays_within_statistical_bounds() -> Result<(), BoxError> {
    let shadow = service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::empty()))
    });
    let layer = MirrorLayer::new(shadow).sample(0.25)?.max_in_flight(10_000);
    let stats = layer.stats_handle();
    let svc = layer.layer(primary(Duration::ZERO));
    for _ in 0..4000 {
        svc.clone().oneshot(get("/")).await?;
    }
    let snap = stats.snapshot();
    let sampled = snap.considered() - snap.skipped(SkipReason::Sampled);
    let sigma = (4000.0_f64 * 0.25 * 0.75).sqrt();
    assert!((sampled as f64 - 1000.0).abs() < 6.0 * sigma, "{sampled}");

    let none = MirrorLayer::new(service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::empty()))
    }))
    .sample(0.0)?;
    let stats = none.stats_handle();
    let svc = none.layer(primary(Duration::ZERO));
    for _ in 0..100 {
        svc.clone().oneshot(get("/")).await?;
    }
    assert_eq!(stats.snapshot().skipped(SkipReason::Sampled), 100);
    assert!(MirrorLayer::new(primary_like()).sample(1.5).is_err());
    Ok(())
}

fn primary_like() -> BoxCloneSyncService<Request<Body>, Response<Body>, Infallible> {
    BoxCloneSyncService::new(service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::empty()))
    }))
}

/// A shadow that panics costs the primary nothing.
#[tokio::test]
async fn a_panicking_shadow_does_not_touch_the_primary() {
    let shadow = service_fn(|_req: Request<Body>| async {
        if true {
            panic!("shadow bug");
        }
        Ok::<_, Infallible>(Response::new(Body::empty()))
    });
    let layer = MirrorLayer::new(shadow);
    let stats = layer.stats_handle();
    let (layer, mut rx) = exchanges(layer);
    let svc = layer.layer(primary(Duration::ZERO));
    for _ in 0..3 {
        let res = svc.clone().oneshot(get("/")).await.unwrap();
        assert_eq!(res.status(), 200);
    }
    for _ in 0..3 {
        let ex = rx.recv().await.unwrap();
        assert!(matches!(ex.replay, frontdoor_mirror::Side::Failed(_)));
    }
    assert_eq!(stats.snapshot().failed(ShadowErrorKind::Other), 3);
}

#[test]
fn display_summarises_the_config_for_route_tables() {
    let layer = MirrorLayer::new(support::upstream("http://127.0.0.1:8081/v2"))
        .shadow_label("http://127.0.0.1:8081/v2")
        .sample(0.1)
        .unwrap()
        .max_in_flight(100)
        .compare(["status".parse().unwrap(), "headers:etag".parse().unwrap()]);
    assert_eq!(
        layer.to_string(),
        "mirror http://127.0.0.1:8081/v2 sample=0.1 methods=GET,HEAD max_in_flight=100 timeout=5s compare=status,headers:etag"
    );
    let stripping = layer.strip_headers([
        HeaderName::from_static("x-foo"),
        HeaderName::from_static("x-bar"),
    ]);
    assert!(
        stripping
            .to_string()
            .ends_with(" compare=status,headers:etag strip_headers=x-foo,x-bar"),
        "{stripping}"
    );
    let custom = MirrorLayer::new(primary_like()).shadow_label("https://canary:8443");
    assert!(custom
        .to_string()
        .starts_with("mirror https://canary:8443 sample=1 "));
}
