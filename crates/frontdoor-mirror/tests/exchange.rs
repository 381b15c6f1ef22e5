//! Hooks and correlation under paused time: `on_exchange` once per id in either
//! arrival order, a missing side after the TTL, hook order and edits.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod support;

use std::{collections::HashMap, future::pending, sync::Arc, time::Duration};

use frontdoor_core::Body;
use frontdoor_mirror::{Decision, Exchange, MirrorId, MirrorLayer, Side, SkipReason, TeeBody};
use http::{Request, Response};
use http_body_util::BodyExt;
use parking_lot::Mutex;
use support::{exchanges, get, primary, recording_shadow};
use tokio::time::Instant;
use tower::{service_fn, util::BoxCloneSyncService, Layer, ServiceExt};

const MS: Duration = Duration::from_millis(1);

/// Collects `n` exchanges.
async fn collect(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Exchange>,
    n: usize,
) -> Vec<Exchange> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(rx.recv().await.unwrap());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn on_exchange_fires_once_per_id_in_either_order() {
    // (primary delay, shadow delay): primary first, shadow first, both at once.
    for (p, s) in [(10 * MS, 200 * MS), (200 * MS, 10 * MS), (50 * MS, 50 * MS)] {
        let (shadow, _) = recording_shadow(200, s);
        let order = Arc::new(Mutex::new(Vec::new()));
        let (o1, o2) = (Arc::clone(&order), Arc::clone(&order));
        let layer = MirrorLayer::new(shadow)
            .on_response(move |id, _| o1.lock().push((id, "response")))
            .on_replay(move |id, _| o2.lock().push((id, "replay")));
        let (layer, mut rx) = exchanges(layer);
        let svc = layer.layer(primary(p));
        let mut calls = Vec::new();
        for i in 0..8 {
            let svc = svc.clone();
            calls.push(tokio::spawn(async move {
                let res = svc.oneshot(get(&format!("/{i}"))).await.unwrap();
                res.into_body().collect().await.unwrap();
            }));
        }
        for c in calls {
            c.await.unwrap();
        }
        let got = collect(&mut rx, 8).await;
        let mut per_id: HashMap<MirrorId, usize> = HashMap::new();
        for ex in &got {
            *per_id.entry(ex.id).or_default() += 1;
            assert!(ex.is_match(), "{ex:?}");
            assert!(ex.primary_latency.is_some() && ex.replay_latency.is_some());
        }
        assert_eq!(per_id.len(), 8);
        assert!(per_id.values().all(|&n| n == 1));
        // Nothing more arrives, even long after the TTL.
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(rx.try_recv().is_err());
        // The per-side hooks saw the sides in their real order.
        let first = if p < s { "response" } else { "replay" };
        if p != s {
            let order = order.lock();
            let id = got[0].id;
            let sides: Vec<_> = order
                .iter()
                .filter(|(i, _)| *i == id)
                .map(|(_, k)| *k)
                .collect();
            assert_eq!(sides[0], first, "p={p:?} s={s:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_primary_that_never_answers_is_reported_missing_after_the_ttl() {
    let (shadow, _) = recording_shadow(200, 10 * MS);
    let (layer, mut rx) = exchanges(MirrorLayer::new(shadow).exchange_ttl(Duration::from_secs(3)));
    let stuck = service_fn(|_req: Request<TeeBody<Body>>| async {
        pending::<Result<Response<Body>, std::convert::Infallible>>().await
    });
    let svc = layer.layer(stuck);
    let start = Instant::now();
    let call = tokio::spawn(svc.oneshot(get("/")));
    let ex = rx.recv().await.unwrap();
    assert!(start.elapsed() >= Duration::from_secs(3));
    assert!(ex.primary.is_missing());
    assert_eq!(ex.replay.response().unwrap().status, 200);
    assert!(ex.diffs.is_empty() && !ex.is_match());
    call.abort();
}

#[tokio::test(start_paused = true)]
async fn a_replay_slower_than_the_ttl_is_reported_missing() {
    let (shadow, _) = recording_shadow(200, Duration::from_secs(20));
    let layer = MirrorLayer::new(shadow)
        .timeout(Duration::from_secs(30))
        .exchange_ttl(Duration::from_secs(5));
    let stats = layer.stats_handle();
    let (layer, mut rx) = exchanges(layer);
    let svc = layer.layer(primary(MS));
    let start = Instant::now();
    svc.oneshot(get("/"))
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap();
    let ex = rx.recv().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert!(ex.replay.is_missing());
    assert_eq!(ex.primary.response().unwrap().status, 200);
    assert_eq!(stats.snapshot().missing_replay(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_shadow_timeout_is_a_failure_not_a_missing_side() {
    let (shadow, _) = recording_shadow(200, Duration::from_secs(20));
    let layer = MirrorLayer::new(shadow).timeout(Duration::from_secs(2));
    let (layer, mut rx) = exchanges(layer);
    layer.layer(primary(MS)).oneshot(get("/")).await.unwrap();
    let ex = rx.recv().await.unwrap();
    match ex.replay {
        Side::Failed(e) => assert!(e.is_timeout()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_that_goes_away_leaves_the_primary_missing_at_once() {
    let (shadow, _) = recording_shadow(200, MS);
    let (layer, mut rx) = exchanges(MirrorLayer::new(shadow));
    let svc = layer.layer(primary(Duration::from_secs(1)));
    let start = Instant::now();
    drop(tokio::time::timeout(10 * MS, svc.oneshot(get("/"))).await);
    let ex = rx.recv().await.unwrap();
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(ex.primary.is_missing());
}

/// `on_request` edits the copy (the shadow sees the edit) or skips it (counted).
#[tokio::test(start_paused = true)]
async fn on_request_edits_or_skips_the_copy() {
    let (shadow, seen) = recording_shadow(200, MS);
    let layer = MirrorLayer::new(shadow).on_request(|req| {
        if req.uri().path() == "/private" {
            return Decision::Skip;
        }
        *req.uri_mut() = "/rewritten".parse().unwrap();
        req.headers_mut().insert("x-shadow", "1".parse().unwrap());
        Decision::Mirror
    });
    let stats = layer.stats_handle();
    let (layer, mut rx) = exchanges(layer);
    let svc = layer.layer(primary(MS));
    svc.clone().oneshot(get("/private")).await.unwrap();
    svc.oneshot(get("/public")).await.unwrap();
    let ex = rx.recv().await.unwrap();
    assert_eq!(ex.request.uri(), "/rewritten");
    let seen = seen.lock();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].head.uri, "/rewritten");
    assert_eq!(seen[0].head.headers["x-shadow"], "1");
    assert_eq!(stats.snapshot().skipped(SkipReason::Hook), 1);
}

/// Body capture is opt-in: with it, `on_response` sees the primary's body and the
/// JSON comparator runs.
#[tokio::test(start_paused = true)]
async fn captured_bodies_reach_hooks_and_comparators() {
    let shadow = service_fn(|_req: Request<Body>| async {
        Ok::<_, std::convert::Infallible>(Response::new(Body::from(r#"{"n": 2}"#)))
    });
    let json_primary = BoxCloneSyncService::new(service_fn(|_req: Request<TeeBody<Body>>| async {
        Ok::<_, std::convert::Infallible>(Response::new(Body::from(r#"{"n":1}"#)))
    }));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let b = Arc::clone(&bodies);
    let layer = MirrorLayer::new(shadow)
        .compare(["json".parse().unwrap()])
        .on_response(move |_, res| b.lock().push(res.body.clone()));
    let stats = layer.stats_handle();
    let (layer, mut rx) = exchanges(layer);
    let res = layer.layer(json_primary).oneshot(get("/")).await.unwrap();
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        r#"{"n":1}"#
    );
    let ex = rx.recv().await.unwrap();
    assert_eq!(
        ex.diffs[0].to_string(),
        "replay body differs from response body as json at $.n"
    );
    assert_eq!(bodies.lock()[0], r#"{"n":1}"#);
    assert_eq!(stats.snapshot().diffs(frontdoor_mirror::DiffKind::Json), 1);
}
