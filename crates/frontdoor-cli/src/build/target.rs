//! The service of one target (a route's or the default's): tag -> [cleanup filter] ->
//! [https redirect] -> gateway errors -> [request buffer] -> [in-flight limit] ->
//! [relocation] -> [mirror] -> `Upstream` | `Balanced` (the clients: `client.rs`).

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
};

use frontdoor::{redirect_https::RedirectHttpsLayer, Body};
use frontdoor_cleanup::{CleanupLayer, Rules, Syntax};
use frontdoor_core::EncodedSlash;
use frontdoor_mirror::{CaptureBody, MirrorLayer, TeeBody};
use frontdoor_relocate::RelocateLayer;
use frontdoor_resolve::EscapedSlashesLayer;
use frontdoor_route::Filter;
use frontdoor_upstream::{
    Balanced, GatewayErrorLayer, GatewayFailure, ProxyError, RequestBufferLayer,
};
use http::{header, HeaderValue, Request, Response};
use tokio::sync::Semaphore;
use tower::{
    limit::ConcurrencyLimit, load_shed::LoadShed, util::BoxCloneSyncService, Layer, Service,
    ServiceBuilder, ServiceExt,
};

use super::{
    client::{base_url, client_tls, relocation, upstream},
    Builtins, Svc,
};
use crate::{
    config::{Config, Target},
    ops::{Metrics, Served},
    state::{SharedState, TargetState},
};

/// What every target of one stack is built with.
pub(super) struct Inputs<'a> {
    pub(super) config: &'a Config,
    /// The shared state built for `config`.
    pub(super) state: &'a SharedState,
    pub(super) builtins: &'a Builtins,
    pub(super) metrics: &'a Metrics,
}

/// A built target: its service, its optional cleanup filter, and its upstreams as text.
pub(super) struct Built {
    pub(super) service: Svc,
    pub(super) filter: Option<Filter>,
    pub(super) upstream: String,
}

/// A target problem: the key under the target's path, and the message.
pub(super) type Problem = (&'static str, String);

/// Builds `target` over its shared state `shared`, labelled `label` (`route[N]` or
/// `default`) in logs and metrics.
pub(super) fn build(
    target: &Target,
    shared: Option<&TargetState>,
    label: Arc<str>,
    cx: &Inputs<'_>,
) -> Result<Built, Problem> {
    let config = cx.config;
    let shared = shared.ok_or((
        "upstream",
        "the shared state was built for another config".to_owned(),
    ))?;
    let filter = route_filter(target, config)?;
    let upstream: Arc<str> = target
        .upstreams
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
        .into();
    let served = Served::new(label, upstream.clone());
    let label = Arc::clone(&served.route);
    let outer = Outer {
        served,
        redirect: target
            .redirect_https
            .then(|| RedirectHttpsLayer::new().port(https_port(config))),
    };
    let service = upstream_service(target, shared, &label, cx, outer)?;
    Ok(Built {
        service,
        filter,
        upstream: upstream.to_string(),
    })
}

/// The port plaintext requests are redirected to: the first TLS listener's, else 443.
fn https_port(config: &Config) -> u16 {
    config
        .server
        .listen_tls
        .first()
        .map(std::net::SocketAddr::port)
        .filter(|&port| port != 0)
        .unwrap_or(443)
}

/// The target's route filter: its `escaped_slashes = "reject"` check (of the request
/// path and `Destination`'s, in `EscapedSlashesLayer`), then its
/// cleanup rules (so a path a rule writes is held to the narrowed policy too); `None`
/// without either.
fn route_filter(target: &Target, config: &Config) -> Result<Option<Filter>, Problem> {
    let reject = target.escaped_slashes == Some(EncodedSlash::Reject);
    Ok(match (reject, cleanup_layer(target, config)?) {
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

/// The target's cleanup rules as a layer, or `None` without rules.
fn cleanup_layer(target: &Target, config: &Config) -> Result<Option<CleanupLayer>, Problem> {
    if target.cleanup.is_empty() {
        return Ok(None);
    }
    let pairs = target
        .cleanup
        .iter()
        .map(|(k, v)| (k.as_str(), (v != "None").then_some(v.as_str())));
    let rules = Rules::builder()
        .pairs(Syntax::Shortcut, pairs)
        .mode(config.compat.mode())
        .build()
        .map_err(|e| ("cleanup", e.to_string()))?;
    Ok(Some(CleanupLayer::new(rules)))
}

/// The cleanup rules as `frontdoor routes` shows them.
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

/// The mirror as `frontdoor routes` shows it, or `-`.
pub(super) fn mirror_text(shared: Option<&TargetState>) -> String {
    shared
        .and_then(TargetState::mirror)
        .map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// One upstream client per address (balanced when several), behind the mirror layer
/// when the target has one, the relocation layer when it has a profile, and the
/// gateway-error layer, whose hook counts failures by kind.
fn upstream_service(
    target: &Target,
    shared: &TargetState,
    label: &str,
    cx: &Inputs<'_>,
    outer: Outer,
) -> Result<Svc, Problem> {
    let (config, builtins, metrics) = (cx.config, cx.builtins, cx.metrics);
    let bases = target
        .upstreams
        .iter()
        .map(|addr| base_url(addr, builtins))
        .collect::<Vec<_>>();
    let tls = client_tls(target)?;
    let mut upstreams = bases
        .iter()
        .enumerate()
        .map(|(i, base)| upstream(target, shared, config, i, tls.as_ref(), base))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            let key = match e.key() {
                "max_connections" => "upstream_max_connections",
                "tls" => "tls",
                "upgrades" => "upgrades",
                _ => "upstream",
            };
            (key, e.message().to_owned())
        })?;
    let relocation = relocation(target.relocate, &bases)?;
    let counted = metrics.clone();
    let gateway = GatewayErrorLayer::new().on_error(move |failure: &GatewayFailure<'_>| {
        if let Some(err) = failure.proxy_error() {
            counted.upstream_error(err.kind().as_str());
        }
    });
    let mirror = shared
        .mirror()
        .cloned()
        .map(|m| m.stats(metrics.mirror_stats(label)).shadow_label(label));
    let buffer = target
        .request_buffer
        .unwrap_or(config.server.request_buffer);
    let layers = Layers {
        outer,
        mirror,
        relocation,
        gateway,
        in_flight: shared.in_flight().cloned(),
        buffer: (buffer > 0).then(|| {
            RequestBufferLayer::new(
                usize::try_from(buffer).unwrap_or(usize::MAX),
                cx.state.budget().clone(),
            )
        }),
    };
    if upstreams.len() == 1 {
        if let Some(one) = upstreams.pop() {
            return Ok(layers.wrap(one));
        }
    }
    let balanced = Balanced::builder(upstreams)
        .build()
        .map_err(|e| ("upstream", e.message().to_owned()))?;
    Ok(layers.wrap(balanced))
}

/// An upstream client as the layers take it: `Upstream`, `Balanced`, or either behind
/// the mirror layer.
trait Client:
    Service<Request<Body>, Response = Response<Body>, Error = ProxyError, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> Client for S where
    S: Service<
            Request<Body>,
            Response = Response<Body>,
            Error = ProxyError,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// A service that answers every request (its errors already turned into
/// responses), boxed into a route service as it is.
trait Answers:
    Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> Answers for S where
    S: Service<
            Request<Body>,
            Response = Response<Body>,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// The layers between a target's cleanup filter and its upstream client, outermost
/// first: gateway errors, request buffering, the in-flight limit, relocation,
/// mirroring. The shadow thus receives the request as the upstream does (prefix
/// consumed, cleaned up, relocated); a body being buffered holds no in-flight permit
/// and no upstream connection.
struct Layers<H> {
    outer: Outer,
    mirror: Option<MirrorLayer>,
    relocation: Option<RelocateLayer>,
    gateway: GatewayErrorLayer<H>,
    /// `max_in_flight`'s permits, shared by every worker's stack.
    in_flight: Option<Arc<Semaphore>>,
    /// `request_buffer`, when not 0.
    buffer: Option<RequestBufferLayer>,
}

impl<H> Layers<H>
where
    H: frontdoor_upstream::OnGatewayError + Clone + Send + Sync + 'static,
{
    fn wrap(mut self, upstream: impl Client) -> Svc {
        match self.mirror.take() {
            None => self.relocated(upstream),
            Some(mirror) => self.relocated(
                ServiceBuilder::new()
                    .map_response(|res: Response<CaptureBody<Body>>| res.map(Body::new))
                    .layer(mirror)
                    .map_request(|req: Request<TeeBody<Body>>| req.map(Body::new))
                    .service(upstream),
            ),
        }
    }

    fn relocated(&self, svc: impl Client) -> Svc {
        match &self.relocation {
            Some(r) => self.limited(r.layer(svc)),
            None => self.limited(svc),
        }
    }

    fn limited(&self, svc: impl Client) -> Svc {
        match &self.in_flight {
            None => self.buffered(svc),
            Some(permits) => self.buffered(shed_over(Arc::clone(permits), svc)),
        }
    }

    fn buffered<S>(&self, svc: S) -> Svc
    where
        S: Service<Request<Body>, Response = Response<Body>, Future: Send + 'static>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Error: Into<frontdoor::BoxError>,
    {
        match &self.buffer {
            None => self.outer.wrap(self.gateway.layer(svc)),
            Some(buffer) => self.outer.wrap(self.gateway.layer(buffer.layer(svc))),
        }
    }
}

/// The outermost layers of a target, over its gateway-error layer: the tag, then the
/// HTTPS redirect when the target has one. The whole target is boxed once, here (the
/// router takes a boxed service as it is).
struct Outer {
    served: Served,
    redirect: Option<RedirectHttpsLayer>,
}

impl Outer {
    fn wrap(&self, svc: impl Answers) -> Svc {
        let served = self.served.clone();
        match &self.redirect {
            None => boxed(Tagged { inner: svc, served }),
            Some(redirect) => boxed(Tagged {
                inner: redirect.layer(svc),
                served,
            }),
        }
    }
}

/// `max_in_flight`: tower's `ConcurrencyLimit` on the target's semaphore (shared by
/// every worker), under `LoadShed`, so a request over the limit fails at once with
/// `Overloaded` (the gateway layer answers 503 with `Retry-After`) instead of
/// queueing. A permit is held until the response head. The pair is put together per
/// request around the shared semaphore because `ConcurrencyLimit` holds a future that
/// is not `Sync`, and route services must be.
fn shed_over<S>(
    semaphore: Arc<Semaphore>,
    inner: S,
) -> impl Service<
    Request<Body>,
    Response = Response<Body>,
    Error = frontdoor::BoxError,
    Future: Send + 'static,
> + Clone
       + Send
       + Sync
       + 'static
where
    S: Service<Request<Body>, Response = Response<Body>, Error = ProxyError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    tower::service_fn(move |req: Request<Body>| {
        let limited = ConcurrencyLimit::with_semaphore(inner.clone(), Arc::clone(&semaphore));
        LoadShed::new(limited).oneshot(req)
    })
}

fn boxed(svc: impl Answers) -> Svc {
    BoxCloneSyncService::new(svc)
}

/// The `[not_found]` answer, its body sent byte for byte, tagged `not_found`.
pub(super) fn not_found(config: &Config) -> Svc {
    let status = config.not_found.status;
    let body = config.not_found.body.clone();
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

/// Tags responses with what served them, for the access log and metrics: a named
/// service and future, so a request costs no boxed future or boxed clone here (the
/// router boxes the route service once).
#[derive(Clone)]
pub(super) struct Tagged<S> {
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
    pub(super) struct TagFuture<F> {
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
