//! Protocol upgrades (`Connection: upgrade`, WebSocket and others): after the upstream
//! answers a matching `101`, both upgraded connections are spliced together.

use http::{header, HeaderMap, HeaderValue};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tracing::debug;

use crate::hop_by_hop::tokens;

/// The downstream half of an upgrade in flight, and what it asked for.
pub(crate) struct UpgradeRequest {
    pub(crate) downstream: OnUpgrade,
    pub(crate) kind: UpgradeKind,
}

/// What a client asked to switch to.
pub(crate) enum UpgradeKind {
    /// `Connection: upgrade` with these `Upgrade` protocols: spliced after a `101`
    /// naming one of them.
    Protocols(HeaderValue),
    /// A `CONNECT` tunnel (on upstreams that forward `CONNECT`): spliced after a 2xx.
    Tunnel,
}

/// Whether the `101`'s `Upgrade` names one of the requested protocols (RFC 9110 §7.8).
pub(crate) fn matches(requested: &HeaderValue, response: &HeaderMap) -> bool {
    let Some(chosen) = response.get(header::UPGRADE) else {
        return false;
    };
    let mut chosen = tokens(chosen);
    let (Some(chosen), None) = (chosen.next(), chosen.next()) else {
        return false;
    };
    tokens(requested).any(|t| t.eq_ignore_ascii_case(chosen))
}

/// Waits for both sides to finish their upgrade, then copies bytes both ways until
/// each side has closed its write half (each EOF is propagated as a shutdown).
/// Never panics: failures are logged and end the task.
pub(crate) async fn splice(downstream: OnUpgrade, upstream: OnUpgrade) {
    let upstream = match upstream.await {
        Ok(u) => u,
        Err(e) => {
            debug!(error = %e, "upstream upgrade failed");
            return;
        }
    };
    let downstream = match downstream.await {
        Ok(d) => d,
        Err(e) => {
            debug!(error = %e, "downstream upgrade failed");
            return;
        }
    };
    let mut up = TokioIo::new(upstream);
    let mut down = TokioIo::new(downstream);
    match tokio::io::copy_bidirectional(&mut down, &mut up).await {
        Ok((to_up, to_down)) => debug!(to_up, to_down, "upgraded connection closed"),
        Err(e) => debug!(error = %e, "upgraded connection failed"),
    }
}
