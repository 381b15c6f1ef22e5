//! Balancing over several loopback upstreams: load is spread, dead addresses are
//! ejected, connect failures of idempotent requests are retried elsewhere.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod support;

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use frontdoor_core::Body;
use frontdoor_upstream::{Balanced, GatewayError, ProxyErrorKind, Upstream};
use http::{Request, Response};
use tower::ServiceExt;

async fn counting_upstream() -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let addr = support::hyper_upstream(move |_req: Request<hyper::body::Incoming>| {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Response::new(Body::from("ok"))
        }
    })
    .await;
    (addr, hits)
}

async fn dead_addr() -> SocketAddr {
    let (l, addr) = support::listener().await;
    drop(l);
    addr
}

fn up(addr: SocketAddr) -> Upstream {
    Upstream::new(&format!("http://{addr}")).unwrap()
}

async fn status(svc: &Balanced, req: Request<Body>) -> u16 {
    GatewayError::new(svc.clone())
        .oneshot(req)
        .await
        .unwrap_or_else(|e: Infallible| match e {})
        .status()
        .as_u16()
}

fn get() -> Request<Body> {
    Request::get("/").body(Body::empty()).unwrap()
}

#[tokio::test]
async fn load_is_spread_over_live_addresses() {
    let (a, hits_a) = counting_upstream().await;
    let (b, hits_b) = counting_upstream().await;
    let svc = Balanced::builder(vec![up(a), up(b)]).build().unwrap();
    for _ in 0..60 {
        assert_eq!(status(&svc, get()).await, 200);
    }
    let (a, b) = (hits_a.load(Ordering::SeqCst), hits_b.load(Ordering::SeqCst));
    assert_eq!(a + b, 60);
    assert!(a >= 10 && b >= 10, "unbalanced: {a} / {b}");
}

#[tokio::test]
async fn a_dead_address_is_ejected_and_retried_around() {
    let (live, hits) = counting_upstream().await;
    let dead = dead_addr().await;
    let svc = Balanced::builder(vec![up(live), up(dead)])
        .eject_after(1)
        .eject_for(Duration::from_secs(600))
        .retries(1)
        .build()
        .unwrap();
    // GETs never fail: a connect failure is retried on the live address.
    for _ in 0..20 {
        assert_eq!(status(&svc, get()).await, 200);
    }
    assert_eq!(hits.load(Ordering::SeqCst), 20);
    // At most one request ever went to the dead address before it was ejected.
    assert!(svc.ejected() <= 1);
}

#[tokio::test]
async fn non_idempotent_requests_are_not_retried() {
    let (live, hits) = counting_upstream().await;
    let dead = dead_addr().await;
    let svc = Balanced::builder(vec![up(live), up(dead)])
        .eject_after(1)
        .eject_for(Duration::from_secs(600))
        .build()
        .unwrap();
    let mut failed = 0;
    for _ in 0..20 {
        let post = Request::post("/").body(Body::empty()).unwrap();
        match status(&svc, post).await {
            200 => {}
            502 => failed += 1,
            other => panic!("unexpected {other}"),
        }
    }
    // The dead address costs at most one failed POST before ejection; never a retry.
    assert!(failed <= 1, "{failed}");
    assert_eq!(hits.load(Ordering::SeqCst) + failed, 20);
    if failed == 1 {
        assert_eq!(svc.ejected(), 1);
    }
}

#[tokio::test]
async fn all_addresses_ejected_is_503() {
    let svc = Balanced::builder(vec![up(dead_addr().await), up(dead_addr().await)])
        .eject_after(1)
        .eject_for(Duration::from_secs(600))
        .retries(1)
        .build()
        .unwrap();
    // The first GET tries one address, is retried on the other, and both are ejected.
    assert_eq!(status(&svc, get()).await, 502);
    assert_eq!(svc.ejected(), 2);
    let err = svc.clone().oneshot(get()).await.unwrap_err();
    assert_eq!(err.kind(), ProxyErrorKind::Unavailable);
    assert_eq!(status(&svc, get()).await, 503);
}

#[tokio::test(start_paused = true)]
async fn ejection_ends_after_its_period() {
    let dead = dead_addr().await;
    let svc = Balanced::builder(vec![up(dead)])
        .eject_after(1)
        .eject_for(Duration::from_secs(30))
        .retries(0)
        .build()
        .unwrap();
    assert_eq!(status(&svc, get()).await, 502);
    assert_eq!(status(&svc, get()).await, 503);
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(svc.ejected(), 0);
    // The trial request fails again and re-ejects at once.
    assert_eq!(status(&svc, get()).await, 502);
    assert_eq!(svc.ejected(), 1);
}

/// Health-check verdicts and passive ejection combine: an unhealthy address takes
/// no requests while a healthy one is not ejected; once the healthy one is ejected
/// (its connects failing), requests go to every address (fail open), unhealthy ones
/// included.
#[tokio::test]
async fn health_verdicts_and_ejection_combine() {
    use frontdoor_upstream::BalanceHealth;

    let (live, hits) = counting_upstream().await;
    let dead = dead_addr().await;
    let health = BalanceHealth::new(2);
    let svc = Balanced::builder(vec![up(live), up(dead)])
        .health(health.clone())
        .eject_after(1)
        .retries(0)
        .build()
        .unwrap();
    // The live address is unhealthy: every request goes to the dead one, and fails.
    assert!(health.set_healthy(0, false));
    assert_eq!(status(&svc, get()).await, 502);
    assert_eq!((hits.load(Ordering::SeqCst), health.ejected()), (0, 1));
    // The dead one is ejected: fail open, the unhealthy live one answers.
    for _ in 0..5 {
        assert_eq!(status(&svc, get()).await, 200);
    }
    assert_eq!(hits.load(Ordering::SeqCst), 5);
    // Healthy again: it keeps answering.
    assert!(health.set_healthy(0, true));
    assert_eq!(status(&svc, get()).await, 200);
}
