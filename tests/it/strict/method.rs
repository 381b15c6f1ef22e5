//! `CONNECT` is not forwarded by a reverse proxy: 405 with `Allow`, unless the
//! route's upstream explicitly opts in.

use frontdoor::upstream::{GatewayErrorLayer, Upstream};
use frontdoor_deproxy::Deproxy;
use tower::{util::BoxCloneSyncService, ServiceBuilder};

use super::{answers, exchange};
use crate::stack::support::{echo_front, front_with};

const CONNECT: &str = "CONNECT app.test:443 HTTP/1.1\r\nHost: app.test:443\r\n\r\n";

#[tokio::test]
async fn connect_is_405_with_allow_and_never_forwarded() {
    let d = Deproxy::new();
    let (origin, front) = echo_front(&d).await;
    let out = exchange(front.running.addr(), CONNECT.as_bytes()).await;
    let got = answers(&out);
    assert_eq!(got.len(), 1, "{:?}", String::from_utf8_lossy(&out));
    assert_eq!(got[0].status, 405);
    let allow = got[0].header("allow").expect("an Allow header");
    assert!(
        allow.contains("GET") && !allow.contains("CONNECT"),
        "{allow}"
    );
    assert_eq!(origin.requests_seen(), 0);
}

#[tokio::test]
async fn a_route_that_opts_in_forwards_connect() {
    let d = Deproxy::new();
    let origin = d.add_endpoint().await.unwrap();
    let upstream = Upstream::builder(&origin.url())
        .connect_method(true)
        .build()
        .unwrap();
    let front = front_with(BoxCloneSyncService::new(
        ServiceBuilder::new()
            .layer(GatewayErrorLayer::new())
            .service(upstream),
    ))
    .await;
    let mc = d.make_request(&front.url).raw(CONNECT).send().await;
    // The origin gets the CONNECT (deproxy's origin cannot open the tunnel itself;
    // the upstream crate's tests splice one end to end).
    assert_ne!(mc.status(), Some(405), "{mc:#?}");
    assert_eq!(
        origin.requests_seen(),
        1,
        "the opted-in route forwards CONNECT"
    );
    let h = d.all_handlings().pop().unwrap();
    assert_eq!(h.request.method(), http::Method::CONNECT);
}
