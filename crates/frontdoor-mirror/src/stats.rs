//! Readable counters of what the mirror did: mirrored, skipped by reason, failed by
//! kind, differing by kind.

use std::{
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use crate::{compare::DiffKind, Exchange, ShadowErrorKind};

// === SkipReason ===

/// Why a request was not mirrored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// Its method is not in the mirrored set.
    Method,
    /// It asks for a protocol upgrade (WebSocket and the like), which a copy cannot
    /// follow.
    Upgrade,
    /// It fell outside the sampling fraction.
    Sampled,
    /// The predicate hook ([`MirrorLayer::filter`](crate::MirrorLayer::filter))
    /// refused it.
    Filtered,
    /// Its body is (or announced to be) larger than the tee cap.
    BodyTooLarge,
    /// The bound on shadow requests in flight was reached.
    Saturated,
    /// An `on_request` hook answered [`Decision::Skip`](crate::Decision::Skip).
    Hook,
    /// The primary never read the request body to its end (or it failed) within the
    /// exchange time-to-live.
    BodyIncomplete,
    /// No tokio runtime to run the shadow on.
    NoRuntime,
}

impl SkipReason {
    /// Every reason, in a fixed order (for exporting counters).
    pub const ALL: [Self; 9] = [
        Self::Method,
        Self::Upgrade,
        Self::Sampled,
        Self::Filtered,
        Self::BodyTooLarge,
        Self::Saturated,
        Self::Hook,
        Self::BodyIncomplete,
        Self::NoRuntime,
    ];

    /// A short snake-case label.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Method => "method",
            Self::Upgrade => "upgrade",
            Self::Sampled => "sampled",
            Self::Filtered => "filtered",
            Self::BodyTooLarge => "body_too_large",
            Self::Saturated => "saturated",
            Self::Hook => "hook",
            Self::BodyIncomplete => "body_incomplete",
            Self::NoRuntime => "no_runtime",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// === MirrorStats ===

#[derive(Debug, Default)]
struct Counters {
    considered: AtomicU64,
    mirrored: AtomicU64,
    skipped: [AtomicU64; SkipReason::ALL.len()],
    replayed: AtomicU64,
    failed: [AtomicU64; ShadowErrorKind::ALL.len()],
    exchanges: AtomicU64,
    matched: AtomicU64,
    differing: AtomicU64,
    diffs: [AtomicU64; DiffKind::ALL.len()],
    missing_primary: AtomicU64,
    missing_replay: AtomicU64,
}

/// A shared handle on the mirror's counters. Cloning shares the counters: give one
/// handle to a layer with [`MirrorLayer::stats`](crate::MirrorLayer::stats) and read
/// it from anywhere (a metrics exporter) with [`MirrorStats::snapshot`].
///
/// ```
/// use frontdoor_mirror::{MirrorStats, SkipReason};
///
/// let stats = MirrorStats::new();
/// let snap = stats.snapshot();
/// assert_eq!(snap.mirrored(), 0);
/// for reason in SkipReason::ALL {
///     assert_eq!(snap.skipped(reason), 0); // e.g. one Prometheus label per reason
/// }
/// ```
#[derive(Clone, Debug, Default)]
pub struct MirrorStats {
    inner: Arc<Counters>,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl MirrorStats {
    /// Fresh counters, all zero.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The counters' current values.
    #[must_use]
    pub fn snapshot(&self) -> StatsSnapshot {
        let c = &*self.inner;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            considered: load(&c.considered),
            mirrored: load(&c.mirrored),
            skipped: c.skipped.each_ref().map(load),
            replayed: load(&c.replayed),
            failed: c.failed.each_ref().map(load),
            exchanges: load(&c.exchanges),
            matched: load(&c.matched),
            differing: load(&c.differing),
            diffs: c.diffs.each_ref().map(load),
            missing_primary: load(&c.missing_primary),
            missing_replay: load(&c.missing_replay),
        }
    }

    pub(crate) fn considered(&self) {
        bump(&self.inner.considered);
    }

    pub(crate) fn skipped(&self, reason: SkipReason) {
        bump(&self.inner.skipped[reason as usize]);
    }

    pub(crate) fn mirrored(&self) {
        bump(&self.inner.mirrored);
    }

    pub(crate) fn replayed(&self) {
        bump(&self.inner.replayed);
    }

    pub(crate) fn failed(&self, kind: ShadowErrorKind) {
        bump(&self.inner.failed[kind as usize]);
    }

    /// Records one finished exchange: match, differences, missing sides.
    pub(crate) fn exchange(&self, ex: &Exchange) {
        let c = &*self.inner;
        bump(&c.exchanges);
        if ex.primary.is_missing() {
            bump(&c.missing_primary);
        }
        if ex.replay.is_missing() {
            bump(&c.missing_replay);
        }
        if ex.is_match() {
            bump(&c.matched);
        }
        if !ex.diffs.is_empty() {
            bump(&c.differing);
        }
        for diff in &ex.diffs {
            bump(&c.diffs[diff.kind().index()]);
        }
    }
}

// === StatsSnapshot ===

/// The values of [`MirrorStats`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    considered: u64,
    mirrored: u64,
    skipped: [u64; SkipReason::ALL.len()],
    replayed: u64,
    failed: [u64; ShadowErrorKind::ALL.len()],
    exchanges: u64,
    matched: u64,
    differing: u64,
    diffs: [u64; DiffKind::ALL.len()],
    missing_primary: u64,
    missing_replay: u64,
}

impl StatsSnapshot {
    /// Requests the layer saw.
    #[must_use]
    pub const fn considered(&self) -> u64 {
        self.considered
    }

    /// Shadow requests sent.
    #[must_use]
    pub const fn mirrored(&self) -> u64 {
        self.mirrored
    }

    /// Requests not mirrored for `reason`.
    #[must_use]
    pub const fn skipped(&self, reason: SkipReason) -> u64 {
        self.skipped[reason as usize]
    }

    /// Requests not mirrored, all reasons.
    #[must_use]
    pub fn skipped_total(&self) -> u64 {
        self.skipped.iter().sum()
    }

    /// Shadow requests answered (any status).
    #[must_use]
    pub const fn replayed(&self) -> u64 {
        self.replayed
    }

    /// Shadow requests that failed with an error of `kind`.
    #[must_use]
    pub const fn failed(&self, kind: ShadowErrorKind) -> u64 {
        self.failed[kind as usize]
    }

    /// Shadow requests that failed, all kinds.
    #[must_use]
    pub fn failed_total(&self) -> u64 {
        self.failed.iter().sum()
    }

    /// Exchanges reported to `on_exchange` (one per mirrored request).
    #[must_use]
    pub const fn exchanges(&self) -> u64 {
        self.exchanges
    }

    /// Exchanges with both responses and no difference.
    #[must_use]
    pub const fn matched(&self) -> u64 {
        self.matched
    }

    /// Exchanges with at least one difference.
    #[must_use]
    pub const fn differing(&self) -> u64 {
        self.differing
    }

    /// Differences of `kind` found (an exchange may count under several kinds).
    #[must_use]
    pub const fn diffs(&self, kind: DiffKind) -> u64 {
        self.diffs[kind.index()]
    }

    /// Exchanges whose primary response never arrived within the time-to-live.
    #[must_use]
    pub const fn missing_primary(&self) -> u64 {
        self.missing_primary
    }

    /// Exchanges whose replay never arrived within the time-to-live.
    #[must_use]
    pub const fn missing_replay(&self) -> u64 {
        self.missing_replay
    }
}
