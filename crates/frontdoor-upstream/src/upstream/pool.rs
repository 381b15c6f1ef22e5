//! The HTTP/1 connection pool of a plain-`http` upstream's upgrade requests and
//! `CONNECT` tunnels (everything else takes the direct client, [`super::direct`]),
//! built on `hyper::client::conn::http1`.
//!
//! One [`Http1Pool`] serves exactly one upstream authority, so there is no pool key to
//! hash. Idle senders live in a mutex-guarded `Vec`; a checkout takes the most recently
//! parked sender whose connection is ready for a new request, or connects. A sender is
//! parked back right after its response head arrives, even while its body still
//! streams: it becomes ready once hyper's connection task has finished that message,
//! and until then checkouts skip it. That avoids hyper-util's per-request "wait until
//! idle" task.
//!
//! Closed and expired senders are dropped on checkout, and by a reaper task (one per
//! pool, running only while something is parked) every `idle_timeout`.
//!
//! With a connection cap (`max_connections`), each connection holds a semaphore
//! permit until it closes. A request that finds every connection busy and the cap
//! reached waits, at most the connect timeout, for whichever comes first: a parked
//! connection (it takes one still finishing its message and waits for it to be
//! ready), a newly parked one, or a permit freed by a connection that closed. Past
//! the connect timeout it fails with
//! [`ConnectionLimit`](crate::ProxyErrorKind::ConnectionLimit) (503).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use frontdoor_core::Body;
use http::Uri;
use hyper::client::conn::http1::{self, SendRequest};
use parking_lot::Mutex;
use tokio::{
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tower::ServiceExt as _;

use super::{
    connect::{http_connector, HttpOnly},
    reaper::{self, Reap},
};
use crate::{AllowedTargets, ProxyError, ProxyErrorKind};

/// A parked sender and when it was parked.
struct Parked {
    tx: SendRequest<Body>,
    since: Instant,
}

/// The pool of one plain-`http` upstream. See the [module docs](self).
pub(crate) struct Http1Pool {
    connector: HttpOnly,
    /// `http://authority`, what the connector dials.
    dial: Uri,
    idle: Mutex<Vec<Parked>>,
    max_idle: usize,
    idle_timeout: Option<Duration>,
    reaping: AtomicBool,
    connect_timeout: Option<Duration>,
    /// The connection cap: one permit per open connection.
    limit: Option<Arc<Semaphore>>,
    /// Notified when a sender is parked, for requests waiting under the cap.
    parked: Notify,
}

/// A way to send a request, from [`Http1Pool::acquire`].
enum Acquired {
    /// A sender ready for a request; `true` when it was reused (its connection may
    /// have closed meanwhile).
    Sender(SendRequest<Body>, bool),
    /// A place under the cap: connect.
    Permit(Option<OwnedSemaphorePermit>),
}

impl Http1Pool {
    pub(crate) fn new(
        (dial, fixed): (Uri, Option<std::net::SocketAddr>),
        connect_timeout: Option<Duration>,
        max_idle: usize,
        idle_timeout: Option<Duration>,
        cap: Option<Arc<Semaphore>>,
        allow: Option<AllowedTargets>,
    ) -> Self {
        Self {
            connector: http_connector(connect_timeout, allow, fixed),
            dial,
            idle: Mutex::new(Vec::new()),
            max_idle,
            idle_timeout,
            reaping: AtomicBool::new(false),
            connect_timeout,
            limit: cap,
            parked: Notify::new(),
        }
    }

    /// A sender for one request, and whether it was reused: a ready parked one, or a
    /// new connection; under the cap, waits as the [module docs](self) say.
    pub(crate) async fn acquire(&self) -> Result<(SendRequest<Body>, bool), ProxyError> {
        if let Some(tx) = self.checkout() {
            return Ok((tx, true));
        }
        let acquired = match &self.limit {
            None => Acquired::Permit(None),
            Some(limit) => match Arc::clone(limit).try_acquire_owned() {
                Ok(permit) => Acquired::Permit(Some(permit)),
                Err(_) => {
                    let wait = self.wait_under_cap(limit);
                    match self.connect_timeout {
                        Some(t) => tokio::time::timeout(t, wait)
                            .await
                            .map_err(|_| ProxyError::new(ProxyErrorKind::ConnectionLimit))??,
                        None => wait.await?,
                    }
                }
            },
        };
        match acquired {
            Acquired::Sender(tx, reused) => Ok((tx, reused)),
            Acquired::Permit(permit) => Ok((self.connect(permit).await?, false)),
        }
    }

    /// Every connection is busy and the cap is reached: waits for a connection to
    /// finish its message or close.
    async fn wait_under_cap(&self, limit: &Arc<Semaphore>) -> Result<Acquired, ProxyError> {
        loop {
            let parked = self.parked.notified();
            tokio::pin!(parked);
            parked.as_mut().enable();
            if let Some(tx) = self.checkout() {
                return Ok(Acquired::Sender(tx, true));
            }
            if let Some(mut tx) = self.checkout_busy() {
                if tx.ready().await.is_ok() {
                    return Ok(Acquired::Sender(tx, true));
                }
                continue;
            }
            tokio::select! {
                permit = Arc::clone(limit).acquire_owned() => {
                    let permit = permit
                        .map_err(|e| ProxyError::with_source(ProxyErrorKind::ConnectionLimit, e))?;
                    return Ok(Acquired::Permit(Some(permit)));
                }
                () = parked => {}
            }
        }
    }

    /// A parked sender whose connection is still finishing its message, if any.
    fn checkout_busy(&self) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock();
        idle.retain(|p| !p.tx.is_closed());
        idle.pop().map(|p| p.tx)
    }

    /// A parked sender ready for a request, if any.
    fn checkout(&self) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock();
        if idle.is_empty() {
            return None;
        }
        let deadline = self
            .idle_timeout
            .and_then(|t| Instant::now().checked_sub(t));
        let mut i = idle.len();
        while i > 0 {
            i -= 1;
            let p = &idle[i];
            if p.tx.is_closed() || deadline.is_some_and(|d| p.since < d) {
                idle.swap_remove(i);
            } else if p.tx.is_ready() {
                return Some(idle.swap_remove(i).tx);
            }
        }
        None
    }

    /// A new connection: dialled with the connect timeout and `TCP_NODELAY`, its
    /// connection task (with upgrades) spawned on the current runtime, holding
    /// `permit` (its place under the cap) until the connection closes.
    async fn connect(
        &self,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Result<SendRequest<Body>, ProxyError> {
        let io = self
            .connector
            .clone()
            .oneshot(self.dial.clone())
            .await
            .map_err(|e| ProxyError::from_connect(e.into()))?;
        let (tx, conn) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(|e| ProxyError::from_connect(e.into()))?;
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = conn.with_upgrades().await {
                tracing::trace!(error = %e, "upstream connection ended");
            }
        });
        Ok(tx)
    }

    /// Parks `tx` for reuse (it may still be finishing its current message).
    pub(crate) fn park(self: &Arc<Self>, tx: SendRequest<Body>) {
        if tx.is_closed() {
            return;
        }
        {
            let mut idle = self.idle.lock();
            if idle.len() >= self.max_idle {
                idle.retain(|p| !p.tx.is_closed());
                if idle.len() >= self.max_idle {
                    return;
                }
            }
            idle.push(Parked {
                tx,
                since: Instant::now(),
            });
        }
        if self.limit.is_some() {
            self.parked.notify_one();
        }
        if let Some(every) = self.idle_timeout {
            reaper::start(self, every);
        }
    }
}

// === impl Reap for Http1Pool ===

impl Reap for Http1Pool {
    fn reaping(&self) -> &AtomicBool {
        &self.reaping
    }

    /// Drops closed and expired senders; whether any sender is left.
    fn reap_once(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_sub(timeout);
        let mut idle = self.idle.lock();
        idle.retain(|p| !p.tx.is_closed() && deadline.is_none_or(|d| p.since >= d));
        if idle.is_empty() {
            self.reaping.store(false, Ordering::Release);
            return false;
        }
        true
    }
}
