//! Custom connectors through the public `Connector` trait, and endpoints on a
//! given address.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use frontdoor_deproxy::{
    handlers, wire, BoxFuture, ClientConnection, Connection, Connector, Deproxy, Handler,
    HyperConnector, RawConnector, Reply, Signal,
};
use http::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Deproxy's `SlowResponseServerConnector`: hands each request to the
/// endpoint, sends the status line of the endpoint's response, fires
/// `status_line_sent`, then sends nothing more (the original sleeps for
/// `Long.MAX_VALUE`). It counts the peer's close on the endpoint.
#[derive(Debug)]
struct SlowResponse {
    status_line_sent: Signal,
}

impl Connector for SlowResponse {
    fn serve(&self, mut stream: TcpStream, conn: Connection) -> BoxFuture<()> {
        let sent = self.status_line_sent.clone();
        Box::pin(async move {
            let mut buf = BytesMut::new();
            let Ok(Some(req)) = conn.read_request(&mut stream, &mut buf).await else {
                return;
            };
            let reply = conn.handle(req).await;
            let head = wire::response_head(&reply.response);
            let status_line_end = head.iter().position(|&b| b == b'\n').unwrap() + 1;
            stream.write_all(&head[..status_line_end]).await.unwrap();
            stream.flush().await.unwrap();
            sent.fire();
            // Hang until the proxy gives up on us.
            let mut scratch = [0u8; 64];
            while matches!(stream.read(&mut scratch).await, Ok(n) if n > 0) {}
            conn.peer_closed();
        })
    }
}

/// A "proxy" made of an endpoint: forwards to `upstream`, and answers 502
/// when `give_up` fires first (a proxy's upstream timeout, made explicit).
fn proxy_to(upstream: SocketAddr, give_up: Signal) -> impl Handler {
    let forward = handlers::route(upstream);
    move |req: Request<Bytes>| {
        let (forward, give_up) = (forward.clone(), give_up.clone());
        async move {
            tokio::select! {
                reply = forward.call(req) => reply,
                () = give_up.wait() => Reply::text(502, "upstream timed out"),
            }
        }
    }
}

#[tokio::test]
async fn slow_response_server_connector_makes_the_proxy_answer_502() {
    let d = Deproxy::new();
    let sent = Signal::new();
    let slow = d
        .endpoint()
        .name("slow")
        .connector(SlowResponse {
            status_line_sent: sent.clone(),
        })
        .start()
        .await
        .unwrap();
    let proxy = d
        .endpoint()
        .name("proxy")
        .handler(proxy_to(slow.addr(), sent))
        .start()
        .await
        .unwrap();

    let mc = d.make_request(proxy.url()).send().await;

    // The client got the proxy's 502 ...
    assert_eq!(mc.status(), Some(502), "{mc:#?}");
    assert_eq!(
        mc.received_response.as_ref().unwrap().body(),
        "upstream timed out"
    );
    // ... after the origin had handled the request with the simple handler's
    // 200 (recorded before its status line went out), then the proxy's own.
    let names: Vec<&str> = mc
        .handlings
        .iter()
        .map(|h| h.endpoint.name.as_str())
        .collect();
    assert_eq!(names, ["slow", "proxy"]);
    assert_eq!(mc.handlings[0].response.status(), 200);
    assert_eq!(mc.handlings[1].response.status(), 502);
    assert!(mc.handlings[0].recorded_at <= mc.handlings[1].recorded_at);
    assert_eq!(slow.requests_seen(), 1);
    // The proxy abandoned the upstream connection.
    tokio::time::timeout(Duration::from_secs(10), slow.wait_for_peer_closes(1))
        .await
        .unwrap();
}

/// Waits `delay` before sending each whole response.
#[derive(Debug)]
struct DelayEachResponse {
    delay: Duration,
}

impl Connector for DelayEachResponse {
    fn serve(&self, mut stream: TcpStream, conn: Connection) -> BoxFuture<()> {
        let delay = self.delay;
        Box::pin(async move {
            let mut buf = BytesMut::new();
            while let Ok(Some(req)) = conn.read_request(&mut stream, &mut buf).await {
                let reply = conn.handle(req).await;
                tokio::time::sleep(delay).await;
                let mut bytes = wire::response_head(&reply.response);
                bytes.extend_from_slice(reply.response.body());
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_connector_that_sleeps_before_each_response_delays_the_client_exactly() {
    const DELAY: Duration = Duration::from_secs(5);
    let d = Deproxy::new();
    let ep = d
        .endpoint()
        .connector(DelayEachResponse { delay: DELAY })
        .handler(handlers::echo())
        .start()
        .await
        .unwrap();
    let conn = ClientConnection::new();
    let start = tokio::time::Instant::now();
    let first = d
        .make_request(format!("{}/1", ep.url()))
        .connection(&conn)
        .send()
        .await;
    let second = d
        .make_request(format!("{}/2", ep.url()))
        .connection(&conn)
        .send()
        .await;

    for (i, mc) in [&first, &second].into_iter().enumerate() {
        assert_eq!(mc.status(), Some(200), "{mc:#?}");
        assert_eq!(mc.elapsed, DELAY, "request {i}");
        let h = mc.single_handling();
        // Handled at once, answered `DELAY` later: the handling is recorded
        // before the connector sleeps.
        let sent_at = start + DELAY * u32::try_from(i).unwrap();
        assert_eq!(h.recorded_at, sent_at, "request {i}");
        assert_eq!(h.seq_on_connection, u32::try_from(i).unwrap());
    }
    assert_eq!(first.single_handling().request.uri(), "/1");
    assert_eq!(second.single_handling().request.uri(), "/2");
    assert_eq!(
        first.single_handling().connection,
        second.single_handling().connection
    );
    assert_eq!(conn.connections_opened(), 1);
}

#[tokio::test]
async fn built_in_connectors_are_connectors_by_type_too() {
    let d = Deproxy::new();
    for ep in [
        d.endpoint()
            .connector(HyperConnector)
            .start()
            .await
            .unwrap(),
        d.endpoint().connector(RawConnector).start().await.unwrap(),
    ] {
        let mc = d.make_request(ep.url()).send().await;
        assert_eq!(mc.status(), Some(200), "{mc:#?}");
        assert_eq!(mc.single_handling().endpoint.id, ep.id());
        assert_eq!(ep.requests_seen(), 1);
    }
}

#[tokio::test]
async fn endpoints_listen_on_a_given_address() {
    let d = Deproxy::new();
    // A free port, found by binding port 0 and letting go of it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let ep = d
        .endpoint()
        .addr(addr)
        .handler(handlers::status(207))
        .start()
        .await
        .unwrap();
    assert_eq!(ep.addr(), addr);
    assert_eq!(ep.url(), format!("http://127.0.0.1:{}", addr.port()));
    let mc = d
        .make_request(format!("http://127.0.0.1:{}/", addr.port()))
        .send()
        .await;
    assert_eq!(mc.status(), Some(207));
    // A second endpoint cannot take the same port.
    let err = d.endpoint().addr(addr).start().await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}
