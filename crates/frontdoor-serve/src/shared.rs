//! What every accept loop and connection task shares: the settings, the shutdown
//! tokens, the task tracker and the connection limits.

use std::{future::Future, sync::Arc};

use tokio::sync::Semaphore;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::{info, warn};

use crate::{config::Config, per_ip::PerIp};

// === impl Shared ===

/// What every accept loop and connection task shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// Stop accepting and start graceful connection shutdown.
    pub(crate) shutdown: CancellationToken,
    /// The drain timeout elapsed: drop connections now.
    pub(crate) force: CancellationToken,
    pub(crate) tracker: TaskTracker,
    pub(crate) limit: Arc<Semaphore>,
    pub(crate) per_ip: PerIp,
}

impl Shared {
    /// Fresh shutdown tokens, task tracker and connection limit.
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            shutdown: CancellationToken::new(),
            force: CancellationToken::new(),
            tracker: TaskTracker::new(),
            limit: Arc::new(Semaphore::new(config.max_connections)),
            per_ip: PerIp::new(config.max_connections_per_ip),
        }
    }

    /// The same settings, tokens and connection limit, with a task tracker of its
    /// own: one worker's share.
    pub(crate) fn with_own_tracker(&self) -> Self {
        Self {
            tracker: TaskTracker::new(),
            ..self.clone()
        }
    }

    /// Waits for `signal`, then for the drain delay, while the listeners still
    /// serve; logs each step. Then it is time to cancel [`shutdown`](Self::shutdown).
    pub(crate) async fn until_closing<F: Future<Output = ()>>(&self, signal: F) {
        signal.await;
        let delay = self.config.drain_delay;
        if !delay.is_zero() {
            info!(drain_delay = ?delay, "shutting down: still serving for the drain delay");
            tokio::time::sleep(delay).await;
        }
        info!(
            drain_timeout = ?self.config.drain_timeout,
            "shutting down: draining connections"
        );
    }

    /// Waits for the tracked accept loops and connections to finish, after
    /// [`shutdown`](Self::shutdown) has been cancelled; when the drain timeout
    /// elapses first, logs it (naming `worker`, if any), drops the remaining
    /// connections and waits for them to go.
    pub(crate) async fn drain(&self, worker: Option<usize>) {
        self.tracker.close();
        let drained = tokio::time::timeout(self.config.drain_timeout, self.tracker.wait()).await;
        if drained.is_err() {
            match worker {
                Some(worker) => warn!(
                    worker,
                    "drain timeout elapsed: closing remaining connections"
                ),
                None => warn!("drain timeout elapsed: closing remaining connections"),
            }
            self.force.cancel();
            self.tracker.wait().await;
        }
    }
}
