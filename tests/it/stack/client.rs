//! Client-side faults through the stack: a head that never completes, a body that
//! never completes, a client that half-closes.

use frontdoor_deproxy::{ClientError, ClientFault, Deproxy};

use super::support::{echo_front, front, CLIENT_BOUND, TIMEOUT};

#[tokio::test]
async fn a_partial_head_hits_the_header_read_timeout() {
    let d = Deproxy::new();
    let origin = d.add_endpoint().await.unwrap();
    let front = front(origin.addr()).await;
    let mc = d
        .make_request(front.at("/"))
        .fault(ClientFault::Partial { bytes: 12 })
        .timeout(CLIENT_BOUND)
        .send()
        .await;
    assert!(mc.elapsed < CLIENT_BOUND, "{mc:#?}");
    assert!(mc.elapsed >= TIMEOUT, "{mc:#?}");
    assert!(matches!(mc.status(), None | Some(408)), "{mc:#?}");
    assert_eq!(origin.requests_seen(), 0);
}

#[tokio::test]
async fn a_partial_body_is_not_forwarded_whole() {
    let d = Deproxy::new();
    let (origin, front) = echo_front(&d).await;
    let mc = d
        .make_request(&front.url)
        .raw("POST /upload HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\nabcd")
        .timeout(CLIENT_BOUND)
        .send()
        .await;
    // The head went upstream (streaming), the body never completed: no handling,
    // and the upstream head timeout answers, bounded (serve has no separate
    // request-body timeout; the upload time counts against the head timeout).
    assert_eq!(mc.status(), Some(504), "{mc:#?}");
    assert!(
        mc.elapsed >= TIMEOUT && mc.elapsed < CLIENT_BOUND,
        "{mc:#?}"
    );
    assert_eq!(origin.requests_seen(), 1);
    assert!(d.all_handlings().is_empty(), "{:#?}", d.all_handlings());
}

#[tokio::test]
async fn a_half_closed_client_is_treated_as_gone() {
    let d = Deproxy::new();
    let (origin, front) = echo_front(&d).await;
    let mc = d
        .make_request(front.at("/half"))
        .fault(ClientFault::HalfClose)
        .timeout(CLIENT_BOUND)
        .send()
        .await;
    // hyper's default (`half_close(false)`), which serve keeps: an EOF from the
    // client aborts the exchange like a disconnect, before the request
    // is forwarded.
    assert_eq!(
        mc.client_error,
        Some(ClientError::ClosedBeforeResponse),
        "{mc:#?}"
    );
    assert!(mc.elapsed < CLIENT_BOUND, "{mc:#?}");
    assert_eq!(origin.requests_seen(), 0);
    mc.assert_not_forwarded();
}
