//! The bounded set of pooled clients of a [`Mapper`](crate::Mapper), one per target
//! authority, least recently used evicted at the cap, idle ones on the way.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::{AllowedTargets, Upstream, UpstreamBuilder, UpstreamConfigError};

/// How a mapper's clients are configured (the same for every target).
pub(crate) type Configure = Arc<dyn Fn(UpstreamBuilder) -> UpstreamBuilder + Send + Sync>;

/// One client and when a request last took it.
struct Entry {
    upstream: Upstream,
    last_used: Instant,
}

/// The clients, keyed by `scheme://host:port` (host normalised, port explicit).
pub(crate) struct Clients {
    max: usize,
    idle_timeout: Option<Duration>,
    configure: Configure,
    allow: AllowedTargets,
    map: Mutex<HashMap<String, Entry>>,
    evicted: AtomicU64,
}

impl Clients {
    pub(crate) fn new(
        max: usize,
        idle_timeout: Option<Duration>,
        configure: Configure,
        allow: AllowedTargets,
    ) -> Self {
        Self {
            max,
            idle_timeout,
            configure,
            allow,
            map: Mutex::new(HashMap::new()),
            evicted: AtomicU64::new(0),
        }
    }

    /// The client for `key`, built for `url` (`scheme://authority`) when there is none.
    pub(crate) fn get(&self, key: &str, url: &str) -> Result<Upstream, UpstreamConfigError> {
        if let Some(entry) = self.map.lock().get_mut(key) {
            entry.last_used = Instant::now();
            return Ok(entry.upstream.clone());
        }
        // Built outside the lock (a TLS client loads its roots).
        let built = (self.configure)(Upstream::builder(url))
            .restrict_to(self.allow.clone())
            .build()?;
        let now = Instant::now();
        let mut map = self.map.lock();
        if let Some(entry) = map.get_mut(key) {
            // Another request built one meanwhile: use it.
            entry.last_used = now;
            return Ok(entry.upstream.clone());
        }
        self.make_room(&mut map, now);
        map.insert(
            key.to_owned(),
            Entry {
                upstream: built.clone(),
                last_used: now,
            },
        );
        Ok(built)
    }

    /// Drops the clients idle past the idle timeout, then, at the cap, the least
    /// recently used ones.
    fn make_room(&self, map: &mut HashMap<String, Entry>, now: Instant) {
        let before = map.len();
        if let Some(deadline) = self.idle_timeout.and_then(|t| now.checked_sub(t)) {
            map.retain(|_, e| e.last_used >= deadline);
        }
        while map.len() >= self.max {
            let oldest = map
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    tracing::debug!(client = %k, "mapper client evicted (least recently used)");
                    map.remove(&k);
                }
                None => break,
            }
        }
        let gone = before.saturating_sub(map.len());
        if gone > 0 {
            self.evicted.fetch_add(gone as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.lock().len()
    }

    pub(crate) fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    pub(crate) const fn max(&self) -> usize {
        self.max
    }

    pub(crate) const fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }
}

impl fmt::Debug for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clients")
            .field("max", &self.max)
            .field("idle_timeout", &self.idle_timeout)
            .field("len", &self.len())
            .field("evicted", &self.evicted())
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}
