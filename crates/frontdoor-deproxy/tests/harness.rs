//! Tests of the harness itself: client talks to endpoints directly.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::time::Duration;

use bytes::Bytes;
use frontdoor_deproxy::{handlers, Deproxy, Reply, ServerConnector, Signal, REQUEST_ID_HEADER};
use http::{Method, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn default_handler_is_simple_200_with_default_headers_and_id_echo() {
    let d = Deproxy::new();
    let ep = d.add_endpoint().await.unwrap();
    let mc = d.make_request(ep.url()).send().await;
    assert_eq!(mc.status(), Some(200), "{mc:#?}");
    let h = mc.single_handling();
    assert_eq!(h.endpoint.id, ep.id());
    assert_eq!(h.response.status(), 200);
    let hs = h.response.headers();
    assert!(hs.contains_key("server"));
    assert!(hs.contains_key("date"));
    assert_eq!(hs["content-length"], "0");
    assert_eq!(hs[REQUEST_ID_HEADER], mc.request_id.as_str());
    let resp = mc.received_response.as_ref().unwrap();
    assert_eq!(resp.headers()[REQUEST_ID_HEADER], mc.request_id.as_str());
    // default request headers
    let sent = mc.sent_request.as_ref().unwrap();
    for name in [
        "host",
        "accept",
        "accept-encoding",
        "user-agent",
        REQUEST_ID_HEADER,
    ] {
        assert!(sent.headers().contains_key(name), "{name}");
        assert_eq!(h.request.headers()[name], sent.headers()[name]);
    }
    assert_eq!(sent.headers()["host"], ep.addr().to_string().as_str());
    assert!(mc.orphaned_handlings.is_empty());
}

#[tokio::test]
async fn echo_copies_headers_and_body_including_all_byte_values() {
    let d = Deproxy::new();
    let ep = support::echo_endpoint(&d).await;
    let body: Vec<u8> = (0..=255u8).collect();
    let mc = d
        .make_request(ep.url())
        .method(Method::POST)
        .header("x-header", "12345")
        .body(body.clone())
        .send()
        .await;
    let resp = mc.received_response.as_ref().unwrap();
    assert_eq!(resp.headers()["x-header"], "12345");
    assert_eq!(resp.body().as_ref(), body.as_slice());
    assert_eq!(
        mc.single_handling().request.body().as_ref(),
        body.as_slice()
    );
}

#[tokio::test]
async fn chunked_request_body_is_recorded_dechunked() {
    let d = Deproxy::new();
    let ep = support::echo_endpoint(&d).await;
    let mc = d
        .make_request(ep.url())
        .method(Method::POST)
        .body("hello chunks")
        .chunked(true)
        .send()
        .await;
    let h = mc.single_handling();
    assert_eq!(h.request.body(), "hello chunks");
    assert_eq!(h.request.headers()["transfer-encoding"], "chunked");
    assert_eq!(mc.received_response.unwrap().body(), "hello chunks");
}

#[tokio::test]
async fn custom_status_and_headers_pass_through() {
    let d = Deproxy::new();
    let ep = d
        .endpoint()
        .handler(|_req: Request<Bytes>| async { Reply::text(606, "odd").header("x-custom", "v") })
        .start()
        .await
        .unwrap();
    let mc = d.make_request(ep.url()).send().await;
    assert_eq!(mc.status(), Some(606));
    assert_eq!(mc.single_handling().response.status(), 606);
    assert_eq!(mc.received_response.unwrap().headers()["x-custom"], "v");
}

/// Python's `TestPerEndpointHandlers` matrix plus steps 3-6 of the order.
#[tokio::test]
async fn handler_resolution_order() {
    let d = Deproxy::builder()
        .default_handler(handlers::status(603))
        .build();
    let e1 = d.endpoint().name("one").start().await.unwrap();
    let e2 = d
        .endpoint()
        .name("two")
        .handler(handlers::status(602))
        .start()
        .await
        .unwrap();

    // no overrides: endpoint handler (4) for e2, deproxy default (5) for e1
    assert_eq!(d.make_request(e1.url()).send().await.status(), Some(603));
    assert_eq!(d.make_request(e2.url()).send().await.status(), Some(602));

    // per-request default (3) beats both
    let mc = d
        .make_request(e2.url())
        .default_handler(handlers::status(604))
        .send()
        .await;
    assert_eq!(mc.status(), Some(604));

    // by endpoint (1) beats by name (2) beats per-request default (3)
    for (ep, want) in [(&e1, 701), (&e2, 702)] {
        let mc = d
            .make_request(ep.url())
            .handler_for(&e1, handlers::status(701))
            .handler_for_name("two", handlers::status(702))
            .handler_for_name("one", handlers::status(799))
            .default_handler(handlers::status(604))
            .send()
            .await;
        assert_eq!(mc.status(), Some(want));
    }

    // a partial map: the other endpoint falls through
    let mc = d
        .make_request(e2.url())
        .handler_for(&e1, handlers::status(701))
        .send()
        .await;
    assert_eq!(mc.status(), Some(602));

    // no deproxy default: simple 200
    let plain = Deproxy::new();
    let e = plain.add_endpoint().await.unwrap();
    assert_eq!(plain.make_request(e.url()).send().await.status(), Some(200));
}

#[tokio::test]
async fn untracked_requests_are_orphans_of_every_open_chain() {
    let d = Deproxy::new();
    let ep = d.add_endpoint().await.unwrap();
    let other = Deproxy::new();
    let release = Signal::new();
    let wait = release.clone();
    let tracked = d
        .make_request(ep.url())
        .default_handler(move |_req: Request<Bytes>| {
            let wait = wait.clone();
            async move {
                wait.wait().await;
                Reply::status(200)
            }
        })
        .send();
    let intruder = async {
        let mc = other.make_request(ep.url()).send().await;
        release.fire();
        mc
    };
    let (mc, other_mc) = tokio::join!(tracked, intruder);
    assert_eq!(mc.handlings.len(), 1);
    assert_eq!(mc.orphaned_handlings.len(), 1);
    let orphan = &mc.orphaned_handlings[0];
    let ids: Vec<_> = orphan
        .request
        .headers()
        .get_all(REQUEST_ID_HEADER)
        .iter()
        .collect();
    assert_eq!(ids, [other_mc.request_id.as_str()]);
    assert!(other_mc.handlings.is_empty() && other_mc.orphaned_handlings.is_empty());
    assert_eq!(d.orphans().len(), 1);
    assert_eq!(d.all_handlings().len(), 2);
}

#[tokio::test]
async fn pipelined_requests_on_one_connection_share_the_connection_id() {
    let d = Deproxy::new();
    let ep = support::echo_endpoint(&d).await;
    let id = d.new_request_id();
    let raw = format!(
        "GET /1 HTTP/1.1\r\nHost: a\r\n{REQUEST_ID_HEADER}: {id}\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n{REQUEST_ID_HEADER}: {id}\r\n\r\n"
    );
    let mc = d
        .make_request(ep.url())
        .raw(raw)
        .request_id(id)
        .expect_responses(2)
        .send()
        .await;
    assert_eq!(mc.handlings.len(), 2, "{mc:#?}");
    assert_eq!(mc.handlings[0].request.uri(), "/1");
    assert_eq!(mc.handlings[1].request.uri(), "/2");
    assert_eq!(mc.handlings[0].connection, mc.handlings[1].connection);
    assert_eq!(mc.handlings[0].seq_on_connection, 0);
    assert_eq!(mc.handlings[1].seq_on_connection, 1);
    assert_eq!(mc.pipelined_responses.len(), 1);
    assert_eq!(
        frontdoor_deproxy::wire::parse_responses(&mc.raw_response).len(),
        2
    );
}

#[tokio::test]
async fn separate_requests_use_separate_connections() {
    let d = Deproxy::new();
    let ep = d.add_endpoint().await.unwrap();
    let a = d.make_request(ep.url()).send().await;
    let b = d.make_request(ep.url()).send().await;
    assert_ne!(
        a.single_handling().connection,
        b.single_handling().connection
    );
}

#[tokio::test]
async fn handlings_after_the_chain_closed_are_late() {
    let d = Deproxy::new();
    let ep = d.add_endpoint().await.unwrap();
    let mc = d.make_request(ep.url()).send().await;
    // a "retry" carrying the same ID after the chain closed
    let again = d
        .make_request(ep.url())
        .header(REQUEST_ID_HEADER, &mc.request_id)
        .request_id("unrelated")
        .send()
        .await;
    assert!(again.handlings.is_empty());
    let late = d.late_handlings();
    assert_eq!(late.len(), 1);
    assert_eq!(
        late[0].request.headers()[REQUEST_ID_HEADER],
        mc.request_id.as_str()
    );
}

#[tokio::test]
async fn until_handlings_waits_for_asynchronous_traffic() {
    let d = Deproxy::new();
    let shadow = d.endpoint().name("shadow").start().await.unwrap();
    let shadow_addr = shadow.addr();
    // The primary answers at once and, in the background, copies the request
    // to the shadow (what a mirroring proxy does).
    let primary = d
        .endpoint()
        .handler(move |req: Request<Bytes>| async move {
            let id = req.headers()[REQUEST_ID_HEADER].to_str().unwrap().to_owned();
            tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(shadow_addr).await.unwrap();
                let bytes = format!(
                    "GET /mirror HTTP/1.1\r\nHost: s\r\n{REQUEST_ID_HEADER}: {id}\r\nConnection: close\r\n\r\n"
                );
                s.write_all(bytes.as_bytes()).await.unwrap();
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink).await;
            });
            Reply::status(200)
        })
        .start()
        .await
        .unwrap();
    let mc = d
        .make_request(primary.url())
        .until_handlings(2, Duration::from_secs(10))
        .send()
        .await;
    assert_eq!(mc.handlings.len(), 2, "{mc:#?}");
    assert_eq!(mc.handlings_at(&shadow).len(), 1);
    assert_eq!(mc.handlings_at(&shadow)[0].request.uri(), "/mirror");
}

#[tokio::test]
async fn route_forwards_with_host_rewritten_and_records_both_sides() {
    let d = Deproxy::new();
    let real = d
        .endpoint()
        .name("real")
        .handler(handlers::status(606))
        .start()
        .await
        .unwrap();
    let front = d
        .endpoint()
        .handler(handlers::route(real.addr()))
        .start()
        .await
        .unwrap();
    let mc = d.make_request(front.url()).send().await;
    assert_eq!(mc.status(), Some(606));
    assert_eq!(mc.handlings.len(), 2);
    let at_real = mc.handlings_at(&real)[0];
    assert_eq!(
        at_real.request.headers()["host"],
        real.addr().to_string().as_str()
    );
}

#[tokio::test]
async fn redirect_cookie_and_delay_handlers() {
    let d = Deproxy::new();
    let ep = d.add_endpoint().await.unwrap();
    let mc = d
        .make_request(ep.url())
        .default_handler(handlers::redirect(302, "/elsewhere"))
        .send()
        .await;
    let r = mc.received_response.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/elsewhere");

    let mc = d
        .make_request(ep.url())
        .default_handler(handlers::set_cookie(&["a=1; Path=/", "b=2"]))
        .send()
        .await;
    let r = mc.received_response.unwrap();
    let cookies: Vec<_> = r.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2"]);

    let mc = d
        .make_request(ep.url())
        .default_handler(handlers::delay(
            Duration::from_millis(50),
            handlers::status(606),
        ))
        .send()
        .await;
    assert_eq!(mc.status(), Some(606));
    assert!(mc.elapsed >= Duration::from_millis(50));
}

#[tokio::test]
async fn sequence_handler_answers_in_turn() {
    let d = Deproxy::new();
    let ep = d
        .endpoint()
        .handler(handlers::sequence(vec![
            handlers::status(503),
            handlers::status(200),
        ]))
        .start()
        .await
        .unwrap();
    let codes: Vec<_> = [(); 3].iter().map(|()| d.make_request(ep.url())).collect();
    let mut out = Vec::new();
    for b in codes {
        out.push(b.send().await.status());
    }
    assert_eq!(out, [Some(503), Some(200), Some(200)]);
}

async fn upgrade_round_trip(connector: ServerConnector) {
    let d = Deproxy::new();
    let ep = d
        .endpoint()
        .connector(connector)
        .handler(handlers::upgrade_echo())
        .start()
        .await
        .unwrap();
    let mut s = ep.raw_connect().await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s.write_all(b"ping").await.unwrap();
    let mut back = [0u8; 4];
    s.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"ping");
    assert_eq!(d.all_handlings().len(), 1);
}

#[tokio::test]
async fn upgrade_echo_on_hyper_endpoint() {
    upgrade_round_trip(ServerConnector::Hyper).await;
}

#[tokio::test]
async fn upgrade_echo_on_raw_endpoint() {
    upgrade_round_trip(ServerConnector::Raw).await;
}

#[tokio::test]
async fn no_default_headers_on_either_side() {
    let d = Deproxy::new();
    let ep = d
        .endpoint()
        .connector(ServerConnector::Raw)
        .handler(|_req: Request<Bytes>| async { Reply::text(200, "body").no_default_headers() })
        .start()
        .await
        .unwrap();
    let mc = d
        .make_request(ep.url())
        .add_default_headers(false)
        .send()
        .await;
    let h = mc.single_handling();
    assert_eq!(h.request.headers().len(), 1, "{:?}", h.request.headers());
    assert!(h.request.headers().contains_key(REQUEST_ID_HEADER));
    assert_eq!(h.response.body(), "body");
    // the client reads a close-delimited body: only the ID header was sent
    let r = mc.received_response.as_ref().unwrap();
    assert_eq!(r.headers().len(), 1, "{:?}", r.headers());
    assert_eq!(r.body(), "body");
}

#[tokio::test]
async fn endpoint_level_faults_record_nothing() {
    let d = Deproxy::new();
    let closer = d
        .endpoint()
        .connector(ServerConnector::AcceptThenClose { reset: false })
        .start()
        .await
        .unwrap();
    let mc = d.make_request(closer.url()).send().await;
    assert!(mc.received_response.is_none());
    assert!(mc.client_error.is_some());
    let hanger = d
        .endpoint()
        .connector(ServerConnector::AcceptThenHang)
        .start()
        .await
        .unwrap();
    let mc = d
        .make_request(hanger.url())
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert_eq!(
        mc.client_error,
        Some(frontdoor_deproxy::ClientError::Timeout)
    );
    assert!(d.all_handlings().is_empty());
}

#[tokio::test]
async fn shutdown_closes_listeners() {
    let d = Deproxy::new();
    let ep = d.add_endpoint().await.unwrap();
    let addr = ep.addr();
    d.shutdown();
    // The listener task notices the cancellation; rebinding must then succeed.
    let mut bound = None;
    for _ in 0..100 {
        tokio::task::yield_now().await;
        if let Ok(l) = tokio::net::TcpListener::bind(addr).await {
            bound = Some(l);
            break;
        }
    }
    assert!(bound.is_some());
}
