//! The idle reaper both HTTP/1 pools share: one task per pool, running only while
//! something is parked, that drops closed and expired connections every
//! `idle_timeout`.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Weak,
    },
    time::Duration,
};

/// A pool the reaper can sweep.
pub(super) trait Reap: Send + Sync + 'static {
    /// Set while a reaper runs for this pool.
    fn reaping(&self) -> &AtomicBool;

    /// Drops closed and expired connections; whether any is left. When none is, the
    /// implementation clears [`reaping`](Self::reaping) under its lock, so a
    /// concurrent park starts a new reaper.
    fn reap_once(&self, timeout: Duration) -> bool;
}

/// Starts `pool`'s reaper unless one runs (or no runtime is current).
pub(super) fn start<P: Reap>(pool: &Arc<P>, every: Duration) {
    if pool.reaping().swap(true, Ordering::AcqRel) {
        return;
    }
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(reap(Arc::downgrade(pool), every));
    } else {
        pool.reaping().store(false, Ordering::Release);
    }
}

/// Clears the pool's `reaping` flag when the reaper is dropped early (its runtime shut
/// down), so a later park starts a new one.
struct ReapGuard<P: Reap> {
    pool: Weak<P>,
    armed: bool,
}

impl<P: Reap> Drop for ReapGuard<P> {
    fn drop(&mut self) {
        if self.armed {
            if let Some(pool) = self.pool.upgrade() {
                pool.reaping().store(false, Ordering::Release);
            }
        }
    }
}

async fn reap<P: Reap>(pool: Weak<P>, every: Duration) {
    let mut guard = ReapGuard {
        pool: pool.clone(),
        armed: true,
    };
    loop {
        tokio::time::sleep(every).await;
        let Some(pool) = pool.upgrade() else {
            guard.armed = false;
            return;
        };
        if !pool.reap_once(every) {
            guard.armed = false;
            return;
        }
    }
}
