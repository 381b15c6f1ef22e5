//! The service of one target (a route's or the default's), in the plan's one
//! per-route order, outermost first:
//!
//! ```text
//! tag -> [cleanup filter, in the router] -> [rate limit] -> [https redirect]
//!   -> gateway errors -> [request buffer] -> [in-flight limit] -> [compression]
//!     -> [relocation] -> [mirror] -> upstream span (traceparent)
//!       -> Upstream | Balanced | service
//! ```
//!
//! The rate limit answers 429 before anything costs: no body buffered, no in-flight
//! permit, no upstream connection; its 429 is tagged with the route. A `header:NAME`
//! limit's header is captured at the front of the route filter, so it counts the
//! value the client sent, whatever the cleanup rules make of it. Compression sits
//! above relocation, so a relocated answer (rewritten as identity) is compressed for
//! the client; the answers the front door writes itself (gateway errors, redirects)
//! are not.
//!
//! Each optional layer is an `option_layer` slot; below the gateway-error layer every
//! slot speaks `Request<Body> -> Result<Response<Body>, BoxError>`, so a slot added
//! later (rate limit, compression) is one more line. The shadow thus receives the
//! request as the upstream does (prefix consumed unless `strip_prefix = false`,
//! cleaned up, relocated); a body being buffered holds no in-flight permit and no
//! upstream connection.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
};

use frontdoor_cleanup::CleanupLayer;
use frontdoor_core::{BoxError, EncodedSlash};
use frontdoor_mirror::{CaptureBody, MirrorLayer, TeeBody};
use frontdoor_resolve::EscapedSlashesLayer;
use frontdoor_route::Filter;
use frontdoor_upstream::{Balanced, GatewayErrorLayer, GatewayFailure, RequestBufferLayer};
use http::{header, HeaderValue, Request, Response};
use tokio::sync::Semaphore;
use tower::{
    layer::layer_fn, limit::ConcurrencyLimit, load_shed::LoadShed, util::BoxCloneSyncService,
    util::Either, Layer, Service, ServiceBuilder, ServiceExt,
};

pub(super) use super::client::Problem;
use super::{
    client::{base_url, client_tls, relocation, upstream},
    options::{Options, RouteService},
    service,
};
use crate::{
    compress::CompressionBody,
    plan::{
        checked::{Checked, Compression, Target},
        served::Served,
        state::TargetState,
    },
    rate_limit::RateLimitLayer,
    redirect_https::RedirectHttpsLayer,
    telemetry::{OtlpExporter, UpstreamSpanLayer},
};
use frontdoor_core::Body;

/// A built target: its service, its optional cleanup filter, and its upstreams as text.
pub(super) struct Built {
    pub(super) service: RouteService,
    pub(super) filter: Option<Filter>,
    pub(super) upstream: String,
}

/// Builds `target` over its shared state `shared`, named `label` (the route's name,
/// `route[N]` or `default`) with its `spec` in the [`Served`] tag; `budget` is the
/// plan's buffer budget and `exporter` its span exporter.
pub(super) fn build(
    target: &Target,
    shared: &TargetState,
    (label, spec): (Arc<str>, Option<Arc<str>>),
    checked: &Checked,
    options: &Options,
    (budget, exporter): (&frontdoor_upstream::BufferBudget, Option<&OtlpExporter>),
) -> Result<Built, Problem> {
    let filter = capture_key(route_filter(target, checked)?, shared);
    let upstream: Arc<str> = target
        .upstreams
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
        .into();
    let mut served = Served::new(label, upstream.clone());
    served.spec = spec;
    let client = match service::registered(target, options)? {
        Some(service) => Either::Left(service),
        None => Either::Right(client(target, shared, checked, options)?),
    };
    let bases = target
        .upstreams
        .iter()
        .map(|addr| base_url(addr, options))
        .collect::<Vec<_>>();
    let max_decoded_body = checked.settings.max_decoded_body;
    let relocation = relocation(
        target.relocate,
        &bases,
        max_decoded_body,
        (&served.route, options),
    )?;
    let (gateway, mirror) = observed(&served.route, shared, options);
    let rate_limit = rate_limited(&served.route, shared, options);
    let buffer = target
        .request_buffer
        .unwrap_or(checked.settings.request_buffer);
    let service = ServiceBuilder::new()
        .layer(TagLayer { served })
        .option_layer(rate_limit)
        .option_layer(
            target
                .redirect_https
                .then(|| RedirectHttpsLayer::new().port(options.https_port())),
        )
        .layer(gateway)
        .option_layer((buffer > 0).then(|| {
            RequestBufferLayer::new(
                usize::try_from(buffer).unwrap_or(usize::MAX),
                budget.clone(),
            )
        }))
        .option_layer(shared.in_flight().cloned().map(in_flight))
        .option_layer(target.compress.as_ref().map(compressed))
        .option_layer(relocation)
        .option_layer(mirror.map(mirrored))
        .layer(UpstreamSpanLayer::new(exporter.cloned()))
        .service(client);
    Ok(Built {
        service: BoxCloneSyncService::new(service),
        filter,
        upstream: upstream.to_string(),
    })
}

/// The gateway-error layer, which reports upstream failures to the observer, and the
/// mirror layer (when the target mirrors), counting into the observer's counters.
fn observed(
    route: &Arc<str>,
    shared: &TargetState,
    options: &Options,
) -> (
    GatewayErrorLayer<impl frontdoor_upstream::OnGatewayError + Clone + Send + Sync + 'static>,
    Option<MirrorLayer>,
) {
    let observer = options.observer.clone();
    let label = Arc::clone(route);
    let gateway = GatewayErrorLayer::new().on_error(move |failure: &GatewayFailure<'_>| {
        if let (Some(observer), Some(err)) = (&observer, failure.proxy_error()) {
            observer.upstream_error(&label, err);
        }
    });
    let mirror = shared.mirror().cloned().map(|m| {
        let m = m.shadow_label(route);
        match options
            .observer
            .as_ref()
            .and_then(|o| o.mirror_stats(route))
        {
            Some(stats) => m.stats(stats),
            None => m,
        }
    });
    (gateway, mirror)
}

/// The target's upstream client: one `Upstream`, or several balanced; its errors
/// boxed, as every slot's are.
fn client(
    target: &Target,
    shared: &TargetState,
    checked: &Checked,
    options: &Options,
) -> Result<impl Slot, Problem> {
    let forwarding = checked
        .settings
        .forwarding()
        .map_err(|e| ("upstream", e.message().to_owned()))?;
    let tls = client_tls(target)?;
    let mut upstreams = target
        .upstreams
        .iter()
        .enumerate()
        .map(|(i, addr)| {
            let base = base_url(addr, options);
            upstream(
                target,
                shared,
                &forwarding,
                (i, &base),
                (tls.as_ref(), options.splice_bodies),
            )
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            let key = match e.key() {
                "host" => "host",
                "upstream_max_connections" => "upstream_max_connections",
                "tls" => "tls",
                "upgrades" => "upgrades",
                _ => "upstream",
            };
            (key, e.message().to_owned())
        })?;
    let discovered = super::discovered::factory(target, shared, &forwarding, options, tls.as_ref());
    let client = match (upstreams.len(), upstreams.pop()) {
        (1, Some(one)) if discovered.is_none() => Either::Left(one),
        (_, last) => {
            upstreams.extend(last);
            let builder = Balanced::builder(upstreams);
            let builder = match shared.balance_health() {
                Some(health) => builder.health(health.clone()),
                None => builder,
            };
            let builder = match discovered {
                Some(factory) => builder.discovered(factory),
                None => builder,
            };
            Either::Right(
                builder
                    .build()
                    .map_err(|e| ("upstream", e.message().to_owned()))?,
            )
        }
    };
    Ok(ServiceExt::<Request<Body>>::map_err(client, BoxError::from))
}

/// What every slot below the gateway-error layer is, and wraps: a service of
/// `Request<Body>` answering `Response<Body>` or a boxed error.
trait Slot:
    Service<Request<Body>, Response = Response<Body>, Error = BoxError, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> Slot for S where
    S: Service<Request<Body>, Response = Response<Body>, Error = BoxError, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// The mirror slot: its tee'd request and captured response bodies as `Body`.
fn mirrored<S: Slot>(mirror: MirrorLayer) -> impl Layer<S, Service: Slot> + Clone {
    ServiceBuilder::new()
        .map_response(|res: Response<CaptureBody<Body>>| res.map(Body::new))
        .layer(mirror)
        .map_request(|req: Request<TeeBody<Body>>| req.map(Body::new))
        .into_inner()
}

/// The compression slot: its answers' `CompressionBody` as `Body`.
fn compressed<S: Slot>(settings: &Compression) -> impl Layer<S, Service: Slot> + Clone {
    ServiceBuilder::new()
        .map_response(|res: Response<CompressionBody<Body>>| res.map(Body::new))
        .layer(settings.layer())
        .into_inner()
}

/// `max_in_flight`: tower's `ConcurrencyLimit` on the target's semaphore (shared by
/// every worker), under `LoadShed`, so a request over the limit fails at once with
/// `Overloaded` (the gateway layer answers 503 with `Retry-After`) instead of
/// queueing. A permit is held until the response head. The pair is put together per
/// request around the shared semaphore because `ConcurrencyLimit` holds a future that
/// is not `Sync`, and route services must be.
fn in_flight<S: Slot>(semaphore: Arc<Semaphore>) -> impl Layer<S, Service: Slot> + Clone {
    layer_fn(move |inner: S| {
        let semaphore = Arc::clone(&semaphore);
        tower::service_fn(move |req: Request<Body>| {
            let limited = ConcurrencyLimit::with_semaphore(inner.clone(), Arc::clone(&semaphore));
            LoadShed::new(limited).oneshot(req)
        })
    })
}

/// `rate_limit`'s limiter (shared by every worker), counting its 429s into the
/// observer's `rate_limited`.
fn rate_limited(
    route: &Arc<str>,
    shared: &TargetState,
    options: &Options,
) -> Option<RateLimitLayer> {
    let layer = shared.rate_limit()?.clone();
    Some(match options.observer.clone() {
        Some(observer) => {
            let label = Arc::clone(route);
            layer.on_limited(move || observer.rate_limited(&label))
        }
        None => layer,
    })
}

/// `filter` with a `header:NAME` rate limit's header captured in front of it (the
/// cleanup rules may rewrite or remove the header before the limiter sees it).
fn capture_key(filter: Option<Filter>, shared: &TargetState) -> Option<Filter> {
    let capture = shared.rate_limit().and_then(RateLimitLayer::capture_key);
    match (filter, capture) {
        (Some(filter), Some(capture)) => Some(Filter::infallible(layer_fn(move |svc| {
            capture.layer(filter.apply(svc))
        }))),
        (filter, _) => filter,
    }
}

/// The target's route filter: its `escaped_slashes = "reject"` check (of the request
/// path and `Destination`'s, in `EscapedSlashesLayer`), then its cleanup rules (so a
/// path a rule writes is held to the narrowed policy too); `None` without either.
fn route_filter(target: &Target, checked: &Checked) -> Result<Option<Filter>, Problem> {
    let reject = target.escaped_slashes == Some(EncodedSlash::Reject);
    let cleanup = if target.cleanup.is_empty() {
        None
    } else {
        let pairs = target.cleanup.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let rules = crate::plan::check::rules(pairs, checked.compat.mode())
            .map_err(|e| ("cleanup", e.to_string()))?;
        Some(CleanupLayer::new(rules))
    };
    Ok(match (reject, cleanup) {
        (false, None) => None,
        (false, Some(cleanup)) => Some(Filter::infallible(cleanup)),
        (true, None) => Some(Filter::infallible(EscapedSlashesLayer::reject())),
        (true, Some(cleanup)) => Some(Filter::infallible(
            ServiceBuilder::new()
                .layer(EscapedSlashesLayer::reject())
                .layer(cleanup)
                .into_inner(),
        )),
    })
}

/// The cleanup rules as the route table shows them.
pub(super) fn filter_text(target: &Target) -> String {
    if target.cleanup.is_empty() {
        return "-".into();
    }
    target
        .cleanup
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The mirror as the route table shows it, or `-`.
pub(super) fn mirror_text(shared: &TargetState) -> String {
    shared
        .mirror()
        .map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// The `[not_found]` answer, its body sent byte for byte, tagged `not_found`.
pub(super) fn not_found(checked: &Checked) -> RouteService {
    let status = checked.not_found.status;
    let body = checked.not_found.body.clone();
    let served = Served::new("not_found", "-");
    BoxCloneSyncService::new(tower::service_fn(move |req: Request<Body>| {
        let mut res = Response::new(Body::from(body.clone()));
        *res.status_mut() = status;
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        res.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        res.extensions_mut().insert(served.for_request(&req));
        std::future::ready(Ok::<_, Infallible>(res))
    }))
}

// === Tag ===

/// Tags a target's responses with [`Served`].
#[derive(Clone)]
struct TagLayer {
    served: Served,
}

impl<S> Layer<S> for TagLayer {
    type Service = Tagged<S>;

    fn layer(&self, inner: S) -> Tagged<S> {
        Tagged {
            inner,
            served: self.served.clone(),
        }
    }
}

/// Tags responses with what served them: a named service and future, so a request
/// costs no boxed future or boxed clone here (the router boxes the route service
/// once).
#[derive(Clone)]
struct Tagged<S> {
    inner: S,
    served: Served,
}

impl<S> Service<Request<Body>> for Tagged<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = TagFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let served = self.served.for_request(&req);
        TagFuture {
            inner: self.inner.call(req),
            served: Some(served),
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`Tagged`].
    struct TagFuture<F> {
        #[pin]
        inner: F,
        served: Option<Served>,
    }
}

impl<F> Future for TagFuture<F>
where
    F: Future<Output = Result<Response<Body>, Infallible>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut res) = ready!(this.inner.poll(cx));
        if let Some(served) = this.served.take() {
            res.extensions_mut().insert(served);
        }
        Poll::Ready(Ok(res))
    }
}
