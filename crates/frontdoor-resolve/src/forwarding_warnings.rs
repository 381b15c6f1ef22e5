//! [`ForwardingWarnings`]: a trusted proxy's malformed forwarding header, answered
//! 400 by the [`ForwardedResolver`](crate::ForwardedResolver), is logged at `warn`
//! (the header and why), at most once per peer per minute.
//!
//! A proxy the configuration trusts that sends a header frontdoor cannot read (an
//! unquoted `Forwarded: host=a:8443`) is a misconfiguration on one side or the
//! other, and every request it forwards fails: worth a warning, but not one line per
//! request. The peers warned about in the last minute are remembered, at most
//! [`MAX_PEERS`] of them; past that the one warned about longest ago is forgotten
//! (and may be warned about again within its minute).

use std::{
    collections::{HashSet, VecDeque},
    fmt,
    net::IpAddr,
    sync::Arc,
    time::Duration,
};

use frontdoor_core::Error;
use http::HeaderName;
use parking_lot::Mutex;
use tokio::time::Instant;

/// A peer is warned about at most once in this long.
pub const WARN_INTERVAL: Duration = Duration::from_secs(60);

/// The most peers remembered at once.
pub const MAX_PEERS: usize = 1024;

/// The warnings about trusted proxies' malformed forwarding headers, at most one per
/// peer per [`WARN_INTERVAL`]. Clones share what was warned about, so one value
/// given to every worker's resolver ([`ForwardedResolver::warnings`]) warns once per
/// peer per minute over them all. See the [module docs](self).
///
/// [`ForwardedResolver::warnings`]: crate::ForwardedResolver::warnings
#[derive(Clone)]
pub struct ForwardingWarnings {
    recent: Arc<Mutex<Recent>>,
}

/// The peers warned about within the interval, oldest first.
struct Recent {
    interval: Duration,
    cap: usize,
    order: VecDeque<(IpAddr, Instant)>,
    peers: HashSet<IpAddr>,
}

// === impl ForwardingWarnings ===

impl ForwardingWarnings {
    /// No peer warned about yet; once per peer per [`WARN_INTERVAL`], remembering at
    /// most [`MAX_PEERS`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_limits(WARN_INTERVAL, MAX_PEERS)
    }

    /// Once per peer per `interval`, remembering at most `cap` peers.
    pub(crate) fn with_limits(interval: Duration, cap: usize) -> Self {
        Self {
            recent: Arc::new(Mutex::new(Recent {
                interval,
                cap: cap.max(1),
                order: VecDeque::new(),
                peers: HashSet::new(),
            })),
        }
    }

    /// Logs at `warn` that `peer`, a trusted proxy, sent a `header` the resolver
    /// refused with `error` (its request answered 400), unless `peer` was warned
    /// about within the interval.
    pub(crate) fn refused(&self, peer: IpAddr, header: &HeaderName, error: &Error) {
        if self.first_in_interval(peer, Instant::now()) {
            tracing::warn!(
                %peer,
                header = header.as_str(),
                reason = %Reason(error),
                "a trusted proxy sent a malformed {header} header: its request is \
                 answered 400 (warned once per peer per minute)",
            );
        }
    }

    /// Whether `peer` was not warned about within the interval before `now`; if so,
    /// it is remembered as warned about at `now`.
    fn first_in_interval(&self, peer: IpAddr, now: Instant) -> bool {
        let mut recent = self.recent.lock();
        recent.forget_before(now);
        if recent.peers.contains(&peer) {
            return false;
        }
        recent.peers.insert(peer);
        recent.order.push_back((peer, now));
        while recent.peers.len() > recent.cap {
            recent.forget_oldest();
        }
        true
    }

    /// How many peers are remembered.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        let recent = self.recent.lock();
        recent.peers.len()
    }
}

impl Default for ForwardingWarnings {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ForwardingWarnings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForwardingWarnings").finish_non_exhaustive()
    }
}

// === impl Recent ===

impl Recent {
    /// Forgets the peers warned about an interval or longer before `now`.
    fn forget_before(&mut self, now: Instant) {
        while self
            .order
            .front()
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) >= self.interval)
        {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((peer, _)) = self.order.pop_front() {
            self.peers.remove(&peer);
        }
    }
}

/// Why a header was refused: the resolver's message, then its cause when it has one.
struct Reason<'a>(&'a Error);

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = self.0.message();
        match std::error::Error::source(self.0).map(ToString::to_string) {
            // The cause often says it all (`invalid forwarded header at byte 6: ..`).
            Some(cause) if cause.starts_with(message) => f.write_str(&cause),
            Some(cause) => write!(f, "{message}: {cause}"),
            None => f.write_str(message),
        }
    }
}

#[cfg(test)]
mod tests;
