//! The limiter shared by every clone of a layer: `governor`'s GCRA over a bounded
//! table of buckets, on tokio's clock.

use std::{collections::HashMap, num::NonZeroU64, time::Duration};

use governor::{
    clock::Clock,
    middleware::NoOpMiddleware,
    nanos::Nanos,
    state::{RateLimiter, StateStore},
    NotUntil, Quota,
};
use parking_lot::Mutex;

use super::key::BucketKey;

/// How often, at most, a full table looks for idle buckets to drop.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

// === TokioClock ===

/// `governor`'s clock on [`tokio::time`] (so paused time drives it in tests): the time
/// since the clock was made.
#[derive(Clone, Copy, Debug)]
pub(super) struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    fn new() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

// === Limiter ===

/// A GCRA limiter per [`BucketKey`], its state bounded by [`Buckets`].
#[derive(Debug)]
pub(super) struct Limiter {
    gcra: RateLimiter<BucketKey, Buckets, TokioClock, NoOpMiddleware<Duration>>,
    clock: TokioClock,
}

impl Limiter {
    pub(super) fn new(quota: Quota, max_keys: usize) -> Self {
        let clock = TokioClock::new();
        let buckets = Buckets {
            table: Mutex::new(Table::default()),
            max_keys,
            clock,
            start: clock.now(),
        };
        Self {
            gcra: RateLimiter::new(quota, buckets, clock),
            clock,
        }
    }

    /// `Ok` when a request in `key`'s bucket conforms (and counts it), else how long
    /// until one would.
    pub(super) fn check(&self, key: &BucketKey) -> Result<(), Duration> {
        self.gcra
            .check_key(key)
            .map_err(|not: NotUntil<Duration>| not.wait_time_from(self.clock.now()))
    }

    /// How many buckets the table tracks (the overflow bucket aside).
    #[cfg(test)]
    pub(super) fn tracked(&self) -> usize {
        self.gcra.len()
    }
}

// === Buckets ===

/// The buckets of a limiter: each key's GCRA state (its theoretical arrival time, in
/// nanoseconds since the limiter started), at most `max_keys` of them.
///
/// A new key that finds the table full first has idle buckets dropped (at most once
/// per [`SWEEP_EVERY`]): a bucket is idle when its arrival time has passed, so its
/// whole burst is back and dropping it changes no decision. When the table is still
/// full, the key counts in one shared overflow bucket (with the same rate and burst)
/// until room is made, and a warning is logged once per such episode.
#[derive(Debug)]
pub(super) struct Buckets {
    table: Mutex<Table>,
    max_keys: usize,
    clock: TokioClock,
    /// The clock's reading when the limiter started (its state's zero).
    start: Duration,
}

#[derive(Debug, Default)]
struct Table {
    buckets: HashMap<BucketKey, u64>,
    overflow: u64,
    last_sweep: Option<Duration>,
    warned: bool,
}

impl Buckets {
    /// The nanoseconds since the limiter started.
    fn elapsed(&self) -> u64 {
        let since = self.clock.now().saturating_sub(self.start);
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    }
}

impl Table {
    /// Drops idle buckets when the last sweep is older than [`SWEEP_EVERY`]; `now`
    /// is in the state's nanoseconds.
    fn sweep(&mut self, now: u64) {
        let now_d = Duration::from_nanos(now);
        if self
            .last_sweep
            .is_some_and(|last| now_d.saturating_sub(last) < SWEEP_EVERY)
        {
            return;
        }
        self.last_sweep = Some(now_d);
        self.buckets.retain(|_, tat| *tat > now);
    }
}

/// One state update: `f` decides from the previous arrival time (`None`: a new
/// bucket) and the new one is stored when it conforms.
fn update<T, E>(
    slot: &mut u64,
    f: impl Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
) -> Result<T, E> {
    let previous = NonZeroU64::new(*slot).map(|n| Nanos::from(n.get()));
    let (outcome, next) = f(previous)?;
    *slot = next.as_u64();
    Ok(outcome)
}

impl StateStore for Buckets {
    type Key = BucketKey;

    fn measure_and_replace<T, F, E>(&self, key: &BucketKey, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut table = self.table.lock();
        if let Some(slot) = table.buckets.get_mut(key) {
            return update(slot, f);
        }
        if table.buckets.len() >= self.max_keys {
            table.sweep(self.elapsed());
        }
        if table.buckets.len() < self.max_keys {
            table.warned = false;
            let slot = table.buckets.entry(key.detached()).or_insert(0);
            return update(slot, f);
        }
        if !table.warned {
            table.warned = true;
            tracing::warn!(
                max_keys = self.max_keys,
                "rate limit: key table full; new keys share one overflow bucket until idle keys expire"
            );
        }
        update(&mut table.overflow, f)
    }
}

impl governor::state::keyed::ShrinkableKeyedStateStore<BucketKey> for Buckets {
    fn retain_recent(&self, drop_below: Nanos) {
        let below = drop_below.as_u64();
        self.table.lock().buckets.retain(|_, tat| *tat > below);
    }

    fn len(&self) -> usize {
        self.table.lock().buckets.len()
    }

    fn is_empty(&self) -> bool {
        self.table.lock().buckets.is_empty()
    }
}
