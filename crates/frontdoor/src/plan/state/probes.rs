//! The background tasks of one target: its health checks (one task per member of
//! its balanced set) and its DNS discovery (one task), each stopped when the
//! target's shared state is dropped (a reload that changed the target, or the plan
//! going away); and the connection caps of its discovered addresses.

use std::collections::HashMap;

use frontdoor_upstream::{ConnectionCap, Member};
use parking_lot::Mutex;
use tokio::task::JoinHandle;

/// The health-check tasks of one target, one per member, aborted on drop (with the
/// target's shared state: a reload that changed the target, or the plan going
/// away).
#[derive(Debug, Default)]
pub struct Probes {
    /// `None` until first synced; then the task of each member.
    tasks: Mutex<Option<HashMap<Member, AbortOnDrop>>>,
}

impl Probes {
    /// Runs one task per member of `members`: starts the missing ones with `spawn`
    /// (`None`: none for that member) and stops those of members not listed, which
    /// it returns.
    pub fn sync(
        &self,
        members: &[Member],
        mut spawn: impl FnMut(Member) -> Option<JoinHandle<()>>,
    ) -> Vec<Member> {
        let mut tasks = self.tasks.lock();
        let tasks = tasks.get_or_insert_with(HashMap::new);
        let mut stopped = Vec::new();
        tasks.retain(|member, _| {
            let keep = members.contains(member);
            if !keep {
                stopped.push(*member);
            }
            keep
        });
        for member in members {
            if !tasks.contains_key(member) {
                if let Some(task) = spawn(*member) {
                    tasks.insert(*member, AbortOnDrop(task));
                }
            }
        }
        stopped
    }

    /// Whether the tasks were started.
    #[must_use]
    pub fn started(&self) -> bool {
        self.tasks.lock().is_some()
    }
}

/// One background task, started once and aborted on drop.
#[derive(Debug, Default)]
pub struct Task {
    task: Mutex<Option<AbortOnDrop>>,
}

impl Task {
    /// Starts the task `spawn` returns, unless it was started already; whether this
    /// call started it.
    pub fn start_with(&self, spawn: impl FnOnce() -> JoinHandle<()>) -> bool {
        let mut task = self.task.lock();
        if task.is_some() {
            return false;
        }
        *task = Some(AbortOnDrop(spawn()));
        true
    }

    /// Whether the task was started.
    #[must_use]
    pub fn started(&self) -> bool {
        self.task.lock().is_some()
    }
}

/// The connection caps of a target's discovered addresses (`upstream_max_connections`
/// each), shared by every worker, made on first use.
#[derive(Debug, Default)]
pub struct MemberCaps {
    max: usize,
    caps: Mutex<HashMap<Member, ConnectionCap>>,
}

impl MemberCaps {
    /// Caps of `max` connections (0: none).
    #[must_use]
    pub fn new(max: usize) -> Self {
        Self {
            max,
            caps: Mutex::default(),
        }
    }

    /// The cap of `member`, when there are caps.
    #[must_use]
    pub fn cap(&self, member: Member) -> Option<ConnectionCap> {
        (self.max > 0).then(|| {
            self.caps
                .lock()
                .entry(member)
                .or_insert_with(|| ConnectionCap::new(self.max))
                .clone()
        })
    }

    /// Forgets the caps of members not in `members` (their connections still hold
    /// their places until they close).
    pub fn retain(&self, members: &[Member]) {
        self.caps.lock().retain(|m, _| members.contains(m));
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
