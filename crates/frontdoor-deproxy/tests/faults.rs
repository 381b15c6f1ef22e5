//! Origin and client faults, observed by the harness's own client.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::time::Duration;

use bytes::Bytes;
use frontdoor_deproxy::{
    handlers, ClientError, ClientFault, Deproxy, Endpoint, Fault, Reply, ServerConnector, Signal,
};
use http::{Method, Request};

const BODY: &str = "0123456789";
const SHORT: Duration = Duration::from_millis(300);

async fn faulty(d: &Deproxy, fault: Fault) -> Endpoint {
    d.endpoint()
        .connector(ServerConnector::Raw)
        .handler(move |_req: Request<Bytes>| {
            let fault = fault.clone();
            async move { Reply::text(200, BODY).fault(fault) }
        })
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn stalls_are_recorded_and_bounded_by_the_client_timeout() {
    for fault in [
        Fault::StallAfterStatusLine,
        Fault::StallMidHeaders,
        Fault::StallAfterHeaders,
        Fault::StallMidBody { after: 3 },
    ] {
        let d = Deproxy::new();
        let ep = faulty(&d, fault.clone()).await;
        let mc = d.make_request(ep.url()).timeout(SHORT).send().await;
        assert_eq!(mc.client_error, Some(ClientError::Timeout), "{fault:?}");
        let h = mc.single_handling();
        assert_eq!(h.response.status(), 200);
        assert_eq!(h.fault.as_ref(), Some(&fault));
        assert!(
            mc.raw_response.starts_with(b"HTTP/1.1 200 OK\r\n"),
            "{fault:?}"
        );
    }
}

#[tokio::test]
async fn close_mid_body_gives_a_partial_body() {
    for reset in [false, true] {
        let d = Deproxy::new();
        let ep = faulty(&d, Fault::CloseMidBody { after: 4, reset }).await;
        let mc = d.make_request(ep.url()).send().await;
        assert!(
            matches!(
                mc.client_error,
                Some(ClientError::BodyAborted(_) | ClientError::Io(_))
            ),
            "{mc:#?}"
        );
        if !reset {
            assert_eq!(mc.received_response.unwrap().body(), "0123");
        }
    }
}

#[tokio::test]
async fn close_without_response_and_reset() {
    for fault in [Fault::CloseWithoutResponse { reset: false }, Fault::reset()] {
        let d = Deproxy::new();
        let ep = faulty(&d, fault.clone()).await;
        let mc = d.make_request(ep.url()).send().await;
        assert!(mc.received_response.is_none(), "{fault:?}");
        assert!(
            matches!(
                mc.client_error,
                Some(ClientError::ClosedBeforeResponse | ClientError::Io(_))
            ),
            "{mc:#?}"
        );
        assert_eq!(mc.handlings.len(), 1);
    }
}

#[tokio::test]
async fn trickled_body_arrives_whole() {
    let d = Deproxy::new();
    let ep = faulty(
        &d,
        Fault::TrickleBody {
            every: Duration::from_millis(1),
        },
    )
    .await;
    let mc = d.make_request(ep.url()).send().await;
    assert_eq!(mc.received_response.unwrap().body(), BODY);
}

#[tokio::test]
async fn slow_headers_delay_the_response() {
    let d = Deproxy::new();
    let ep = faulty(&d, Fault::slow_headers(Duration::from_millis(50))).await;
    let mc = d.make_request(ep.url()).send().await;
    assert_eq!(mc.status(), Some(200));
    assert!(mc.elapsed >= Duration::from_millis(50));
    // the same fault works on a hyper endpoint
    let h = d
        .endpoint()
        .handler(|_req: Request<Bytes>| async {
            Reply::status(204).fault(Fault::DelayHead(Duration::from_millis(50)))
        })
        .start()
        .await
        .unwrap();
    let mc = d.make_request(h.url()).send().await;
    assert_eq!(mc.status(), Some(204));
    assert!(mc.elapsed >= Duration::from_millis(50));
}

#[tokio::test]
async fn garbage_is_an_invalid_response() {
    let d = Deproxy::new();
    let ep = faulty(&d, Fault::garbage()).await;
    let mc = d.make_request(ep.url()).send().await;
    assert!(
        matches!(mc.client_error, Some(ClientError::InvalidResponse(_))),
        "{mc:#?}"
    );
    assert!(mc.raw_response.starts_with(b"\x16\x03"));
}

#[tokio::test]
async fn lying_content_length() {
    let d = Deproxy::new();
    // long: declares more than it sends, then closes
    let ep = faulty(&d, Fault::ContentLength { declared: 20 }).await;
    let mc = d.make_request(ep.url()).send().await;
    assert!(matches!(mc.client_error, Some(ClientError::BodyAborted(_))));
    assert_eq!(mc.received_response.unwrap().body(), BODY);
    // short: the client reads only the declared bytes; the rest is trailing junk
    let ep = faulty(&d, Fault::ContentLength { declared: 4 }).await;
    let mc = d.make_request(ep.url()).send().await;
    assert_eq!(mc.client_error, None);
    assert_eq!(mc.received_response.unwrap().body(), "0123");
}

#[tokio::test]
async fn bare_lf_response_parses() {
    let d = Deproxy::new();
    let ep = faulty(&d, Fault::BareLf).await;
    let mc = d.make_request(ep.url()).send().await;
    assert_eq!(mc.status(), Some(200));
    assert!(mc.raw_response.starts_with(b"HTTP/1.1 200 OK\n"));
}

#[tokio::test]
async fn raw_bytes_are_sent_verbatim() {
    let d = Deproxy::new();
    let ep = faulty(
        &d,
        Fault::Raw(Bytes::from_static(b"HTTP/1.1 299 Odd\r\nx: y\r\n\r\n")),
    )
    .await;
    let mc = d.make_request(ep.url()).send().await;
    assert_eq!(mc.status(), Some(299));
    assert_eq!(&mc.raw_response[..], b"HTTP/1.1 299 Odd\r\nx: y\r\n\r\n");
}

#[tokio::test]
async fn fault_on_hyper_endpoint_closes_without_response() {
    let d = Deproxy::new();
    let ep = d
        .endpoint()
        .handler(|_req: Request<Bytes>| async { Reply::status(200).fault(Fault::hang()) })
        .start()
        .await
        .unwrap();
    let mc = d.make_request(ep.url()).send().await;
    assert!(mc.received_response.is_none());
    assert_eq!(mc.handlings.len(), 1);
}

#[tokio::test]
async fn disconnect_after_send_is_coordinated_by_a_latch() {
    let d = Deproxy::new();
    let reached = Signal::new();
    let release = Signal::new();
    let hold = release.clone();
    let ep = d
        .endpoint()
        .handler(handlers::latch(
            reached.clone(),
            move |_req: Request<Bytes>| {
                let hold = hold.clone();
                async move {
                    hold.wait().await;
                    Reply::status(200)
                }
            },
        ))
        .start()
        .await
        .unwrap();
    let client = d
        .make_request(ep.url())
        .fault(ClientFault::DisconnectAfterSend(reached))
        .until_handlings(1, Duration::from_secs(10))
        .send();
    let (mc, ()) = tokio::join!(client, async {
        // let the handler finish only once the client is gone
        tokio::task::yield_now().await;
        release.fire();
    });
    assert!(mc.received_response.is_none());
    assert_eq!(mc.client_error, Some(ClientError::Disconnected));
    assert_eq!(mc.handlings.len(), 1);
    assert_eq!(mc.handlings[0].response.status(), 200);
}

#[tokio::test]
async fn slow_upload_arrives_whole() {
    let d = Deproxy::new();
    let ep = support::echo_endpoint(&d).await;
    let mc = d
        .make_request(ep.url())
        .method(Method::PUT)
        .body("slowly but surely")
        .fault(ClientFault::SlowUpload {
            chunk: 3,
            every: Duration::from_millis(1),
        })
        .send()
        .await;
    assert_eq!(mc.received_response.unwrap().body(), "slowly but surely");
}

#[tokio::test]
async fn partial_request_never_completes() {
    let d = Deproxy::new();
    let ep = d.add_endpoint().await.unwrap();
    let mc = d
        .make_request(ep.url())
        .fault(ClientFault::Partial { bytes: 10 })
        .timeout(SHORT)
        .send()
        .await;
    assert_eq!(mc.client_error, Some(ClientError::Timeout));
    assert!(d.all_handlings().is_empty());
    assert_eq!(ep.requests_seen(), 0);
}
