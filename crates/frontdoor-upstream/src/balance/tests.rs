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

/// Replacing the members keeps the health of those that stay; new ones start
/// healthy; an unchanged set is no change.
#[test]
fn set_members_keeps_the_health_of_members_that_stay() {
    let health = BalanceHealth::new(1);
    let (a, b, c) = (
        Member::discovered(0, "127.0.0.1:1".parse().unwrap()),
        Member::discovered(0, "127.0.0.2:1".parse().unwrap()),
        Member::discovered(0, "127.0.0.3:1".parse().unwrap()),
    );
    assert_eq!(health.members(), [Member::upstream(0)]);
    assert!(health.set_members(vec![b, a]));
    assert!(!health.set_members(vec![a, b, a]));
    assert!(health.set_member_healthy(b, false));
    assert!(health.set_members(vec![b, c]));
    assert_eq!(health.members(), [b, c]);
    assert!(!health.is_member_healthy(b));
    assert!(health.is_member_healthy(c));
    assert_eq!((health.len(), health.unhealthy()), (2, 1));
}

/// A worker's balancer follows the shared members: a discovered member gets its
/// upstream from the factory once, and a member that left is no longer called.
#[tokio::test]
async fn discovered_members_are_built_once_and_followed() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let built = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&built);
    let factory: MemberFactory = Arc::new(move |member: Member| {
        counter.fetch_add(1, Ordering::SeqCst);
        Upstream::builder("http://web.test")
            .connect_to(member.addr.unwrap())
            .build()
    });
    let health = BalanceHealth::new(1);
    let mut balanced = Balanced::builder(vec![Upstream::new("http://127.0.0.1:9").unwrap()])
        .health(health.clone())
        .eject_after(1)
        .retries(0)
        .discovered(factory)
        .build()
        .unwrap();
    // Port 9 refuses on both: each call fails to connect, through the member's own
    // upstream (connect_to), and ejects it.
    let (a, b) = (
        Member::discovered(0, "127.0.0.1:9".parse().unwrap()),
        Member::discovered(0, "127.0.0.2:9".parse().unwrap()),
    );
    health.set_members(vec![a]);
    let req = || Request::get("http://h/").body(Body::empty()).unwrap();
    let err = balanced.call(req()).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(built.load(Ordering::SeqCst), 1);
    // Every member ejected: refused at once, without building anything.
    let err = balanced.call(req()).await.unwrap_err();
    assert_eq!(err.kind(), ProxyErrorKind::Unavailable);
    health.set_members(vec![a, b]);
    let err = balanced.call(req()).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(built.load(Ordering::SeqCst), 2, "a kept its upstream");
    assert_eq!(balanced.len(), 2);
    assert_eq!(balanced.ejected(), 2);
}
