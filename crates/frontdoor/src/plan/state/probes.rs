//! The running health checks of one target: one task per upstream address, stopped
//! when the target's shared state is dropped (a reload that changed the target, or
//! the plan going away).

use parking_lot::Mutex;
use tokio::task::JoinHandle;

/// The health-check tasks of one target, started once ([`Probes::start_with`]) and
/// aborted on drop. See the [module docs](self).
#[derive(Debug, Default)]
pub struct Probes {
    /// `None` until started; then the tasks.
    tasks: Mutex<Option<Vec<AbortOnDrop>>>,
}

impl Probes {
    /// Starts the tasks `spawn` returns, unless they were started already; whether
    /// this call started them.
    pub fn start_with(&self, spawn: impl FnOnce() -> Vec<JoinHandle<()>>) -> bool {
        let mut tasks = self.tasks.lock();
        if tasks.is_some() {
            return false;
        }
        *tasks = Some(spawn().into_iter().map(AbortOnDrop).collect());
        true
    }

    /// Whether the tasks were started.
    #[must_use]
    pub fn started(&self) -> bool {
        self.tasks.lock().is_some()
    }
}

/// A task aborted when its handle is dropped.
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
