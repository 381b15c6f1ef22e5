//! The suite the harness enables, run against a reference proxy front.
//!
//! The front is hyper-util's server (`auto::Builder`, HTTP/1.1 only, with
//! upgrades and a header read timeout) in front of a minimal forwarding
//! service on `hyper_util::client::legacy::Client`, plus the request guard
//! hyper alone does not provide (see [`guard`]). It stands in for the
//! workspace's `frontdoor-upstream` stack until that lands; the smuggling
//! corpus and the fault matrix below are written against "any proxy on a
//! TCP port" so they can be pointed at the real stack unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use frontdoor_deproxy::{
    handlers, smuggling, ClientError, ClientFault, Deproxy, Fault, Reply, ServerConnector, Signal,
};
use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, Request, Response, StatusCode, Uri, Version};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The front's upstream timeout (response head) and body idle timeout.
const UPSTREAM_TIMEOUT: Duration = Duration::from_millis(300);
/// A bound on any single client exchange: far above the front's timeouts.
const CLIENT_BOUND: Duration = Duration::from_secs(5);

// === bodies ===

/// A request body that remembers whether it failed (the client's fault, not
/// the origin's): the front then answers 400 instead of 502.
struct Flagged {
    inner: Incoming,
    failed: Arc<AtomicBool>,
}

impl Body for Flagged {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let res = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &res {
            self.failed.store(true, Ordering::SeqCst);
        }
        res
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A response body fed by a task that enforces an idle timeout between frames.
struct Channel(mpsc::Receiver<Result<Frame<Bytes>, BoxError>>);

impl Body for Channel {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.poll_recv(cx)
    }
}

fn idle_timeout_body(mut body: Incoming, idle: Duration) -> Channel {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        loop {
            let item = match tokio::time::timeout(idle, body.frame()).await {
                Ok(None) => return,
                Ok(Some(Ok(f))) => Ok(f),
                Ok(Some(Err(e))) => Err(BoxError::from(e)),
                Err(_) => Err(BoxError::from("upstream body idle timeout")),
            };
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                return;
            }
        }
    });
    Channel(rx)
}

type FrontBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

fn text(status: StatusCode, msg: &'static str) -> Response<FrontBody> {
    let mut r = Response::new(Full::new(Bytes::from(msg)).map_err(|e| match e {}).boxed());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONNECTION, http::HeaderValue::from_static("close"));
    r
}

// === the guard ===

/// What hyper's parser lets through but a front must refuse (RFC 9112 §3.2,
/// §6.1, §6.3; RFC 9110 §8.6). This list is the part of the smuggling corpus
/// the frontdoor stack has to implement itself.
fn guard(req: &Request<Incoming>) -> Result<(), StatusCode> {
    let h: &HeaderMap = req.headers();
    let hosts: Vec<_> = h.get_all(HOST).iter().collect();
    if req.version() == Version::HTTP_11 && hosts.len() != 1 {
        return Err(StatusCode::BAD_REQUEST);
    }
    if let Some(host) = hosts.first() {
        let Ok(auth) = host
            .to_str()
            .ok()
            .and_then(|s| s.parse::<http::uri::Authority>().ok())
            .ok_or(())
        else {
            return Err(StatusCode::BAD_REQUEST);
        };
        if let Some(target) = req.uri().authority() {
            if !target.as_str().eq_ignore_ascii_case(auth.as_str()) {
                return Err(StatusCode::BAD_REQUEST);
            }
        }
    }
    let cls: Vec<_> = h.get_all(CONTENT_LENGTH).iter().collect();
    let tes: Vec<_> = h.get_all(TRANSFER_ENCODING).iter().collect();
    if !tes.is_empty() && !cls.is_empty() {
        return Err(StatusCode::BAD_REQUEST);
    }
    if cls.len() > 1
        || cls
            .first()
            .is_some_and(|v| v.is_empty() || !v.as_bytes().iter().all(u8::is_ascii_digit))
    {
        return Err(StatusCode::BAD_REQUEST);
    }
    if !tes.is_empty() {
        let codings: Vec<_> = tes
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        if codings.len() != 1 {
            return Err(StatusCode::BAD_REQUEST);
        }
        if !codings[0].eq_ignore_ascii_case("chunked") {
            return Err(StatusCode::NOT_IMPLEMENTED);
        }
    }
    Ok(())
}

// === the front ===

async fn proxy(
    req: Request<Incoming>,
    client: Client<HttpConnector, Flagged>,
    origin: SocketAddr,
) -> Result<Response<FrontBody>, Infallible> {
    if let Err(status) = guard(&req) {
        return Ok(text(status, "rejected by the guard"));
    }
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    parts.uri = format!("http://{origin}{path}").parse::<Uri>().unwrap();
    parts.version = Version::HTTP_11;
    for name in [CONNECTION, TRANSFER_ENCODING] {
        parts.headers.remove(name);
    }
    let failed = Arc::new(AtomicBool::new(false));
    let body = Flagged {
        inner: body,
        failed: Arc::clone(&failed),
    };
    let sent = tokio::time::timeout(
        UPSTREAM_TIMEOUT,
        client.request(Request::from_parts(parts, body)),
    )
    .await;
    Ok(match sent {
        Err(_) => text(StatusCode::GATEWAY_TIMEOUT, "upstream timed out"),
        Ok(Err(_)) if failed.load(Ordering::SeqCst) => {
            text(StatusCode::BAD_REQUEST, "invalid request body")
        }
        Ok(Err(_)) => text(StatusCode::BAD_GATEWAY, "upstream failed"),
        Ok(Ok(resp)) => {
            let (parts, body) = resp.into_parts();
            Response::from_parts(parts, idle_timeout_body(body, UPSTREAM_TIMEOUT).boxed())
        }
    })
}

async fn spawn_front(origin: SocketAddr) -> String {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(5))
        .build_http::<Flagged>();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let client = client.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| proxy(req, client.clone(), origin));
                let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(UPSTREAM_TIMEOUT);
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

// === smuggling ===

#[tokio::test]
async fn smuggling_corpus_is_refused_and_never_forwarded() {
    let d = Deproxy::new();
    let origin = d
        .endpoint()
        .handler(handlers::echo())
        .start()
        .await
        .unwrap();
    let front = spawn_front(origin.addr()).await;

    // sanity: the front forwards a clean request
    let ok = d.make_request(&front).send().await;
    assert_eq!(ok.status(), Some(200), "{ok:#?}");
    assert_eq!(ok.handlings.len(), 1);

    let mut failures = Vec::new();
    for case in smuggling::corpus() {
        let before = d.all_handlings().len();
        let mc = d
            .make_request(&front)
            .raw(case.bytes.clone())
            .timeout(CLIENT_BOUND)
            .send()
            .await;
        let forwarded = d.all_handlings().len() - before;
        let status = mc.status();
        let refused = status.is_some_and(|s| case.expect.contains(&s)) && forwarded == 0;
        // Body-level defects arrive after the head was accepted: the front
        // may only be able to close the connection.
        let closed_ok = case.body_level
            && status.is_none()
            && forwarded == 0
            && mc.client_error != Some(ClientError::Timeout);
        // Forwarding is acceptable only for cases RFC 9112 lets a recipient
        // repair, and only once repaired: one framing header, no smuggled request.
        let normalised_ok = case.normalise_ok
            && status == Some(200)
            && forwarded == 1
            && d.all_handlings().last().is_some_and(|h| {
                let hs = h.request.headers();
                hs.get_all(CONTENT_LENGTH).iter().count() <= 1
                    && !(hs.contains_key(CONTENT_LENGTH) && hs.contains_key(TRANSFER_ENCODING))
            });
        if !(refused || closed_ok || normalised_ok) {
            failures.push(format!(
                "{}: status {status:?}, forwarded {forwarded}, error {:?}",
                case.name, mc.client_error
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        !d.all_handlings()
            .iter()
            .any(|h| h.request.uri().path() == "/smuggled"),
        "a smuggled request reached the origin"
    );
}

// === faults through the front ===

async fn through_front(
    fault: Fault,
) -> (frontdoor_deproxy::MessageChain, frontdoor_deproxy::Endpoint) {
    let d = Deproxy::new();
    let origin = d
        .endpoint()
        .connector(ServerConnector::Raw)
        .handler(move |_req: Request<Bytes>| {
            let fault = fault.clone();
            async move { Reply::text(200, "0123456789").fault(fault) }
        })
        .start()
        .await
        .unwrap();
    let front = spawn_front(origin.addr()).await;
    let mc = d.make_request(front).timeout(CLIENT_BOUND).send().await;
    (mc, origin)
}

#[tokio::test]
async fn head_faults_become_502_or_504_without_hanging() {
    let cases = [
        (Fault::StallAfterStatusLine, 504),
        (Fault::StallMidHeaders, 504),
        (Fault::slow_headers(Duration::from_secs(3)), 504),
        (Fault::CloseWithoutResponse { reset: false }, 502),
        (Fault::reset(), 502),
        (Fault::garbage(), 502),
    ];
    for (fault, want) in cases {
        let (mc, _origin) = through_front(fault.clone()).await;
        assert_eq!(mc.status(), Some(want), "{fault:?}: {mc:#?}");
        assert_eq!(
            mc.handlings.len(),
            1,
            "{fault:?}: the origin saw the request"
        );
        assert_eq!(mc.handlings[0].response.status(), 200);
        assert!(mc.elapsed < CLIENT_BOUND, "{fault:?} hung");
    }
}

#[tokio::test]
async fn body_faults_abort_the_client_body() {
    let cases = [
        Fault::StallAfterHeaders,
        Fault::StallMidBody { after: 4 },
        Fault::CloseMidBody {
            after: 4,
            reset: false,
        },
        Fault::CloseMidBody {
            after: 4,
            reset: true,
        },
        Fault::ContentLength { declared: 20 },
    ];
    for fault in cases {
        let (mc, _origin) = through_front(fault.clone()).await;
        // headers were committed: the status passes, the body is cut short
        assert_eq!(mc.status(), Some(200), "{fault:?}: {mc:#?}");
        assert!(
            matches!(mc.client_error, Some(ClientError::BodyAborted(_))),
            "{fault:?}: {mc:#?}"
        );
        assert!(mc.elapsed < CLIENT_BOUND, "{fault:?} hung");
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
        let (mc, _origin) = through_front(fault.clone()).await;
        assert_eq!(mc.status(), Some(200), "{fault:?}: {mc:#?}");
        assert_eq!(mc.received_response.unwrap().body(), "0123456789");
    }
    // a short Content-Length: the trailing bytes are dropped, never parsed
    // as a second response
    let (mc, _origin) = through_front(Fault::ContentLength { declared: 4 }).await;
    assert_eq!(mc.status(), Some(200));
    assert_eq!(mc.received_response.unwrap().body(), "0123");
}

#[tokio::test]
async fn a_silent_upstream_is_abandoned_after_the_timeout() {
    let (mc, origin) = through_front(Fault::DelayHead(Duration::from_secs(60))).await;
    assert_eq!(mc.status(), Some(504));
    let _ = origin;
}

/// Finding: after the front gives up (504), hyper-util's legacy client keeps
/// the upstream connection open when part of the response head was already
/// read; the connection task lingers until the origin closes. The real
/// upstream service must bound this (connection-level read timeout).
#[tokio::test]
#[ignore = "known hyper-util legacy client behaviour; run against frontdoor-upstream"]
async fn a_stalled_upstream_connection_is_closed_after_the_timeout() {
    let (mc, origin) = through_front(Fault::StallAfterStatusLine).await;
    assert_eq!(mc.status(), Some(504));
    tokio::time::timeout(CLIENT_BOUND, origin.wait_for_peer_closes(1))
        .await
        .expect("the front never closed the stalled upstream connection");
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
                // keep the upstream exchange open until the front gives up
                Reply::status(200).fault(Fault::StallAfterStatusLine)
            },
        ))
        .start()
        .await
        .unwrap();
    let front = spawn_front(origin.addr()).await;
    let mc = d
        .make_request(front)
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
    let origin = d
        .endpoint()
        .handler(handlers::echo())
        .start()
        .await
        .unwrap();
    let front = spawn_front(origin.addr()).await;
    let id = d.new_request_id();
    let one = |path: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: front\r\nx-path: {path}\r\ndeproxy-request-id: {id}\r\n\r\n")
    };
    let raw = format!("{}{}{}", one("/1"), one("/2"), one("/3"));
    let mc = d
        .make_request(front)
        .raw(raw)
        .request_id(id)
        .expect_responses(3)
        .send()
        .await;
    let mut paths = vec![mc.received_response.as_ref().unwrap().headers()["x-path"].clone()];
    paths.extend(
        mc.pipelined_responses
            .iter()
            .map(|r| r.headers()["x-path"].clone()),
    );
    assert_eq!(paths, ["/1", "/2", "/3"]);
    let origin_order: Vec<_> = mc
        .handlings
        .iter()
        .map(|h| h.request.uri().path().to_owned())
        .collect();
    assert_eq!(origin_order, ["/1", "/2", "/3"]);
}

#[tokio::test]
async fn request_and_response_modifications_are_visible() {
    let d = Deproxy::new();
    let origin = d
        .endpoint()
        .handler(handlers::echo())
        .start()
        .await
        .unwrap();
    let front = spawn_front(origin.addr()).await;
    let mc = d
        .make_request(format!("{front}/a?b=c"))
        .header("connection", "close")
        .send()
        .await;
    let h = mc.single_handling();
    assert_eq!(h.request.uri(), "/a?b=c");
    // the front strips `Connection` before forwarding
    assert!(mc
        .sent_request
        .as_ref()
        .unwrap()
        .headers()
        .contains_key("connection"));
    assert!(!h.request.headers().contains_key("connection"));
}

#[tokio::test]
async fn slow_upload_is_forwarded_whole() {
    let d = Deproxy::new();
    let origin = d
        .endpoint()
        .handler(handlers::echo())
        .start()
        .await
        .unwrap();
    let front = spawn_front(origin.addr()).await;
    let mc = d
        .make_request(front)
        .method(http::Method::POST)
        .body("abcdefghij")
        .fault(ClientFault::SlowUpload {
            chunk: 2,
            every: Duration::from_millis(1),
        })
        .send()
        .await;
    assert_eq!(mc.status(), Some(200));
    assert_eq!(mc.single_handling().request.body(), "abcdefghij");
}

#[tokio::test]
async fn partial_head_hits_the_header_read_timeout() {
    let d = Deproxy::new();
    let origin = d.add_endpoint().await.unwrap();
    let front = spawn_front(origin.addr()).await;
    let mc = d
        .make_request(front)
        .fault(ClientFault::Partial { bytes: 12 })
        .timeout(CLIENT_BOUND)
        .send()
        .await;
    // hyper answers 408 or closes; either way, well before the client bound
    assert!(mc.elapsed < CLIENT_BOUND, "{mc:#?}");
    assert!(matches!(mc.status(), None | Some(408)), "{mc:#?}");
    assert_eq!(origin.requests_seen(), 0);
}
