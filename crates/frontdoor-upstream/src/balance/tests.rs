//! The balancer's unit tests.

use super::*;

#[test]
fn public_types_are_send_sync_clone() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    send_sync_clone::<Balanced>();
    send::<ResponseFuture>();
}

/// Two balancers built with one health share it: a connect failure through one
/// ejects the address for the other.
#[tokio::test]
async fn balancers_built_with_one_health_share_ejections() {
    // Nothing listens on port 9 (discard) of loopback: the connect is refused.
    let upstreams = || vec![Upstream::new("http://127.0.0.1:9").unwrap()];
    let health = BalanceHealth::new(1);
    let build = || {
        Balanced::builder(upstreams())
            .eject_after(1)
            .retries(0)
            .health(health.clone())
            .build()
            .unwrap()
    };
    let (mut a, b) = (build(), build());
    let alone = Balanced::builder(upstreams()).build().unwrap();
    let req = Request::get("http://h/").body(Body::empty()).unwrap();
    let err = a.call(req).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!((a.ejected(), b.ejected(), health.ejected()), (1, 1, 1));
    assert_eq!(alone.ejected(), 0);
    let wrong = Balanced::builder(upstreams())
        .health(BalanceHealth::new(2))
        .build();
    assert_eq!(wrong.unwrap_err().key(), "health");
}

#[test]
fn empty_lists_are_rejected() {
    assert_eq!(
        Balanced::builder(vec![]).build().unwrap_err().key(),
        "upstreams"
    );
}

#[test]
fn only_idempotent_bodiless_requests_are_cloned() {
    use tower::retry::Policy;
    let mut p = RetryPolicy { remaining: 1 };
    let get = Request::get("/").body(Body::empty()).unwrap();
    assert!(p.clone_request(&get).is_some());
    let post = Request::post("/").body(Body::empty()).unwrap();
    assert!(p.clone_request(&post).is_none());
    let put = Request::put("/").body(Body::from("x")).unwrap();
    assert!(p.clone_request(&put).is_none());
    let ws = Request::get("/")
        .header("upgrade", "websocket")
        .body(Body::empty())
        .unwrap();
    assert!(p.clone_request(&ws).is_none());
}

/// The health checks' verdicts are shared by clones and counted; a change is
/// reported once, and an index out of range changes nothing.
#[test]
fn health_verdicts_are_shared_and_counted() {
    let health = BalanceHealth::new(2);
    let other = health.clone();
    assert_eq!((health.len(), health.unhealthy()), (2, 0));
    assert!(health.set_healthy(1, false));
    assert!(!health.set_healthy(1, false));
    assert!(!health.set_healthy(5, false));
    assert_eq!(
        (other.unhealthy(), other.is_healthy(1), other.is_healthy(0)),
        (1, false, true)
    );
    assert!(other.set_healthy(1, true));
    assert_eq!(health.unhealthy(), 0);
}
