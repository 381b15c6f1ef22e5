//! Operations: the access log, Prometheus metrics and the admin endpoints.
//!
//! [`ObserveLayer`] sits outermost. Route services built by the CLI tag their
//! responses with a [`Served`] extension (route label, upstream, resolved
//! `host:port:path`), which this layer reads to write one access-log line per
//! request and to count requests by route and status class.

use std::{
    convert::Infallible,
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, OnceLock},
    task::{ready, Context, Poll},
    time::{Duration, SystemTime},
};

pub use frontdoor::plan::Served;
use frontdoor::{
    plan::{HealthRow, Observer},
    relocate::RelocateEvent,
    serve::Drain,
    upstream::ProxyError,
    Body,
};
use frontdoor_core::{text_response, RequestId, TraceContext};
use frontdoor_mirror::MirrorStats;
use http::{header, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body::Body as _;
use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use tokio::time::Instant;
use tower::{util::BoxCloneSyncService, Layer, Service};

use crate::{
    logging::AccessLine,
    mirror_metrics::MirrorCounters,
    relocate_metrics::RelocationCounters,
    tls::{seconds_until, CertRow},
    traffic_metrics::TrafficMetrics,
};

/// A route's request counters (per status class) and latency histogram, looked up in
/// their families on first use and then kept: the per-request path does not build
/// label sets or hash them.
#[derive(Debug, Default)]
struct RouteHandles {
    /// `1xx` to `5xx`.
    requests: [OnceLock<Counter>; 5],
    latency: OnceLock<Histogram>,
}

type Labels = Vec<(&'static str, String)>;

/// The metric families of a running front door, shared by its clones.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<Labels, Counter>,
    upstream_errors: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    in_flight: Gauge,
    reloads: Family<Labels, Counter>,
    mirrors: MirrorCounters,
    tls_expiry: Family<Labels, Gauge>,
    spans_dropped: Counter,
    relocation: RelocationCounters,
    traffic: TrafficMetrics,
    /// The certificates served and their expiry; the gauge is computed at scrape.
    certificates: Arc<parking_lot::Mutex<Vec<(Labels, SystemTime)>>>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 16,
    ))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// `frontdoor_trace_spans_dropped_total`, registered in `registry`.
fn spans_dropped_counter(registry: &mut Registry) -> Counter {
    let counter = Counter::default();
    registry.register(
        "trace_spans_dropped",
        "Spans not exported: the export queue was full (a collector down or slow)",
        counter.clone(),
    );
    counter
}

/// The plan reports upstream failures (counted by kind) and asks for each route's
/// mirror counters.
impl Observer for Metrics {
    fn upstream_error(&self, _route: &str, error: &ProxyError) {
        Self::upstream_error(self, error.kind().as_str());
    }

    fn spans_dropped(&self, n: u64) {
        self.spans_dropped.inc_by(n);
    }

    fn rate_limited(&self, route: &str) {
        self.traffic.rate_limited(route);
    }

    fn mirror_stats(&self, route: &str) -> Option<MirrorStats> {
        Some(Self::mirror_stats(self, route))
    }

    fn relocate_event(&self, route: &str, event: &RelocateEvent) {
        self.relocation.count(route, event);
    }

    fn upstream_health(&self, route: &str, upstream: &str, healthy: bool) {
        self.traffic.health(route, upstream, healthy);
    }

    fn upstream_gone(&self, route: &str, upstream: &str) {
        self.traffic.gone(route, upstream);
    }
}

impl Metrics {
    /// Fresh metrics, all zero, registered under the `frontdoor` prefix.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("frontdoor");
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by route and status class",
            requests.clone(),
        );
        let upstream_errors = Family::<Labels, Counter>::default();
        registry.register(
            "upstream_errors",
            "Upstream failures, by error kind",
            upstream_errors.clone(),
        );
        let latency = Family::<Labels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "request_duration_seconds",
            "Time to the response head, by route",
            latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "in_flight_requests",
            "Requests being served",
            in_flight.clone(),
        );
        let reloads = Family::<Labels, Counter>::default();
        registry.register(
            "config_reloads",
            "Config reloads, by result",
            reloads.clone(),
        );
        let mirrors = MirrorCounters::default();
        registry.register_collector(Box::new(mirrors.clone()));
        let tls_expiry = Family::<Labels, Gauge>::default();
        registry.register(
            "tls_certificate_expiry_seconds",
            "Seconds until a served certificate expires (negative once expired), by [[tls]] entry",
            tls_expiry.clone(),
        );
        let spans_dropped = spans_dropped_counter(&mut registry);
        let relocation = RelocationCounters::register(&mut registry);
        let traffic = TrafficMetrics::register(&mut registry);
        Self {
            relocation,
            registry: Arc::new(registry),
            spans_dropped,
            requests,
            upstream_errors,
            latency,
            in_flight,
            reloads,
            mirrors,
            tls_expiry,
            traffic,
            certificates: Arc::default(),
        }
    }

    /// The certificates being served, for the expiry gauge (replacing the previous
    /// ones: a reload that drops a certificate drops its series).
    pub fn set_certificates(&self, rows: &[CertRow]) {
        let mut certificates = self.certificates.lock();
        *certificates = rows
            .iter()
            .map(|row| {
                let labels = vec![
                    ("cert", row.key.clone()),
                    ("file", row.file.display().to_string()),
                ];
                (labels, row.not_after)
            })
            .collect();
        self.tls_expiry.clear();
    }

    /// The health checks' verdicts as `rows` (a plan's `upstream_health()`), replacing
    /// every `frontdoor_upstream_healthy` series: after a reload, the series of routes
    /// and upstreams the new plan no longer has are gone.
    pub fn set_upstream_health(&self, rows: &[HealthRow]) {
        self.traffic.replace_health(rows);
    }

    /// Counts an upstream failure of `kind` (a
    /// [`ProxyErrorKind`](frontdoor_upstream::ProxyErrorKind) name).
    pub fn upstream_error(&self, kind: &str) {
        self.upstream_errors
            .get_or_create(&vec![("kind", kind.to_owned())])
            .inc();
    }

    /// The mirror counters of the target labelled `label` (its name, `route[N]`, `default`),
    /// shared by every build of that target so totals survive reloads; exposed as
    /// `frontdoor_mirror_*` on `/metrics`.
    #[must_use]
    pub fn mirror_stats(&self, label: &str) -> MirrorStats {
        self.mirrors.stats(label)
    }

    /// Counts a reload that was applied.
    pub fn reload_applied(&self) {
        self.count_reload("ok");
    }

    /// Counts a reload that was rejected (the old config keeps serving).
    pub fn reload_rejected(&self) {
        self.count_reload("error");
    }

    fn count_reload(&self, result: &str) {
        self.reloads
            .get_or_create(&vec![("result", result.to_owned())])
            .inc();
    }

    /// The Prometheus (OpenMetrics) text exposition.
    #[must_use]
    pub fn render(&self) -> String {
        let now = SystemTime::now();
        for (labels, not_after) in self.certificates.lock().iter() {
            self.tls_expiry
                .get_or_create(labels)
                .set(seconds_until(*not_after, now));
        }
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

// === ObserveLayer ===

/// The outermost layer: access log, request metrics, in-flight gauge.
#[derive(Clone, Debug)]
#[must_use]
pub struct ObserveLayer {
    metrics: Metrics,
}

impl ObserveLayer {
    /// The layer, counting into `metrics`.
    pub const fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            metrics: Arc::new(self.metrics.clone()),
        }
    }
}

/// Writes the access log and counts requests. See [`ObserveLayer`].
#[derive(Clone, Debug)]
pub struct Observe<S> {
    inner: S,
    /// Shared by the requests in flight: one reference count per request, not one
    /// per metric family.
    metrics: Arc<Metrics>,
}

impl<S> Service<Request<Body>> for Observe<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ObserveFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let pending = Pending {
            start: Instant::now(),
            method: req.method().clone(),
            target: req.uri().clone(),
            metrics: self.metrics.clone(),
            answered: false,
        };
        pending.metrics.in_flight.inc();
        ObserveFuture {
            inner: self.inner.call(req),
            pending: Some(pending),
        }
    }
}

/// A request between its arrival and its response head. Dropped, it leaves the
/// in-flight gauge; dropped unanswered (the client went away, the connection was
/// closed by a timeout or shutdown), it is logged and counted as cancelled.
struct Pending {
    start: Instant,
    method: Method,
    target: Uri,
    metrics: Arc<Metrics>,
    answered: bool,
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.metrics.in_flight.dec();
        if !self.answered {
            record_cancelled(self);
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`Observe`]: logs and counts the request at its response
    /// head, or as cancelled when dropped before it.
    pub struct ObserveFuture<F> {
        #[pin]
        inner: F,
        pending: Option<Pending>,
    }
}

impl<F> Future for ObserveFuture<F>
where
    F: Future<Output = Result<Response<Body>, Infallible>>,
{
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(res) = ready!(this.inner.poll(cx));
        if let Some(mut pending) = this.pending.take() {
            pending.answered = true;
            record(
                &pending.metrics,
                &pending.method,
                &pending.target,
                &res,
                pending.start.elapsed(),
            );
        }
        Poll::Ready(Ok(res))
    }
}

impl<F> fmt::Debug for ObserveFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObserveFuture").finish_non_exhaustive()
    }
}

fn record(metrics: &Metrics, method: &Method, target: &Uri, res: &Response<Body>, took: Duration) {
    let served = res.extensions().get::<Served>();
    let route = served.map_or("none", |s| &s.route);
    let upstream = served.map_or("-", |s| &s.upstream);
    let resolved = served.and_then(|s| s.resolved.as_deref()).unwrap_or("-");
    let status = res.status();
    count(metrics, served, route, status, took);
    let bytes = res.body().size_hint().exact();
    let request_id = res.extensions().get::<RequestId>();
    let request_id = request_id.and_then(|id| id.0.to_str().ok()).unwrap_or("-");
    let trace_id = res
        .extensions()
        .get::<TraceContext>()
        .map(TraceContext::trace_id_hex);
    AccessLine {
        method,
        target,
        resolved,
        route,
        upstream,
        request_id,
        trace_id: trace_id.as_deref().unwrap_or("-"),
        status: status.as_u16(),
        bytes: bytes.map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX)),
        duration: took,
        cancelled: false,
    }
    .log();
}

/// Counts a request of `route` answered with `status` after `took`: through the
/// route's cached handles when `served` has them, else in the families.
fn count(
    metrics: &Metrics,
    served: Option<&Served>,
    route: &str,
    status: StatusCode,
    took: Duration,
) {
    let class = status.as_u16() / 100;
    let handles = served.and_then(|s| s.cached(RouteHandles::default));
    let counter = || {
        let labels = vec![
            ("route", route.to_owned()),
            ("status", format!("{class}xx")),
        ];
        metrics.requests.get_or_create(&labels).clone()
    };
    match handles.and_then(|h| h.requests.get(usize::from(class).wrapping_sub(1))) {
        Some(cached) => cached.get_or_init(counter).inc(),
        None => counter().inc(),
    };
    let histogram = || {
        let labels = vec![("route", route.to_owned())];
        metrics.latency.get_or_create(&labels).clone()
    };
    match handles {
        Some(h) => h.latency.get_or_init(histogram).observe(took.as_secs_f64()),
        None => histogram().observe(took.as_secs_f64()),
    }
}

/// The access-log line and count of a request dropped before its response head:
/// status 499 (nginx's "client closed request"), counted with `status="cancelled"`.
fn record_cancelled(pending: &Pending) {
    pending
        .metrics
        .requests
        .get_or_create(&vec![
            ("route", "none".to_owned()),
            ("status", "cancelled".to_owned()),
        ])
        .inc();
    AccessLine {
        method: &pending.method,
        target: &pending.target,
        resolved: "-",
        route: "none",
        upstream: "-",
        request_id: "-",
        trace_id: "-",
        status: 499,
        bytes: -1,
        duration: pending.start.elapsed(),
        cancelled: true,
    }
    .log();
}

// === admin ===

/// The admin service: `/metrics`, `/routes` (the table `routes` returns), `/healthz`
/// (`200 ok`, or `503 draining` once `drain` has started: from the shutdown signal
/// on, while the front listeners still serve for the drain delay, so that balancers
/// take the instance out before they close).
pub fn admin(
    metrics: Metrics,
    routes: impl Fn() -> String + Clone + Send + Sync + 'static,
    drain: Drain,
) -> BoxCloneSyncService<Request<Body>, Response<Body>, Infallible> {
    BoxCloneSyncService::new(tower::service_fn(move |req: Request<Body>| {
        let res = match (req.method(), req.uri().path()) {
            (&Method::GET, "/metrics") => {
                let mut res = Response::new(Body::from(metrics.render()));
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    ),
                );
                res
            }
            (&Method::GET, "/routes") => text_response(StatusCode::OK, routes()),
            (&Method::GET, "/healthz") if drain.is_draining() => {
                text_response(StatusCode::SERVICE_UNAVAILABLE, "draining")
            }
            (&Method::GET, "/healthz") => text_response(StatusCode::OK, "ok"),
            (_, "/metrics" | "/routes" | "/healthz") => {
                text_response(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
            }
            _ => text_response(StatusCode::NOT_FOUND, "Not Found"),
        };
        std::future::ready(Ok::<_, Infallible>(res))
    }))
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn observe_counts_by_route_and_status_class() {
        let metrics = Metrics::new();
        // One tag for the route, cloned per request as the route's tag layer does: its
        // cached metric handles count into the same families.
        let tag = Served::new("route[0]", "builtin:echo");
        let inner = tower::service_fn(move |req: Request<Body>| {
            let tag = tag.clone();
            async move {
                let status = match req.uri().path() {
                    "/missing" => StatusCode::NOT_FOUND,
                    "/odd" => StatusCode::from_u16(799).unwrap(),
                    _ => StatusCode::OK,
                };
                let mut res = text_response(status, "x");
                let mut served = tag;
                served.resolved = Some("h:80:/".into());
                res.extensions_mut().insert(served);
                Ok::<_, Infallible>(res)
            }
        });
        let svc = ObserveLayer::new(metrics.clone()).layer(inner);
        for path in ["/", "/", "/missing", "/odd"] {
            let req = Request::get(path).body(Body::empty()).unwrap();
            svc.clone().oneshot(req).await.unwrap();
        }
        metrics.upstream_error("connect");
        let text = metrics.render();
        assert!(
            text.contains(r#"frontdoor_requests_total{route="route[0]",status="2xx"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"frontdoor_requests_total{route="route[0]",status="4xx"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"frontdoor_requests_total{route="route[0]",status="7xx"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"frontdoor_upstream_errors_total{kind="connect"} 1"#),
            "{text}"
        );
        assert!(text.contains("frontdoor_in_flight_requests 0"), "{text}");
        assert!(
            text.contains(r#"frontdoor_request_duration_seconds_count{route="route[0]"} 4"#),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_cancelled_request_leaves_in_flight_and_is_counted() {
        let metrics = Metrics::new();
        let inner = tower::service_fn(|_req: Request<Body>| async {
            std::future::pending::<()>().await;
            Ok::<_, Infallible>(Response::new(Body::empty()))
        });
        let mut svc = ObserveLayer::new(metrics.clone()).layer(inner);
        let fut = svc.call(Request::get("/slow").body(Body::empty()).unwrap());
        assert!(metrics.render().contains("frontdoor_in_flight_requests 1"));
        drop(fut);
        let text = metrics.render();
        assert!(text.contains("frontdoor_in_flight_requests 0"), "{text}");
        assert!(
            text.contains(r#"frontdoor_requests_total{route="none",status="cancelled"} 1"#),
            "{text}"
        );
    }

    #[tokio::test]
    async fn admin_endpoints() {
        let drain = Drain::new();
        let svc = admin(
            Metrics::new(),
            || "0 ::/ builtin:echo".to_owned(),
            drain.clone(),
        );
        let get = |p: &str| Request::get(p).body(Body::empty()).unwrap();
        let res = svc.clone().oneshot(get("/healthz")).await.unwrap();
        assert_eq!(res.status(), 200);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"ok\n");
        let res = svc.clone().oneshot(get("/routes")).await.unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"0 ::/ builtin:echo\n");
        let res = svc.clone().oneshot(get("/metrics")).await.unwrap();
        assert_eq!(res.status(), 200);
        let res = svc.clone().oneshot(get("/nope")).await.unwrap();
        assert_eq!(res.status(), 404);

        drain.start();
        let res = svc.clone().oneshot(get("/healthz")).await.unwrap();
        assert_eq!(res.status(), 503);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"draining\n");
        let res = svc.clone().oneshot(get("/routes")).await.unwrap();
        assert_eq!(res.status(), 200);
    }
}
