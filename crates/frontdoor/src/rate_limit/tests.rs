use std::{
    convert::Infallible,
    net::IpAddr,
    num::{NonZeroU32, NonZeroUsize},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use frontdoor_core::{Body, PeerTrust};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt};

use super::{Key, Rate, RateLimit, RateLimitLayer, ResponseFuture};

/// A service that counts what reaches it.
fn counting() -> (
    Arc<AtomicUsize>,
    impl Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send> + Clone,
) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let svc = tower::service_fn(move |_req: Request<Body>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Body::from("ok"))) }
    });
    (seen, svc)
}

fn from(client: &str) -> Request<Body> {
    let mut req = Request::new(Body::empty());
    let ip: IpAddr = client.parse().unwrap();
    req.extensions_mut().insert(PeerTrust::new(false, ip));
    req
}

async fn status<S>(svc: &mut S, req: Request<Body>) -> StatusCode
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    svc.ready().await.unwrap().call(req).await.unwrap().status()
}

fn rate(text: &str) -> Rate {
    text.parse().unwrap()
}

#[test]
fn layer_service_and_future_are_send_sync_clone() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    send_sync_clone::<RateLimitLayer>();
    send_sync_clone::<
        RateLimit<tower::util::BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>>,
    >();
    send_sync_clone::<super::CaptureKeyLayer>();
    send_sync_clone::<super::CaptureKey<()>>();
    send::<ResponseFuture<std::future::Ready<Result<Response<Body>, Infallible>>>>();
}

#[test]
fn rates_and_keys_parse_and_print() {
    assert_eq!(
        rate("100/s"),
        Rate::per_second(NonZeroU32::new(100).unwrap())
    );
    assert_eq!(rate("5/m").to_string(), "5/m");
    assert_eq!(rate("7/h").period(), Duration::from_secs(3600));
    assert_eq!(
        "100/d".parse::<Rate>().unwrap_err().message(),
        "expected N/s, N/m or N/h, got \"100/d\""
    );
    assert_eq!(
        "0/s".parse::<Rate>().unwrap_err().message(),
        "expected N/s, N/m or N/h with N > 0, got \"0/s\""
    );
    assert_eq!("client".parse::<Key>().unwrap(), Key::Client);
    assert_eq!("route".parse::<Key>().unwrap(), Key::Route);
    let header = "header:X-Api-Key".parse::<Key>().unwrap();
    assert_eq!(header.to_string(), "header:x-api-key");
    assert_eq!(
        "header:".parse::<Key>().unwrap_err().message(),
        "expected \"client\", \"route\" or \"header:NAME\", got \"header:\""
    );
}

#[tokio::test(start_paused = true)]
async fn a_burst_then_429_with_exact_headers_and_nothing_forwarded() {
    let (seen, inner) = counting();
    let mut svc = RateLimitLayer::builder(rate("2/s")).build().layer(inner);
    assert_eq!(status(&mut svc, from("192.0.2.1")).await, StatusCode::OK);
    assert_eq!(status(&mut svc, from("192.0.2.1")).await, StatusCode::OK);
    let res = svc
        .ready()
        .await
        .unwrap()
        .call(from("192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let headers = res.headers();
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(headers["ratelimit-policy"], "\"default\";q=2;w=1");
    assert_eq!(headers["ratelimit"], "\"default\";r=0;t=1");
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"Too Many Requests\n");
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn the_bucket_refills_at_the_rate() {
    let (seen, inner) = counting();
    let mut svc = RateLimitLayer::builder(rate("2/s")).build().layer(inner);
    for _ in 0..2 {
        assert_eq!(status(&mut svc, from("192.0.2.1")).await, StatusCode::OK);
    }
    assert_eq!(
        status(&mut svc, from("192.0.2.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    tokio::time::advance(Duration::from_millis(499)).await;
    assert_eq!(
        status(&mut svc, from("192.0.2.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(status(&mut svc, from("192.0.2.1")).await, StatusCode::OK);
    assert_eq!(
        status(&mut svc, from("192.0.2.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    tokio::time::advance(Duration::from_secs(5)).await;
    for _ in 0..2 {
        assert_eq!(status(&mut svc, from("192.0.2.1")).await, StatusCode::OK);
    }
    assert_eq!(
        status(&mut svc, from("192.0.2.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(seen.load(Ordering::SeqCst), 5);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_whole_seconds_rounded_up() {
    let (_, inner) = counting();
    let limit = RateLimitLayer::builder(rate("1/m")).key(Key::Route).build();
    let mut svc = limit.layer(inner);
    assert_eq!(
        status(&mut svc, Request::new(Body::empty())).await,
        StatusCode::OK
    );
    let retry = |res: &Response<Body>| {
        let h = res.headers();
        (
            h["retry-after"].clone(),
            h["ratelimit"].clone(),
            h["ratelimit-policy"].clone(),
        )
    };
    let res = svc
        .ready()
        .await
        .unwrap()
        .call(Request::new(Body::empty()))
        .await
        .unwrap();
    assert_eq!(
        retry(&res),
        (
            "60".try_into().unwrap(),
            "\"default\";r=0;t=60".try_into().unwrap(),
            "\"default\";q=1;w=60".try_into().unwrap()
        )
    );
    tokio::time::advance(Duration::from_millis(30_500)).await;
    let res = svc
        .ready()
        .await
        .unwrap()
        .call(Request::new(Body::empty()))
        .await
        .unwrap();
    assert_eq!(res.headers()["retry-after"], "30");
    tokio::time::advance(Duration::from_millis(29_400)).await;
    let res = svc
        .ready()
        .await
        .unwrap()
        .call(Request::new(Body::empty()))
        .await
        .unwrap();
    assert_eq!(res.headers()["retry-after"], "1");
}

#[tokio::test(start_paused = true)]
async fn a_burst_other_than_the_count() {
    let (seen, inner) = counting();
    let limit = RateLimitLayer::builder(rate("1/s"))
        .burst(NonZeroU32::new(3).unwrap())
        .build();
    assert_eq!(limit.burst().get(), 3);
    let mut svc = limit.layer(inner);
    for _ in 0..3 {
        assert_eq!(status(&mut svc, from("192.0.2.1")).await, StatusCode::OK);
    }
    assert_eq!(
        status(&mut svc, from("192.0.2.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn clients_count_apart_ipv6_per_slash_64() {
    let (seen, inner) = counting();
    let mut svc = RateLimitLayer::builder(rate("1/s")).build().layer(inner);
    assert_eq!(status(&mut svc, from("192.0.2.1")).await, StatusCode::OK);
    assert_eq!(status(&mut svc, from("192.0.2.2")).await, StatusCode::OK);
    assert_eq!(
        status(&mut svc, from("::ffff:192.0.2.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        status(&mut svc, from("2001:db8:0:1::1")).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, from("2001:db8:0:1:ffff::2")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        status(&mut svc, from("2001:db8:0:2::1")).await,
        StatusCode::OK
    );
    // No address at all: one shared bucket.
    assert_eq!(
        status(&mut svc, Request::new(Body::empty())).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, Request::new(Body::empty())).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(seen.load(Ordering::SeqCst), 5);
}

#[tokio::test(start_paused = true)]
async fn the_client_is_the_resolvers_else_the_peer() {
    let (_, inner) = counting();
    let mut svc = RateLimitLayer::builder(rate("1/s")).build().layer(inner);
    let peer = |ip: &str| {
        let mut req = Request::new(Body::empty());
        let conn = frontdoor_core::ConnInfo::new(
            "127.0.0.1:80".parse().unwrap(),
            format!("{ip}:5000").parse().unwrap(),
        );
        req.extensions_mut().insert(conn);
        req
    };
    assert_eq!(status(&mut svc, peer("192.0.2.9")).await, StatusCode::OK);
    assert_eq!(
        status(&mut svc, peer("192.0.2.9")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Through a trusted proxy at 192.0.2.9: the forwarded client counts.
    let mut req = peer("192.0.2.9");
    req.extensions_mut()
        .insert(PeerTrust::new(true, "198.51.100.1".parse().unwrap()));
    assert_eq!(status(&mut svc, req).await, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn exempt_networks_are_not_limited() {
    let (seen, inner) = counting();
    let limit = RateLimitLayer::builder(rate("1/s"))
        .key(Key::Route)
        .exempt(["10.0.0.0/8".parse().unwrap()])
        .build();
    let mut svc = limit.layer(inner);
    for _ in 0..5 {
        assert_eq!(status(&mut svc, from("10.1.2.3")).await, StatusCode::OK);
        assert_eq!(
            status(&mut svc, from("::ffff:10.1.2.3")).await,
            StatusCode::OK
        );
    }
    assert_eq!(status(&mut svc, from("192.0.2.1")).await, StatusCode::OK);
    assert_eq!(
        status(&mut svc, from("192.0.2.2")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(seen.load(Ordering::SeqCst), 11);
}

fn with_header(value: Option<&str>) -> Request<Body> {
    let mut req = Request::new(Body::empty());
    if let Some(v) = value {
        req.headers_mut().insert("x-api-key", v.parse().unwrap());
    }
    req
}

#[tokio::test(start_paused = true)]
async fn a_header_key_counts_per_value_missing_ones_together() {
    let (_, inner) = counting();
    let limit = RateLimitLayer::builder(rate("1/s"))
        .key("header:x-api-key".parse().unwrap())
        .build();
    let mut svc = limit.layer(inner);
    assert_eq!(
        status(&mut svc, with_header(Some("a"))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, with_header(Some("b"))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, with_header(Some("a"))).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(status(&mut svc, with_header(None)).await, StatusCode::OK);
    assert_eq!(
        status(&mut svc, with_header(None)).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(start_paused = true)]
async fn a_captured_header_counts_as_the_client_sent_it() {
    let (_, inner) = counting();
    let limit = RateLimitLayer::builder(rate("1/s"))
        .key("header:x-api-key".parse().unwrap())
        .build();
    let capture = limit.capture_key().unwrap();
    // Between the capture and the limiter, a layer removes the header.
    let strip = tower::util::MapRequestLayer::new(|mut req: Request<Body>| {
        req.headers_mut().remove("x-api-key");
        req
    });
    let mut svc = tower::ServiceBuilder::new()
        .layer(capture)
        .layer(strip)
        .layer(limit)
        .service(inner);
    assert_eq!(
        status(&mut svc, with_header(Some("a"))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, with_header(Some("b"))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, with_header(Some("a"))).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert!(RateLimitLayer::builder(rate("1/s"))
        .build()
        .capture_key()
        .is_none());
}

#[tokio::test(start_paused = true)]
async fn at_the_cap_new_keys_share_the_overflow_bucket_until_idle_keys_expire() {
    let (_, inner) = counting();
    let limit = RateLimitLayer::builder(rate("1/s"))
        .max_keys(NonZeroUsize::new(2).unwrap())
        .build();
    let shared = Arc::clone(&limit.shared);
    let mut svc = limit.layer(inner);
    assert_eq!(status(&mut svc, from("192.0.2.1")).await, StatusCode::OK);
    assert_eq!(status(&mut svc, from("192.0.2.2")).await, StatusCode::OK);
    assert_eq!(shared.limiter.tracked(), 2);
    // The table is full: .3 and .4 share one bucket.
    assert_eq!(status(&mut svc, from("192.0.2.3")).await, StatusCode::OK);
    assert_eq!(
        status(&mut svc, from("192.0.2.4")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(shared.limiter.tracked(), 2);
    // The tracked keys keep their own buckets.
    assert_eq!(
        status(&mut svc, from("192.0.2.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Once .1 and .2 are idle (their buckets full again), they are dropped and new
    // keys are tracked again.
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(status(&mut svc, from("192.0.2.5")).await, StatusCode::OK);
    assert_eq!(status(&mut svc, from("192.0.2.6")).await, StatusCode::OK);
    assert_eq!(shared.limiter.tracked(), 2);
    assert_eq!(
        status(&mut svc, from("192.0.2.5")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(start_paused = true)]
async fn clones_share_one_table_and_the_hook_counts_429s() {
    let (_, inner) = counting();
    let limited = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&limited);
    let limit = RateLimitLayer::builder(rate("1/s")).key(Key::Route).build();
    let hooked = limit.clone().on_limited(move || {
        count.fetch_add(1, Ordering::SeqCst);
    });
    assert!(hooked.shares_table(&limit));
    let mut one = limit.layer(inner.clone());
    let mut two = hooked.layer(inner);
    assert_eq!(
        status(&mut one, Request::new(Body::empty())).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut two, Request::new(Body::empty())).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        status(&mut one, Request::new(Body::empty())).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(limited.load(Ordering::SeqCst), 1);
}
