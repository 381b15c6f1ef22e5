//! The stack doing its job: resolve + route + cleanup + upstream together, client
//! disconnects, pipelining, and traffic that reaches the origin after the response.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use frontdoor::Body;
use frontdoor_deproxy::{
    handlers, ClientError, ClientFault, Deproxy, Fault, Reply, ServerConnector, Signal,
    REQUEST_ID_HEADER,
};
use http::{Request, Response};
use http_body::Frame;
use tower::{util::BoxCloneSyncService, ServiceExt};

use super::support::{
    echo_front, front, front_with, upstream, RouteService, CLEANED, CLIENT_BOUND,
};

#[tokio::test]
async fn resolve_route_cleanup_and_upstream_together() {
    let d = Deproxy::new();
    let (_origin, front) = echo_front(&d).await;

    // Host in odd case with a trailing dot, a dot-segment in the path, a cookie and
    // a spoofed X-Forwarded-For: the resolver normalises host and path, the router
    // picks the cleanup route and consumes `/clean`, the cleanup drops the cookie,
    // marks the request and resets Host from the verdict, the upstream replaces
    // the spoofed forwarding headers with its own.
    let mc = d
        .make_request(front.at("/x/../clean/page?q=%2F1"))
        .header("host", "APP.test.")
        .header("cookie", "secret=1")
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-server", "evil.example")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "1")
        .send()
        .await;
    assert_eq!(mc.status(), Some(200), "{mc:#?}");
    let seen = &mc.single_handling().request;
    assert_eq!(seen.uri(), "/page?q=%2F1");
    let h = seen.headers();
    assert!(!h.contains_key("cookie"), "{h:#?}");
    assert_eq!(h[CLEANED.0], CLEANED.1);
    assert_eq!(h["host"], "app.test");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-host"], "app.test");
    // An untrusted peer's X-Forwarded-Server is dropped with the rest of the list.
    assert!(!h.contains_key("x-forwarded-server"), "{h:#?}");
    assert!(!h.contains_key("connection"), "{h:#?}");
    assert!(!h.contains_key("x-hop"), "{h:#?}");
    assert_eq!(h[REQUEST_ID_HEADER], mc.request_id.as_str());
    // the client gets the origin's answer (echo copies the request headers back)
    let res = mc.received_response.as_ref().unwrap();
    assert_eq!(res.headers()[CLEANED.0], CLEANED.1);

    // The catch-all route: no cleanup, nothing consumed, the client's Host kept.
    let mc = d
        .make_request(front.at("/cleanup/page"))
        .header("host", "app.test")
        .header("cookie", "secret=1")
        .send()
        .await;
    assert_eq!(mc.status(), Some(200), "{mc:#?}");
    let seen = &mc.single_handling().request;
    assert_eq!(
        seen.uri(),
        "/cleanup/page",
        "prefixes match on segment boundaries"
    );
    assert_eq!(seen.headers()["cookie"], "secret=1");
    assert!(!seen.headers().contains_key(CLEANED.0));
    assert_eq!(seen.headers()["host"], "app.test");

    // Another host does not match the cleanup route even on its path.
    let mc = d
        .make_request(front.at("/clean/page"))
        .header("host", "other.test")
        .send()
        .await;
    let seen = &mc.single_handling().request;
    assert_eq!(seen.uri(), "/clean/page");
    assert!(!seen.headers().contains_key(CLEANED.0));

    // An invalid Host is refused by the resolver, never forwarded.
    let mc = d
        .make_request(front.at("/clean/page"))
        .header("host", "app.test:99999")
        .send()
        .await;
    assert_eq!(mc.status(), Some(400), "{mc:#?}");
    mc.assert_not_forwarded();
}

#[tokio::test]
async fn request_bodies_stream_through_whole() {
    let d = Deproxy::new();
    let (_origin, front) = echo_front(&d).await;
    for chunked in [false, true] {
        let mc = d
            .make_request(front.at("/clean/upload"))
            .header("host", "app.test")
            .method(http::Method::POST)
            .body("abcdefghij")
            .chunked(chunked)
            .fault(ClientFault::SlowUpload {
                chunk: 2,
                every: std::time::Duration::from_millis(1),
            })
            .send()
            .await;
        assert_eq!(mc.status(), Some(200), "{mc:#?}");
        assert_eq!(mc.single_handling().request.body(), "abcdefghij");
        assert_eq!(mc.received_response.unwrap().body(), "abcdefghij");
    }
}

#[tokio::test]
async fn client_disconnect_cancels_the_upstream_request() {
    let d = Deproxy::new();
    let reached = Signal::new();
    let origin = d
        .endpoint()
        .connector(ServerConnector::Raw)
        .handler(handlers::latch(
            reached.clone(),
            |_req: Request<Bytes>| async {
                // keep the upstream exchange open until the stack gives up on it;
                // the stall is far longer than the stack's timeouts would allow if
                // the client stayed, so only the disconnect can end it early
                Reply::status(200).fault(Fault::StallAfterStatusLine)
            },
        ))
        .start()
        .await
        .unwrap();
    let front = front(origin.addr()).await;
    let mc = d
        .make_request(front.at("/slow"))
        .fault(ClientFault::DisconnectAfterSend(reached))
        .send()
        .await;
    assert_eq!(mc.client_error, Some(ClientError::Disconnected));
    assert_eq!(mc.handlings.len(), 1);
    tokio::time::timeout(CLIENT_BOUND, origin.wait_for_peer_closes(1))
        .await
        .expect("the upstream request was not cancelled");
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let d = Deproxy::new();
    let (_origin, front) = echo_front(&d).await;
    let id = d.new_request_id();
    let one = |path: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: app.test\r\nx-path: {path}\r\n{REQUEST_ID_HEADER}: {id}\r\n\r\n"
        )
    };
    let raw = format!("{}{}{}", one("/1"), one("/clean/2"), one("/3"));
    let mc = d
        .make_request(&front.url)
        .raw(raw)
        .request_id(id)
        .expect_responses(3)
        .timeout(CLIENT_BOUND)
        .send()
        .await;
    assert_eq!(mc.client_error, None, "{mc:#?}");
    let mut paths = vec![mc.received_response.as_ref().unwrap().headers()["x-path"].clone()];
    paths.extend(
        mc.pipelined_responses
            .iter()
            .map(|r| r.headers()["x-path"].clone()),
    );
    assert_eq!(paths, ["/1", "/clean/2", "/3"]);
    let origin_order: Vec<_> = mc
        .handlings
        .iter()
        .map(|h| h.request.uri().to_string())
        .collect();
    assert_eq!(origin_order, ["/1", "/2", "/3"]);
    assert!(mc.handlings[1].request.headers().contains_key(CLEANED.0));
}

// === late traffic ===

/// A response body that runs `on_drop` once the server has finished with it (sent
/// it, or given up on it).
struct OnDrop {
    body: Body,
    on_drop: Option<Box<dyn FnOnce() + Send>>,
}

impl http_body::Body for OnDrop {
    type Data = Bytes;
    type Error = frontdoor::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.body)
            .poll_frame(cx)
            .map_err(frontdoor::BoxError::from)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.on_drop.take() {
            f();
        }
    }
}

/// A route service that, once the response has been handed to the server, replays
/// the request head (empty body) to `inner` in the background, after `gate` fires,
/// and fires `done` when the replay's response is back: what a retry or a mirror
/// does to an origin after the client got its answer.
fn replay_after_response(inner: RouteService, gate: Signal, done: Signal) -> RouteService {
    BoxCloneSyncService::new(tower::service_fn(move |req: Request<Body>| {
        let inner = inner.clone();
        let gate = gate.clone();
        let done = done.clone();
        async move {
            let mut copy = Request::new(Body::empty());
            *copy.method_mut() = req.method().clone();
            *copy.uri_mut() = req.uri().clone();
            *copy.headers_mut() = req.headers().clone();
            let res = inner.clone().oneshot(req).await?;
            let (parts, body) = res.into_parts();
            let replay = move || {
                tokio::spawn(async move {
                    gate.wait().await;
                    let res = inner.oneshot(copy).await;
                    assert!(res.is_ok_and(|r| r.status() == 200));
                    done.fire();
                });
            };
            let body = OnDrop {
                body,
                on_drop: Some(Box::new(replay)),
            };
            Ok(Response::from_parts(parts, Body::new(body)))
        }
    }))
}

#[tokio::test]
async fn a_replay_after_the_response_is_attached_with_until_handlings() {
    let d = Deproxy::new();
    let origin = d
        .endpoint()
        .handler(handlers::echo())
        .start()
        .await
        .unwrap();
    let done = Signal::new();
    let front = front_with(replay_after_response(
        upstream(origin.addr()),
        Signal::fired(),
        done.clone(),
    ))
    .await;
    let mc = d
        .make_request(front.at("/once"))
        .until_handlings(2, CLIENT_BOUND)
        .send()
        .await;
    assert_eq!(mc.status(), Some(200), "{mc:#?}");
    assert_eq!(mc.handlings.len(), 2, "{mc:#?}");
    for h in &mc.handlings {
        assert_eq!(h.request.uri(), "/once");
        assert_eq!(
            h.request.headers()[REQUEST_ID_HEADER],
            mc.request_id.as_str()
        );
    }
    assert!(mc.handlings[0].recorded_at <= mc.handlings[1].recorded_at);
    assert!(mc.orphaned_handlings.is_empty());
    tokio::time::timeout(CLIENT_BOUND, done.wait())
        .await
        .unwrap();
    assert!(d.late_handlings().is_empty());
}

#[tokio::test]
async fn a_replay_after_the_chain_closed_is_recorded_as_late() {
    let d = Deproxy::new();
    let origin = d
        .endpoint()
        .handler(handlers::echo())
        .start()
        .await
        .unwrap();
    let gate = Signal::new();
    let done = Signal::new();
    let front = front_with(replay_after_response(
        upstream(origin.addr()),
        gate.clone(),
        done.clone(),
    ))
    .await;
    let mc = d.make_request(front.at("/once")).send().await;
    assert_eq!(mc.status(), Some(200), "{mc:#?}");
    assert_eq!(mc.handlings.len(), 1, "{mc:#?}");
    // the chain is closed: now let the replay go
    gate.fire();
    tokio::time::timeout(CLIENT_BOUND, done.wait())
        .await
        .expect("the replay never completed");
    let late = d.late_handlings();
    assert_eq!(late.len(), 1, "{late:#?}");
    assert_eq!(late[0].request.uri(), "/once");
    assert_eq!(
        late[0].request.headers()[REQUEST_ID_HEADER],
        mc.request_id.as_str()
    );
    assert!(d.orphans().is_empty());
    assert_eq!(d.all_handlings().len(), 2);
}

#[tokio::test]
async fn an_upgrade_is_spliced_through_the_stack() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let d = Deproxy::new();
    let origin = d
        .endpoint()
        .handler(handlers::upgrade_echo())
        .start()
        .await
        .unwrap();
    let front = front(origin.addr()).await;
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(front.running.addr())
            .await
            .unwrap();
        s.write_all(
            b"GET /clean/ws HTTP/1.1\r\nHost: app.test\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n",
        )
        .await
        .unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 101"), "{head}");
        assert!(head.contains("\r\nupgrade: echo\r\n"), "{head}");
        s.write_all(b"ping").await.unwrap();
        let mut back = [0u8; 4];
        s.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"ping");
    };
    tokio::time::timeout(CLIENT_BOUND, exchange)
        .await
        .expect("the upgrade exchange hung");
    let all = d.all_handlings();
    assert_eq!(all.len(), 1);
    // routed and cleaned like any request; the upgrade headers survive
    assert_eq!(all[0].request.uri(), "/ws");
    assert_eq!(all[0].request.headers()[CLEANED.0], CLEANED.1);
    assert_eq!(all[0].request.headers()["upgrade"], "echo");
}
