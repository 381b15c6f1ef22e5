//! [`Mirror`]: decides per request, tees the body, hands the shadow to its own task.

use std::{
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{header, request::Parts, Request, Response};
use http_body::Body as HttpBody;
use tokio::{runtime::Handle, time::Instant};
use tower_service::Service;

use crate::{
    body::{CaptureBody, Reporter, Tee, TeeBody},
    layer::Config,
    task::{self, BodySource, Job},
    MirrorLayer, ResponseFuture, SkipReason,
};

/// Middleware that sends a copy of selected requests to a shadow service while the
/// inner (primary) service answers the client. See the [crate docs](crate).
///
/// The primary receives the request with its body wrapped in a [`TeeBody`] and answers
/// with its body wrapped in a [`CaptureBody`]; both pass every frame through
/// unchanged. `poll_ready` is the primary's: the shadow's readiness is awaited on the
/// mirror's own task, so it can never hold the primary up.
pub struct Mirror<S> {
    inner: S,
    cfg: Arc<Config>,
}

impl<S> Mirror<S> {
    pub(crate) const fn from_config(inner: S, cfg: Arc<Config>) -> Self {
        Self { inner, cfg }
    }

    /// `layer` applied to `inner`.
    pub fn new(inner: S, layer: &MirrorLayer) -> Self {
        tower_layer::Layer::layer(layer, inner)
    }

    frontdoor_core::define_inner_service_accessors!();
}

impl<S: Clone> Clone for Mirror<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            cfg: Arc::clone(&self.cfg),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Mirror<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mirror")
            .field("inner", &self.inner)
            .field("config", &self.cfg)
            .finish()
    }
}

impl<S, B, ResB> Service<Request<B>> for Mirror<S>
where
    S: Service<Request<TeeBody<B>>, Response = Response<ResB>>,
    B: HttpBody<Data = Bytes>,
    ResB: HttpBody<Data = Bytes>,
{
    type Response = Response<CaptureBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        let (tee, reporter) = match start(&self.cfg, &mut parts, &body) {
            Some((tee, reporter)) => (tee, Some(reporter)),
            None => (None, None),
        };
        let req = Request::from_parts(parts, TeeBody::new(body, tee));
        ResponseFuture::new(self.inner.call(req), reporter)
    }
}

/// Decides whether to mirror; if so, stamps the id, spawns the shadow's task and
/// returns the primary's halves of it (the tee, when there is a body to copy, and
/// the reporter).
fn start<B: HttpBody>(
    cfg: &Arc<Config>,
    parts: &mut Parts,
    body: &B,
) -> Option<(Option<Tee>, Reporter)> {
    cfg.stats.considered();
    let plan = select(cfg, parts, body).and_then(|()| {
        let permit = Arc::clone(&cfg.in_flight)
            .try_acquire_owned()
            .map_err(|_| SkipReason::Saturated)?;
        let handle = Handle::try_current().map_err(|_| SkipReason::NoRuntime)?;
        Ok((permit, handle))
    });
    let (permit, handle) = match plan {
        Ok(plan) => plan,
        Err(reason) => {
            tracing::trace!(reason = reason.as_str(), "request not mirrored");
            cfg.stats.skipped(reason);
            return None;
        }
    };
    let id = cfg.entropy.id();
    parts.extensions.insert(id);
    let head = cfg.copy.copy_head(parts, id);
    let (tee, body) = if body.is_end_stream() {
        (None, BodySource::Empty)
    } else {
        let (tee, rx) = Tee::new(cfg.max_request_body);
        (Some(tee), BodySource::Tee(rx))
    };
    let (reporter, primary) = Reporter::new(cfg.capture_cap());
    handle.spawn(task::run(Job {
        cfg: Arc::clone(cfg),
        id,
        head,
        body,
        primary,
        permit,
        started: Instant::now(),
    }));
    Some((tee, reporter))
}

/// The cheap checks, in order: method, upgrade, sample, predicate, announced body
/// length.
fn select<B: HttpBody>(cfg: &Config, parts: &Parts, body: &B) -> Result<(), SkipReason> {
    if !cfg.methods.contains(&parts.method) {
        return Err(SkipReason::Method);
    }
    if parts.headers.contains_key(header::UPGRADE) {
        return Err(SkipReason::Upgrade);
    }
    if !cfg.sample.pick(&cfg.entropy) {
        return Err(SkipReason::Sampled);
    }
    if let Some(filter) = &cfg.filter {
        if !filter(parts) {
            return Err(SkipReason::Filtered);
        }
    }
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0)
        .max(body.size_hint().lower());
    if announced > cfg.max_request_body as u64 {
        return Err(SkipReason::BodyTooLarge);
    }
    Ok(())
}
