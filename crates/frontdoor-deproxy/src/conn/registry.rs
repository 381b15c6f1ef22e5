//! The registry every endpoint records into: the Deproxy-wide settings, the open
//! and closed chains, and every handling.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use http::HeaderName;
use parking_lot::Mutex;
use rustls::ClientConfig;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::handler::BoxHandler;
use crate::record::{ConnectionId, EndpointId, Handling};

/// What one `Deproxy` shares with its endpoints and requests.
pub(crate) struct Shared {
    pub(crate) default_handler: Option<BoxHandler>,
    pub(crate) id_header: HeaderName,
    pub(crate) request_timeout: Duration,
    pub(crate) max_body: usize,
    /// The client's TLS config for `https` requests, or why it could not be built.
    pub(crate) tls: Option<Result<Arc<ClientConfig>, String>>,
    pub(crate) cancel: CancellationToken,
    state: Mutex<State>,
    next_endpoint: AtomicUsize,
    next_conn: AtomicU64,
    id_counter: AtomicU64,
    id_seed: u64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("request_timeout", &self.request_timeout)
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    active: HashMap<String, Arc<ChainState>>,
    closed: HashSet<String>,
    all: Vec<Handling>,
    orphans: Vec<Handling>,
    late: Vec<Handling>,
}

/// Per-chain state while a request is in flight.
pub(crate) struct ChainState {
    pub(super) by_endpoint: HashMap<EndpointId, BoxHandler>,
    pub(super) by_name: HashMap<String, BoxHandler>,
    pub(super) default: Option<BoxHandler>,
    handlings: Mutex<Vec<Handling>>,
    orphans: Mutex<Vec<Handling>>,
    notify: Notify,
}

// === impl Shared ===

impl Shared {
    /// Settings as the `DeproxyBuilder` left them; request ids get a fresh seed.
    pub(crate) fn new(
        default_handler: Option<BoxHandler>,
        id_header: HeaderName,
        request_timeout: Duration,
        max_body: usize,
        tls: Option<Result<Arc<ClientConfig>, String>>,
    ) -> Self {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        Self {
            default_handler,
            id_header,
            request_timeout,
            max_body,
            tls,
            cancel: CancellationToken::new(),
            state: Mutex::new(State::default()),
            next_endpoint: AtomicUsize::new(0),
            next_conn: AtomicU64::new(0),
            id_counter: AtomicU64::new(0),
            id_seed: h.finish(),
        }
    }

    /// A fresh request id, shaped like a UUIDv4.
    pub(crate) fn new_request_id(&self) -> String {
        let n = self.id_counter.fetch_add(1, Ordering::Relaxed);
        let mut h = RandomState::new().build_hasher();
        h.write_u64(n);
        let r = h.finish();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            self.id_seed >> 32,
            (self.id_seed >> 16) & 0xffff,
            self.id_seed & 0xfff,
            (r >> 48) & 0xffff,
            (r & 0xffff_ffff_ffff) ^ n
        )
    }

    pub(crate) fn next_endpoint_id(&self) -> EndpointId {
        EndpointId(self.next_endpoint.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn next_connection_id(&self) -> ConnectionId {
        ConnectionId(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn open_chain(&self, id: String, chain: Arc<ChainState>) {
        self.state.lock().active.insert(id, chain);
    }

    pub(crate) fn close_chain(&self, id: &str) {
        let mut st = self.state.lock();
        st.active.remove(id);
        st.closed.insert(id.to_owned());
    }

    pub(crate) fn chain(&self, id: &str) -> Option<Arc<ChainState>> {
        self.state.lock().active.get(id).cloned()
    }

    /// Files a handling under its chain, as late, or as an orphan (then every
    /// open chain sees it too).
    pub(crate) fn record(&self, handling: Handling, id: Option<&str>) {
        let mut st = self.state.lock();
        st.all.push(handling.clone());
        if let Some(chain) = id.and_then(|id| st.active.get(id)) {
            chain.handlings.lock().push(handling);
            chain.notify.notify_waiters();
            return;
        }
        if id.is_some_and(|id| st.closed.contains(id)) {
            st.late.push(handling);
            return;
        }
        for chain in st.active.values() {
            chain.orphans.lock().push(handling.clone());
            chain.notify.notify_waiters();
        }
        st.orphans.push(handling);
    }

    pub(crate) fn all_handlings(&self) -> Vec<Handling> {
        self.state.lock().all.clone()
    }

    pub(crate) fn orphans(&self) -> Vec<Handling> {
        self.state.lock().orphans.clone()
    }

    pub(crate) fn late_handlings(&self) -> Vec<Handling> {
        self.state.lock().late.clone()
    }
}

// === impl ChainState ===

impl ChainState {
    /// A chain with its handlers for resolution steps 1 to 3.
    pub(crate) fn new(
        by_endpoint: HashMap<EndpointId, BoxHandler>,
        by_name: HashMap<String, BoxHandler>,
        default: Option<BoxHandler>,
    ) -> Self {
        Self {
            by_endpoint,
            by_name,
            default,
            handlings: Mutex::default(),
            orphans: Mutex::default(),
            notify: Notify::new(),
        }
    }

    /// Waits until the chain has `n` handlings or `max_wait` has passed.
    pub(crate) async fn wait_for_handlings(&self, n: usize, max_wait: Duration) {
        let deadline = Instant::now() + max_wait;
        loop {
            let notified = self.notify.notified();
            if self.handlings.lock().len() >= n {
                break;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
    }

    /// Takes the handlings and the orphaned handlings recorded so far.
    pub(crate) fn take_handlings(&self) -> (Vec<Handling>, Vec<Handling>) {
        (
            std::mem::take(&mut *self.handlings.lock()),
            std::mem::take(&mut *self.orphans.lock()),
        )
    }
}
