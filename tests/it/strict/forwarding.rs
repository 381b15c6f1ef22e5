//! What the upstream is told about the client and the connection: never a fact the
//! client forged, never less than what frontdoor itself added.

use bytes::Bytes;
use frontdoor_deproxy::{Deproxy, Handling};
use frontdoor_tests::h2c;
use http::Request;
use http_body_util::Full;

use crate::stack::support::{echo_front, CLEANED, CLEAN_ROUTE, CLIENT_BOUND};

/// Sends `raw` through a fresh stack and returns what the echo origin received.
async fn forwarded(raw: &str) -> Handling {
    let d = Deproxy::new();
    let (_origin, front) = echo_front(&d).await;
    let mc = d
        .make_request(&front.url)
        .raw(raw.to_owned())
        .timeout(CLIENT_BOUND)
        .send()
        .await;
    assert_eq!(mc.status(), Some(200), "{raw:?}: {mc:#?}");
    d.all_handlings().pop().expect("forwarded")
}

fn header<'a>(h: &'a Handling, name: &str) -> Vec<&'a str> {
    h.request
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect()
}

#[tokio::test]
async fn an_absolute_form_https_target_does_not_forge_the_forwarded_proto() {
    let h =
        forwarded("GET https://app.test/x HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
            .await;
    assert_eq!(header(&h, "x-forwarded-proto"), ["http"]);
}

#[tokio::test]
async fn an_h2c_https_scheme_does_not_forge_the_forwarded_proto() {
    let d = Deproxy::new();
    let (_origin, front) = echo_front(&d).await;
    let mut client = h2c(front.running.addr()).await;
    let req = Request::get("https://app.test/x")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let res = client.send_request(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let h = d.all_handlings().pop().expect("forwarded");
    assert_eq!(header(&h, "x-forwarded-proto"), ["http"]);
}

#[tokio::test]
async fn x_forwarded_server_from_an_untrusted_peer_is_not_forwarded() {
    let h = forwarded(
        "GET /x HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-Server: evil.example\r\n\
         X-Forwarded-Host: evil.example\r\nForwarded: proto=https\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(header(&h, "x-forwarded-server").is_empty(), "{h:#?}");
    assert_eq!(header(&h, "x-forwarded-host"), ["app.test"]);
    assert!(header(&h, "forwarded").is_empty(), "{h:#?}");
}

#[tokio::test]
async fn a_client_connection_header_cannot_delete_headers_frontdoor_adds() {
    // The cleanup rules of CLEAN_ROUTE set `x-cleaned: yes`; the client names it in
    // `Connection`, which used to make the upstream client strip it.
    assert!(CLEAN_ROUTE.starts_with("app.test"));
    let h = forwarded(&format!(
        "GET /clean/x HTTP/1.1\r\nHost: app.test\r\nConnection: close, {0}\r\n{0}: forged\r\n\r\n",
        CLEANED.0
    ))
    .await;
    assert_eq!(header(&h, CLEANED.0), [CLEANED.1], "{h:#?}");
}

#[tokio::test]
async fn headers_the_client_names_in_connection_are_still_removed() {
    let h = forwarded(
        "GET /x HTTP/1.1\r\nHost: app.test\r\nConnection: close, x-hop\r\nX-Hop: 1\r\nX-Kept: 1\r\n\r\n",
    )
    .await;
    assert!(header(&h, "x-hop").is_empty(), "{h:#?}");
    assert!(header(&h, "connection").is_empty(), "{h:#?}");
    assert_eq!(header(&h, "x-kept"), ["1"]);
}

#[tokio::test]
async fn via_is_sent_upstream_by_default_and_not_downstream() {
    let d = Deproxy::new();
    let (_origin, front) = echo_front(&d).await;
    let mc = d
        .make_request(front.at("/x"))
        .header("via", "1.0 client-proxy")
        .timeout(CLIENT_BOUND)
        .send()
        .await;
    assert_eq!(mc.status(), Some(200), "{mc:#?}");
    let h = mc.single_handling();
    assert_eq!(header(h, "via"), ["1.0 client-proxy, 1.1 frontdoor"]);
    // The echo origin copies request headers into its answer: the response Via is
    // the origin's, with nothing of frontdoor's added.
    let res = mc.received_response.as_ref().unwrap();
    let via: Vec<_> = res.headers().get_all("via").iter().collect();
    assert_eq!(via, ["1.0 client-proxy, 1.1 frontdoor"]);
}

#[tokio::test]
async fn under_axum_serve_the_ingress_layer_keeps_headers_frontdoor_adds() {
    use frontdoor::{
        ingress::IngressLayer,
        upstream::{GatewayErrorLayer, Upstream},
    };
    use tower::{Layer, ServiceBuilder};

    let d = Deproxy::new();
    let origin = d.add_endpoint().await.unwrap();
    let upstream = GatewayErrorLayer::new().layer(Upstream::new(&origin.url()).unwrap());
    let stack = ServiceBuilder::new()
        .layer(IngressLayer::new())
        .map_request(|mut req: Request<frontdoor::Body>| {
            req.headers_mut()
                .insert("x-frontdoor", http::HeaderValue::from_static("yes"));
            req
        })
        .service(upstream);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let make = tower::make::Shared::new(stack);
    tokio::spawn(async move { axum::serve(listener, make).await });

    let mc = d
        .make_request(format!("http://{addr}/x"))
        .header("connection", "x-frontdoor")
        .timeout(CLIENT_BOUND)
        .send()
        .await;
    assert_eq!(mc.status(), Some(200), "{mc:#?}");
    assert_eq!(header(mc.single_handling(), "x-frontdoor"), ["yes"]);
}
