//! Server-level identity of every request: request IDs and W3C trace context.
//!
//! * [`RequestIdLayer`]: a request ID header (`x-request-id` by default) is kept when
//!   a trusted proxy sent it (the resolver's [`PeerTrust`]; or any client, when told
//!   to trust them) and it is sane (1 to 128 printable bytes); otherwise a new UUID v4
//!   replaces it. The ID goes to the upstream in the same header (and to a mirror's
//!   shadow, which copies the request), comes back on every response, and is the
//!   [`RequestId`] extension of the request and the response.
//! * [`TraceContextLayer`]: a `traceparent` from a trusted proxy is continued (same
//!   trace, the caller's span as the parent, its sampled flag honoured, its
//!   `tracestate` passed on); anything else starts a new trace, sampled at a ratio.
//!   The request then carries the front door's own server span as `traceparent`, and
//!   [`TraceContext`] is an extension of the request and the response.
//! * [`UpstreamSpanLayer`], in front of an upstream client: each call is a new span
//!   of the trace, and the upstream's `traceparent` names it as the parent.
//!
//! Both server-level layers go inside the resolver (they read its trust decision)
//! and outside the router, so the front door's own answers (404, 429, 502 to 504)
//! carry the ID too.
//!
//! ```
//! use frontdoor::{core::{PeerTrust, RequestId, TraceContext}, telemetry::{RequestIdLayer, TraceContextLayer}, Body};
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let svc = ServiceBuilder::new()
//!     .layer(RequestIdLayer::new())
//!     .layer(TraceContextLayer::new())
//!     .service_fn(|req: Request<Body>| async move {
//!         let traceparent = req.headers()["traceparent"].to_str().unwrap().to_owned();
//!         Ok::<_, std::convert::Infallible>(Response::new(Body::from(traceparent)))
//!     });
//! let mut req = Request::new(Body::empty());
//! req.headers_mut().insert("x-request-id", "from-a-client".parse().unwrap());
//! let res = svc.oneshot(req).await.unwrap();
//! // An untrusted client's ID is replaced by a UUID.
//! let id = res.extensions().get::<RequestId>().unwrap();
//! assert_ne!(id.0, "from-a-client");
//! assert_eq!(res.headers()["x-request-id"], id.0);
//! assert_eq!(id.0.len(), 36);
//! let cx = res.extensions().get::<TraceContext>().unwrap();
//! assert!(cx.parent_id().is_none());
//! # }
//! ```

mod export;
mod ids;
mod upstream_span;

use self::ids::{random16, random8, uuid_v4};
pub use self::{
    export::{AttrValue, ExportConfig, Kind, OtlpExporter, SpanRecord},
    ids::{TRACEPARENT, TRACESTATE, X_REQUEST_ID},
    upstream_span::{UpstreamSpan, UpstreamSpanFuture, UpstreamSpanLayer},
};

use std::{
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
    time::SystemTime,
};

use frontdoor_core::{ConnInfo, PeerTrust, RequestId, Resolved, TraceContext};
use http::{header::HeaderName, HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

// === RequestIdLayer ===

/// Keeps or sets each request's ID. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct RequestIdLayer {
    header: HeaderName,
    trust_all: bool,
}

impl Default for RequestIdLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestIdLayer {
    /// `x-request-id`, kept from trusted proxies only.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            header: X_REQUEST_ID,
            trust_all: false,
        }
    }

    /// The ID's header instead of `x-request-id`.
    #[must_use]
    pub fn header(mut self, header: HeaderName) -> Self {
        self.header = header;
        self
    }

    /// Keeps a sane ID from any client, not only from trusted proxies.
    #[must_use]
    pub const fn trust_all(mut self, trust: bool) -> Self {
        self.trust_all = trust;
        self
    }
}

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`RequestIdLayer`].
#[derive(Clone, Debug)]
pub struct RequestIdService<S> {
    inner: S,
    layer: RequestIdLayer,
}

impl<S, B, ResB> Service<Request<B>> for RequestIdService<S>
where
    S: Service<Request<B>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = RequestIdFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let trusted = self.layer.trust_all || PeerTrust::is_trusted(&req);
        let header = &self.layer.header;
        let id = match req.headers().get(header) {
            Some(v) if trusted && RequestId::is_sane(v) => v.clone(),
            _ => uuid_v4(),
        };
        req.headers_mut().insert(header.clone(), id.clone());
        req.extensions_mut().insert(RequestId(id.clone()));
        RequestIdFuture {
            inner: self.inner.call(req),
            id: Some((header.clone(), id)),
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`RequestIdService`].
    pub struct RequestIdFuture<F> {
        #[pin]
        inner: F,
        id: Option<(HeaderName, HeaderValue)>,
    }
}

impl<F, ResB, E> Future for RequestIdFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = ready!(this.inner.poll(cx))?;
        if let Some((header, id)) = this.id.take() {
            res.headers_mut().insert(header, id.clone());
            res.extensions_mut().insert(RequestId(id));
        }
        Poll::Ready(Ok(res))
    }
}

// === TraceContextLayer ===

/// Continues or starts each request's trace, and records its server span when it is
/// sampled and an exporter is set. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct TraceContextLayer {
    trust_client: bool,
    sample_ratio: f64,
    exporter: Option<OtlpExporter>,
}

impl Default for TraceContextLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl TraceContextLayer {
    /// Continues traces from trusted proxies only; new traces are all sampled.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            trust_client: false,
            sample_ratio: 1.0,
            exporter: None,
        }
    }

    /// Records each sampled request's server span to `exporter`.
    #[must_use]
    pub fn exporter(mut self, exporter: Option<OtlpExporter>) -> Self {
        self.exporter = exporter;
        self
    }

    /// Continues a `traceparent` from any client, not only from trusted proxies.
    #[must_use]
    pub fn trust_client(mut self, trust: bool) -> Self {
        self.trust_client = trust;
        self
    }

    /// The fraction of new traces sampled (clamped to 0..=1); a continued trace
    /// keeps its caller's decision.
    #[must_use]
    pub fn sample_ratio(mut self, ratio: f64) -> Self {
        self.sample_ratio = ratio.clamp(0.0, 1.0);
        self
    }

    /// The context of `req`: continued from its `traceparent` when trusted, else new.
    fn context<B>(&self, req: &Request<B>) -> TraceContext {
        let trusted = self.trust_client || PeerTrust::is_trusted(req);
        let parent = req
            .headers()
            .get(TRACEPARENT)
            .filter(|_| trusted)
            .and_then(|v| TraceContext::parse_traceparent(v.as_bytes()));
        match parent {
            Some((trace_id, parent_id, flags)) => {
                let state = req.headers().get(TRACESTATE).cloned();
                TraceContext::continued(trace_id, parent_id, flags, random8(), state)
            }
            None => {
                let trace_id = random16();
                // The trace ID's last bytes are random: they decide the sampling, so
                // every span of a trace decides alike.
                let roll = u16::from_be_bytes([trace_id[14], trace_id[15]]);
                let sampled = f64::from(roll) < self.sample_ratio * 65536.0;
                TraceContext::started(trace_id, random8(), sampled)
            }
        }
    }
}

impl<S> Layer<S> for TraceContextLayer {
    type Service = TraceContextService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceContextService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`TraceContextLayer`].
#[derive(Clone, Debug)]
pub struct TraceContextService<S> {
    inner: S,
    layer: TraceContextLayer,
}

impl<S, B, ResB> Service<Request<B>> for TraceContextService<S>
where
    S: Service<Request<B>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = TraceFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let cx = self.layer.context(&req);
        let headers = req.headers_mut();
        headers.insert(TRACEPARENT, cx.traceparent(cx.span_id()));
        match cx.state() {
            Some(state) => headers.insert(TRACESTATE, state.clone()),
            None => headers.remove(TRACESTATE),
        };
        let span = self
            .layer
            .exporter
            .clone()
            .filter(|_| cx.sampled())
            .map(|exporter| ServerSpan::start(&req, exporter));
        req.extensions_mut().insert(cx.clone());
        TraceFuture {
            inner: self.inner.call(req),
            cx: Some(cx),
            span,
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`TraceContextService`].
    pub struct TraceFuture<F> {
        #[pin]
        inner: F,
        cx: Option<TraceContext>,
        span: Option<ServerSpan>,
    }
}

impl<F, ResB, E> Future for TraceFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = ready!(this.inner.poll(cx))?;
        if let Some(trace) = this.cx.take() {
            if let Some(span) = this.span.take() {
                span.end(&trace, &res);
            }
            res.extensions_mut().insert(trace);
        }
        Poll::Ready(Ok(res))
    }
}

// === spans ===

/// A server span being recorded: what is known when the request arrives.
#[derive(Debug)]
struct ServerSpan {
    exporter: OtlpExporter,
    start: SystemTime,
    method: String,
    path: String,
    host: Option<String>,
    client: Option<String>,
    request_id: Option<String>,
}

impl ServerSpan {
    fn start<B>(req: &Request<B>, exporter: OtlpExporter) -> Self {
        let client = req
            .extensions()
            .get::<PeerTrust>()
            .map(|t| t.client.to_string())
            .or_else(|| {
                req.extensions()
                    .get::<ConnInfo>()
                    .map(|c| c.remote.ip().to_string())
            });
        Self {
            exporter,
            start: SystemTime::now(),
            method: req.method().to_string(),
            path: req.uri().path().to_owned(),
            host: req.extensions().get::<Resolved>().map(|r| r.host.clone()),
            client,
            request_id: req
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.0.to_str().ok())
                .map(str::to_owned),
        }
    }

    fn end<B>(self, cx: &TraceContext, res: &Response<B>) {
        let served = res.extensions().get::<crate::plan::Served>();
        let route = served.map_or("none", |s| &s.route);
        let status = res.status().as_u16();
        let mut attributes = vec![
            ("http.request.method", AttrValue::Str(self.method.clone())),
            ("url.path", AttrValue::Str(self.path)),
            ("frontdoor.route", AttrValue::Str(route.to_owned())),
            (
                "http.response.status_code",
                AttrValue::Int(i64::from(status)),
            ),
        ];
        if let Some(spec) = served.and_then(|s| s.spec.as_deref()) {
            attributes.push(("http.route", AttrValue::Str(spec.to_owned())));
        }
        if let Some(host) = self.host {
            attributes.push(("server.address", AttrValue::Str(host)));
        }
        if let Some(client) = self.client {
            attributes.push(("client.address", AttrValue::Str(client)));
        }
        if let Some(id) = self.request_id {
            attributes.push(("frontdoor.request_id", AttrValue::Str(id)));
        }
        let bytes = res
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<i64>().ok());
        if let Some(bytes) = bytes {
            attributes.push(("http.response.body.size", AttrValue::Int(bytes)));
        }
        self.exporter.record(SpanRecord {
            trace_id: cx.trace_id(),
            span_id: cx.span_id(),
            parent_id: cx.parent_id(),
            name: format!("{} {route}", self.method),
            kind: Kind::Server,
            start: self.start,
            end: SystemTime::now(),
            attributes,
            error: status >= 500,
        });
    }
}
