//! Every origin fault of the harness, through the real stack: which become 502, which
//! 504, which an aborted body; none hangs past the configured timeout.

use std::time::Duration;

use bytes::Bytes;
use frontdoor_deproxy::{
    ClientError, Deproxy, Endpoint, Fault, MessageChain, Reply, ServerConnector,
};
use http::Request;

use super::support::{front, Front, CLIENT_BOUND, TIMEOUT};

/// The body every faulty origin tries to send.
const BODY: &str = "0123456789";

/// One exchange through a fresh stack whose origin misbehaves with `fault`.
struct Run {
    mc: MessageChain,
    origin: Endpoint,
    front: Front,
    _d: Deproxy,
}

async fn with_connector(connector: ServerConnector, fault: Option<Fault>) -> Run {
    let d = Deproxy::new();
    let origin = d
        .endpoint()
        .connector(connector)
        .handler(move |_req: Request<Bytes>| {
            let fault = fault.clone();
            async move {
                let reply = Reply::text(200, BODY);
                match fault {
                    Some(f) => reply.fault(f),
                    None => reply,
                }
            }
        })
        .start()
        .await
        .unwrap();
    let front = front(origin.addr()).await;
    let mc = d
        .make_request(front.at("/fault"))
        .timeout(CLIENT_BOUND)
        .send()
        .await;
    Run {
        mc,
        origin,
        front,
        _d: d,
    }
}

async fn through(fault: Fault) -> Run {
    with_connector(ServerConnector::Raw, Some(fault)).await
}

fn assert_bounded(what: &str, mc: &MessageChain) {
    assert!(
        mc.elapsed < CLIENT_BOUND,
        "{what}: hung for {:?}: {mc:#?}",
        mc.elapsed
    );
    assert_ne!(
        mc.client_error,
        Some(ClientError::Timeout),
        "{what}: {mc:#?}"
    );
}

#[tokio::test]
async fn head_faults_become_502_or_504() {
    let cases = [
        (Fault::DelayHead(Duration::from_secs(60)), 504),
        (Fault::slow_headers(Duration::from_secs(3)), 504),
        (Fault::StallAfterStatusLine, 504),
        (Fault::StallMidHeaders, 504),
        (Fault::CloseWithoutResponse { reset: false }, 502),
        (Fault::reset(), 502),
        (Fault::garbage(), 502),
        (Fault::Raw(Bytes::from_static(b"HTTP/1.1 200 OK\r\n")), 502),
        (
            Fault::Raw(Bytes::from_static(b"HTTP/1.1 abc OK\r\n\r\n")),
            502,
        ),
    ];
    for (fault, want) in cases {
        let what = format!("{fault:?}");
        let run = through(fault).await;
        let mc = &run.mc;
        assert_eq!(mc.status(), Some(want), "{what}: {mc:#?}");
        assert_eq!(mc.client_error, None, "{what}: {mc:#?}");
        // the origin saw the request once: no retry of a request that reached it
        let h = mc.single_handling();
        assert_eq!(h.request.uri(), "/fault", "{what}");
        assert_eq!(h.response.status(), 200, "{what}");
        assert_bounded(&what, mc);
        if want == 504 {
            // the head timeout fired, not something earlier
            assert!(mc.elapsed >= TIMEOUT, "{what}: {:?}", mc.elapsed);
        }
        // the gateway body names the status only
        let body = mc.received_response.as_ref().unwrap().body();
        let reason = if want == 502 {
            "Bad Gateway"
        } else {
            "Gateway Timeout"
        };
        assert!(
            body.starts_with(reason.as_bytes()),
            "{what}: {:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[tokio::test]
async fn endpoint_faults_without_a_handling_become_502_or_504() {
    let cases = [
        (ServerConnector::AcceptThenClose { reset: false }, 502),
        (ServerConnector::AcceptThenClose { reset: true }, 502),
        (ServerConnector::AcceptThenHang, 504),
    ];
    for (connector, want) in cases {
        let what = format!("{connector:?}");
        let run = with_connector(connector, None).await;
        let (mc, origin) = (&run.mc, &run.origin);
        assert_eq!(mc.status(), Some(want), "{what}: {mc:#?}");
        assert!(mc.handlings.is_empty(), "{what}: {mc:#?}");
        assert_eq!(origin.requests_seen(), 0, "{what}");
        assert_bounded(&what, mc);
    }
}

#[tokio::test]
async fn nothing_listening_is_502() {
    // A port that was free a moment ago: bind it, then close it.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let front = front(addr).await;
    let d = Deproxy::new();
    let mc = d
        .make_request(front.at("/"))
        .timeout(CLIENT_BOUND)
        .send()
        .await;
    assert_eq!(mc.status(), Some(502), "{mc:#?}");
    assert_bounded("refused", &mc);
}

#[tokio::test]
async fn body_faults_abort_the_client_body() {
    // (fault, the body the client gets before the abort)
    let cases = [
        (Fault::StallAfterHeaders, ""),
        (Fault::StallMidBody { after: 4 }, "0123"),
        (
            Fault::CloseMidBody {
                after: 4,
                reset: false,
            },
            "0123",
        ),
        (
            Fault::CloseMidBody {
                after: 4,
                reset: true,
            },
            "0123",
        ),
        (Fault::ContentLength { declared: 20 }, BODY),
        (
            Fault::TrickleBody {
                every: Duration::from_secs(1),
            },
            "0",
        ),
    ];
    for (fault, partial) in cases {
        let what = format!("{fault:?}");
        let run = through(fault).await;
        let mc = &run.mc;
        // the head was committed: the status passes, the body is cut short
        assert_eq!(mc.status(), Some(200), "{what}: {mc:#?}");
        assert!(
            matches!(mc.client_error, Some(ClientError::BodyAborted(_))),
            "{what}: {mc:#?}"
        );
        assert_eq!(
            mc.received_response.as_ref().unwrap().body(),
            partial,
            "{what}"
        );
        assert_eq!(mc.handlings.len(), 1, "{what}");
        assert_bounded(&what, mc);
    }
}

#[tokio::test]
async fn benign_oddities_pass_through() {
    for fault in [
        Fault::TrickleBody {
            every: Duration::from_millis(1),
        },
        Fault::BareLf,
    ] {
        let what = format!("{fault:?}");
        let run = through(fault).await;
        let mc = &run.mc;
        assert_eq!(mc.status(), Some(200), "{what}: {mc:#?}");
        assert_eq!(mc.client_error, None, "{what}: {mc:#?}");
        assert_eq!(
            mc.received_response.as_ref().unwrap().body(),
            BODY,
            "{what}"
        );
    }
    // a short Content-Length: the trailing bytes are dropped, never parsed as a
    // second response
    let run = through(Fault::ContentLength { declared: 4 }).await;
    let mc = &run.mc;
    assert_eq!(mc.status(), Some(200), "{mc:#?}");
    assert_eq!(mc.received_response.as_ref().unwrap().body(), "0123");
}

#[tokio::test]
async fn stalled_upstream_connections_are_closed_after_the_timeout() {
    let mut kept = Vec::new();
    for (fault, want) in [
        (Fault::StallAfterStatusLine, 504),
        (Fault::StallMidHeaders, 504),
        (Fault::StallAfterHeaders, 200),
        (Fault::StallMidBody { after: 4 }, 200),
    ] {
        let what = format!("{fault:?}");
        let run = through(fault).await;
        let (mc, origin) = (&run.mc, &run.origin);
        assert_eq!(mc.status(), Some(want), "{what}: {mc:#?}");
        if tokio::time::timeout(CLIENT_BOUND, origin.wait_for_peer_closes(1))
            .await
            .is_err()
        {
            kept.push(what);
        }
    }
    assert!(
        kept.is_empty(),
        "stalled upstream connections kept open: {kept:?}"
    );
}

#[tokio::test]
async fn the_stack_shuts_down_cleanly_after_faults() {
    let run = through(Fault::StallMidBody { after: 4 }).await;
    assert!(matches!(
        run.mc.client_error,
        Some(ClientError::BodyAborted(_))
    ));
    tokio::time::timeout(CLIENT_BOUND, run.front.running.shutdown())
        .await
        .expect("graceful shutdown hung after a faulty exchange");
}
