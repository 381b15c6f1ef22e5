//! The layer end to end over `service_fn` upstreams: spec 2.9.2's exchanges with the
//! 4.5 fixes, open redirects, streaming, caps.

mod codings;
mod exchanges;
mod streaming;

use std::{
    collections::VecDeque,
    convert::Infallible,
    pin::Pin,
    sync::{mpsc, Arc},
    task::{Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError, Mount, Resolved};
use http::{HeaderMap, Request, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use tower::{service_fn, util::BoxCloneSyncService, Layer, ServiceExt};

use crate::{Relocate, RelocateLayer, ResponseFuture};

/// What the upstream received.
#[derive(Debug)]
pub(super) struct Seen {
    pub(super) method: http::Method,
    pub(super) uri: http::Uri,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

/// A body of scripted frames (data and trailers), delivered one per poll.
#[derive(Debug)]
pub(super) struct Frames(pub(super) VecDeque<Result<Frame<Bytes>, BoxError>>);

impl Frames {
    pub(super) fn data(chunks: &[&[u8]]) -> Self {
        Self(
            chunks
                .iter()
                .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                .collect(),
        )
    }
}

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.0.pop_front())
    }
}

/// A scripted upstream response: status, headers, body frames.
#[derive(Clone, Debug)]
pub(super) struct Script {
    pub(super) status: u16,
    pub(super) headers: Vec<(&'static str, String)>,
    pub(super) chunks: Vec<Bytes>,
}

impl Script {
    pub(super) fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            chunks: Vec::new(),
        }
    }

    pub(super) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The body in one frame, with its `Content-Length`.
    pub(super) fn body(self, body: &str) -> Self {
        let len = body.len().to_string();
        self.header("content-length", len)
            .chunks(&[body.as_bytes()])
    }

    pub(super) fn chunks(mut self, chunks: &[&[u8]]) -> Self {
        self.chunks = chunks.iter().map(|c| Bytes::copy_from_slice(c)).collect();
        self
    }

    fn response(&self) -> Response<Body> {
        let mut res = Response::new(Body::new(Frames(
            self.chunks
                .iter()
                .map(|c| Ok(Frame::data(c.clone())))
                .collect(),
        )));
        *res.status_mut() = http::StatusCode::from_u16(self.status).unwrap();
        for (k, v) in &self.headers {
            res.headers_mut().append(*k, v.parse().unwrap());
        }
        res
    }
}

pub(super) type Svc = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// An upstream that answers `script` and reports what it received.
pub(super) fn upstream(script: Script) -> (Svc, mpsc::Receiver<Seen>) {
    let (tx, rx) = mpsc::channel();
    let script = Arc::new(script);
    let svc = service_fn(move |req: Request<Body>| {
        let tx = tx.clone();
        let script = Arc::clone(&script);
        async move {
            let (parts, body) = req.into_parts();
            let body = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            let _ = tx.send(Seen {
                method: parts.method,
                uri: parts.uri,
                headers: parts.headers,
                body,
            });
            Ok::<_, Infallible>(script.response())
        }
    });
    (BoxCloneSyncService::new(svc), rx)
}

/// A request as the resolver and router leave it: `public` is the resolved
/// `host:port:path`, `script_name` the consumed prefix.
pub(super) fn routed(method: &str, public: &str, script_name: &str) -> http::request::Builder {
    let resolved: Resolved = public.parse().unwrap();
    let path_info = resolved.path.strip_prefix(script_name).unwrap().to_owned();
    let uri = if path_info.is_empty() {
        "/".to_owned()
    } else {
        path_info.clone()
    };
    Request::builder()
        .method(method)
        .uri(uri)
        .extension(resolved)
        .extension(Mount::new(script_name, path_info))
}

/// Runs one exchange: the client's response (collected) and what the upstream saw.
pub(super) async fn exchange(
    layer: RelocateLayer,
    script: Script,
    req: Request<Body>,
) -> (Response<Result<Bytes, BoxError>>, Option<Seen>) {
    let (svc, rx) = upstream(script);
    let res = layer.layer(svc).oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(Into::into);
    (Response::from_parts(parts, body), rx.try_recv().ok())
}

pub(super) fn text(res: &Response<Result<Bytes, BoxError>>) -> String {
    String::from_utf8(res.body().as_ref().unwrap().to_vec()).unwrap()
}

#[test]
fn public_types_are_send_sync_clone() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    send_sync_clone::<RelocateLayer>();
    send_sync_clone::<Relocate<Svc>>();
    send_sync_clone::<crate::Relocation>();
    send_sync_clone::<crate::Root>();
    send::<ResponseFuture<Svc, <Svc as tower::Service<Request<Body>>>::Future>>();
    send::<crate::RewriteError>();
}

/// A service that refuses to be called unless this very instance was polled ready.
#[derive(Debug, Default)]
struct ReadyOnce {
    ready: bool,
}

impl Clone for ReadyOnce {
    fn clone(&self) -> Self {
        Self { ready: false }
    }
}

impl tower::Service<Request<Body>> for ReadyOnce {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<Body>) -> Self::Future {
        assert!(std::mem::take(&mut self.ready), "called without poll_ready");
        std::future::ready(Ok(Response::new(Body::empty())))
    }
}

/// R8: the instance that was polled ready is the one called, also when the call
/// waits for the request body (the ready service is moved into the future).
#[tokio::test(flavor = "current_thread")]
async fn readiness_is_honoured() {
    use tower::Service;

    let layer =
        RelocateLayer::new(crate::Profile::WebDav).remote_root("http://o/r".parse().unwrap());
    let mut svc = layer.layer(ReadyOnce::default());
    for with_body in [false, true, true] {
        let mut req = routed("PROPFIND", "p:80:/l/x", "/l");
        if with_body {
            req = req.header("content-type", "text/xml");
        }
        let body = if with_body {
            Body::from("<D:href xmlns:D=\"DAV:\">/l/y</D:href>")
        } else {
            Body::empty()
        };
        let svc = ServiceExt::<Request<Body>>::ready(&mut svc).await.unwrap();
        let res = svc.call(req.body(body).unwrap()).await.unwrap();
        assert_eq!(res.status(), 200);
    }
}
