//! The hooks, named after GoReplay's events and keyed by one [`MirrorId`].
//!
//! All hooks run on the mirror's detached task, never on the primary's request path;
//! still, they are synchronous and should be cheap (send slow work to a channel).

use std::{fmt, sync::Arc};

use crate::{compare::CapturedResponse, exchange::ShadowRequest, Exchange, MirrorId, ShadowError};

/// What an `on_request` hook decides about a shadow request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decision {
    /// Send it (possibly edited).
    #[default]
    Mirror,
    /// Do not send it (counted as [`SkipReason::Hook`](crate::SkipReason::Hook)).
    Skip,
}

/// Callbacks on a mirrored request's life, GoReplay style: `on_request` (type 1, may
/// edit or skip the shadow copy), `on_response` (type 2, the primary's answer),
/// `on_replay` (type 3, the shadow's answer) and `on_exchange` (both, once).
///
/// Every method has a no-op default; implement the ones you need and install the value
/// with [`MirrorLayer::hooks`](crate::MirrorLayer::hooks). State shared across
/// exchanges (a token alias table, say) lives in `self`.
pub trait MirrorHooks: Send + Sync + 'static {
    /// Called with the shadow copy before it is sent; may edit it or skip it.
    fn on_request(&self, request: &mut ShadowRequest) -> Decision {
        let _ = request;
        Decision::Mirror
    }

    /// Called with the primary's response: the head, and the body up to the capture
    /// cap when capture is on (then once the body has ended or was dropped).
    fn on_response(&self, id: MirrorId, response: &CapturedResponse) {
        let _ = (id, response);
    }

    /// Called with the shadow's response or failure.
    fn on_replay(&self, id: MirrorId, replay: Result<&CapturedResponse, &ShadowError>) {
        let _ = (id, replay);
    }

    /// Called once per mirrored request, with both sides (or a side marked missing
    /// after the time-to-live) and the comparators' differences.
    fn on_exchange(&self, exchange: &Exchange) {
        let _ = exchange;
    }
}

// === closure adapters ===

pub(crate) struct OnRequest<F>(pub(crate) F);
pub(crate) struct OnResponse<F>(pub(crate) F);
pub(crate) struct OnReplay<F>(pub(crate) F);
pub(crate) struct OnExchange<F>(pub(crate) F);

impl<F> MirrorHooks for OnRequest<F>
where
    F: Fn(&mut ShadowRequest) -> Decision + Send + Sync + 'static,
{
    fn on_request(&self, request: &mut ShadowRequest) -> Decision {
        (self.0)(request)
    }
}

impl<F> MirrorHooks for OnResponse<F>
where
    F: Fn(MirrorId, &CapturedResponse) + Send + Sync + 'static,
{
    fn on_response(&self, id: MirrorId, response: &CapturedResponse) {
        (self.0)(id, response);
    }
}

impl<F> MirrorHooks for OnReplay<F>
where
    F: Fn(MirrorId, Result<&CapturedResponse, &ShadowError>) + Send + Sync + 'static,
{
    fn on_replay(&self, id: MirrorId, replay: Result<&CapturedResponse, &ShadowError>) {
        (self.0)(id, replay);
    }
}

impl<F> MirrorHooks for OnExchange<F>
where
    F: Fn(&Exchange) + Send + Sync + 'static,
{
    fn on_exchange(&self, exchange: &Exchange) {
        (self.0)(exchange);
    }
}

// === HookSet ===

/// The installed hooks, called in installation order.
#[derive(Clone, Default)]
pub(crate) struct HookSet {
    hooks: Vec<Arc<dyn MirrorHooks>>,
}

impl HookSet {
    pub(crate) fn push(&mut self, hooks: Arc<dyn MirrorHooks>) {
        self.hooks.push(hooks);
    }

    /// Runs the `on_request` hooks; the first `Skip` wins and stops the rest.
    pub(crate) fn request(&self, request: &mut ShadowRequest) -> Decision {
        for h in &self.hooks {
            if h.on_request(request) == Decision::Skip {
                return Decision::Skip;
            }
        }
        Decision::Mirror
    }

    pub(crate) fn response(&self, id: MirrorId, response: &CapturedResponse) {
        self.hooks.iter().for_each(|h| h.on_response(id, response));
    }

    pub(crate) fn replay(&self, id: MirrorId, replay: Result<&CapturedResponse, &ShadowError>) {
        self.hooks.iter().for_each(|h| h.on_replay(id, replay));
    }

    pub(crate) fn exchange(&self, exchange: &Exchange) {
        self.hooks.iter().for_each(|h| h.on_exchange(exchange));
    }
}

impl fmt::Debug for HookSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HookSet({} installed)", self.hooks.len())
    }
}
