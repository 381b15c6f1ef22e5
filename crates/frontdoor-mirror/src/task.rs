//! The detached task of one mirrored request: wait for the teed body, run
//! `on_request`, send the shadow copy, join both sides within the time-to-live,
//! compare, report.
//!
//! Correlation is structural: the task holds both sides' receivers, so no id map is
//! needed in-process and every exchange is reported exactly once.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use http::request::Parts;
use tokio::{
    sync::{oneshot, OwnedSemaphorePermit},
    time::{sleep_until, timeout_at, Instant},
};

use crate::{
    body::{PrimaryReport, TeeOutcome},
    compare::compare_all_within,
    exchange::{ShadowRequest, Side},
    layer::Config,
    Decision, Exchange, MirrorId, PrimaryError, ShadowError, SkipReason,
};

/// Where the shadow copy's body comes from.
#[derive(Debug)]
pub(crate) enum BodySource {
    /// The request had no body.
    Empty,
    /// The tee delivers it when the primary has read it.
    Tee(oneshot::Receiver<TeeOutcome>),
}

/// Everything the task needs, handed over by [`Mirror::call`](crate::Mirror).
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) cfg: Arc<Config>,
    pub(crate) id: MirrorId,
    pub(crate) head: Parts,
    pub(crate) body: BodySource,
    pub(crate) primary: oneshot::Receiver<PrimaryReport>,
    pub(crate) permit: OwnedSemaphorePermit,
    pub(crate) started: Instant,
}

type Timed<E> = (Side<E>, Option<Duration>);

pub(crate) async fn run(job: Job) {
    let Job {
        cfg,
        id,
        head,
        body,
        primary,
        permit,
        started,
    } = job;
    let deadline = started + cfg.ttl;
    let Some(request) = prepare(&cfg, id, head, body, deadline).await else {
        return; // skipped and counted; the permit goes with this frame
    };
    cfg.stats.mirrored();
    let replay = replay(&cfg, &request, permit);
    let (primary, replay) = join(&cfg, id, primary, replay, started, deadline).await;
    finish(&cfg, request, primary, replay);
}

/// The shadow request, once its body is complete and the hooks let it through.
async fn prepare(
    cfg: &Config,
    id: MirrorId,
    head: Parts,
    body: BodySource,
    deadline: Instant,
) -> Option<ShadowRequest> {
    let skip = |reason: SkipReason| {
        tracing::trace!(%id, reason = reason.as_str(), "request not mirrored");
        cfg.stats.skipped(reason);
        None
    };
    let body = match body {
        BodySource::Empty => Bytes::new(),
        BodySource::Tee(rx) => match timeout_at(deadline, rx).await {
            Ok(Ok(TeeOutcome::Complete(body))) => body,
            Ok(Ok(TeeOutcome::TooLarge)) => return skip(SkipReason::BodyTooLarge),
            Ok(Err(_)) | Err(_) => return skip(SkipReason::BodyIncomplete),
        },
    };
    let mut request = ShadowRequest::from_parts(id, head, body);
    if cfg.hooks.request(&mut request) == Decision::Skip {
        return skip(SkipReason::Hook);
    }
    Some(request)
}

/// Sends the copy and reports the shadow's side; the in-flight permit is released
/// as soon as the shadow has answered.
async fn replay(
    cfg: &Config,
    request: &ShadowRequest,
    permit: OwnedSemaphorePermit,
) -> Timed<ShadowError> {
    let sent = Instant::now();
    let result = cfg
        .shadow
        .send(request.to_request(), cfg.capture_cap(), cfg.timeout)
        .await;
    drop(permit);
    let latency = Some(sent.elapsed());
    let id = request.id();
    match result {
        Ok(res) => {
            cfg.stats.replayed();
            cfg.hooks.replay(id, Ok(&res));
            (Side::Response(res), latency)
        }
        Err(e) => {
            tracing::debug!(%id, error = %e, "shadow request failed");
            cfg.stats.failed(e.kind());
            cfg.hooks.replay(id, Err(&e));
            (Side::Failed(e), latency)
        }
    }
}

/// Waits for both sides, in whichever order they finish, until `deadline`; a side
/// not in by then is [`Side::Missing`].
async fn join(
    cfg: &Config,
    id: MirrorId,
    mut primary_rx: oneshot::Receiver<PrimaryReport>,
    replay: impl std::future::Future<Output = Timed<ShadowError>>,
    started: Instant,
    deadline: Instant,
) -> (Timed<PrimaryError>, Timed<ShadowError>) {
    tokio::pin!(replay);
    let expiry = sleep_until(deadline);
    tokio::pin!(expiry);
    let mut primary = None;
    let mut shadow = None;
    while primary.is_none() || shadow.is_none() {
        tokio::select! {
            report = &mut primary_rx, if primary.is_none() => {
                primary = Some(primary_side(cfg, id, report.ok(), started));
            }
            out = &mut replay, if shadow.is_none() => shadow = Some(out),
            () = &mut expiry => break,
        }
    }
    (
        primary.unwrap_or((Side::Missing, None)),
        shadow.unwrap_or((Side::Missing, None)),
    )
}

fn primary_side(
    cfg: &Config,
    id: MirrorId,
    report: Option<PrimaryReport>,
    started: Instant,
) -> Timed<PrimaryError> {
    // A dropped sender: the primary's future or body was abandoned.
    let Some(report) = report else {
        return (Side::Missing, None);
    };
    let latency = Some(report.at.saturating_duration_since(started));
    match report.outcome {
        Ok(res) => {
            cfg.hooks.response(id, &res);
            (Side::Response(res), latency)
        }
        Err(e) => (Side::Failed(e), latency),
    }
}

fn finish(
    cfg: &Config,
    request: ShadowRequest,
    (primary, primary_latency): Timed<PrimaryError>,
    (replay, replay_latency): Timed<ShadowError>,
) {
    let diffs = match (primary.response(), replay.response()) {
        (Some(p), Some(r)) => compare_all_within(&cfg.comparators, p, r, cfg.capture_cap()),
        _ => Vec::new(),
    };
    let exchange = Exchange {
        id: request.id(),
        request,
        primary,
        replay,
        diffs,
        primary_latency,
        replay_latency,
    };
    cfg.stats.exchange(&exchange);
    if !exchange.diffs.is_empty() {
        tracing::debug!(
            id = %exchange.id,
            diffs = exchange.diffs.len(),
            first = %exchange.diffs[0],
            "mirrored response differs"
        );
    }
    cfg.hooks.exchange(&exchange);
}
