//! The pool of the direct client: idle connections of one plain-`http` upstream,
//! taken by a request and parked again by its response body at the end of the
//! message, with no task of their own.
//!
//! A checkout takes the most recently parked connection, dropping those that expired
//! (parked longer than `idle_timeout`) or went stale (the upstream closed them, as a
//! non-blocking read sees); else it connects. At most `max_idle` connections are
//! kept; a reaper task drops expired ones while any is parked.
//!
//! Under a connection cap (shared with the upgrade pool: one permit per open
//! connection of either), a request that finds none idle and the cap reached waits,
//! at most the connect timeout, for a parked connection or a freed permit, then fails
//! with [`ConnectionLimit`](crate::ProxyErrorKind::ConnectionLimit).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use http::Uri;
use parking_lot::Mutex;
use tokio::{
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tower::ServiceExt as _;

use super::{
    super::{
        connect::{http_connector, HttpOnly},
        reaper::{self, Reap},
    },
    conn::Conn,
};
use crate::{AllowedTargets, ProxyError, ProxyErrorKind};

// === DirectPool ===

/// The direct client's pool of one upstream. See the [module docs](self).
pub(crate) struct DirectPool {
    connector: HttpOnly,
    /// `http://authority`, what the connector dials.
    dial: Uri,
    idle: Mutex<Vec<Conn>>,
    max_idle: usize,
    idle_timeout: Option<Duration>,
    reaping: AtomicBool,
    connect_timeout: Option<Duration>,
    limit: Option<Arc<Semaphore>>,
    /// Notified when a connection is parked, for requests waiting under the cap.
    parked: Notify,
}

impl DirectPool {
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

    /// A connection for one request, and whether it was reused.
    pub(super) async fn acquire(&self) -> Result<(Conn, bool), ProxyError> {
        if let Some(conn) = self.checkout() {
            return Ok((conn, true));
        }
        let permit = match &self.limit {
            None => None,
            Some(limit) => match Arc::clone(limit).try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    let wait = self.wait_under_cap(limit);
                    let got = match self.connect_timeout {
                        Some(t) => tokio::time::timeout(t, wait)
                            .await
                            .map_err(|_| ProxyError::new(ProxyErrorKind::ConnectionLimit))??,
                        None => wait.await?,
                    };
                    match got {
                        Ok(conn) => return Ok((conn, true)),
                        Err(permit) => Some(permit),
                    }
                }
            },
        };
        Ok((self.connect(permit).await?, false))
    }

    /// Every connection is busy and the cap is reached: waits for a parked
    /// connection (`Ok`) or a freed permit (`Err`).
    async fn wait_under_cap(
        &self,
        limit: &Arc<Semaphore>,
    ) -> Result<Result<Conn, OwnedSemaphorePermit>, ProxyError> {
        loop {
            let parked = self.parked.notified();
            tokio::pin!(parked);
            parked.as_mut().enable();
            if let Some(conn) = self.checkout() {
                return Ok(Ok(conn));
            }
            tokio::select! {
                permit = Arc::clone(limit).acquire_owned() => {
                    let permit = permit
                        .map_err(|e| ProxyError::with_source(ProxyErrorKind::ConnectionLimit, e))?;
                    return Ok(Err(permit));
                }
                () = parked => {}
            }
        }
    }

    /// The most recently parked live connection, if any.
    fn checkout(&self) -> Option<Conn> {
        let mut idle = self.idle.lock();
        let deadline = self
            .idle_timeout
            .and_then(|t| Instant::now().checked_sub(t));
        while let Some(conn) = idle.pop() {
            if deadline.is_some_and(|d| conn.since < d) {
                // Older ones expired too.
                idle.clear();
                return None;
            }
            if !conn.is_stale() {
                return Some(conn);
            }
        }
        None
    }

    /// A new connection, dialled with the connect timeout and `TCP_NODELAY`,
    /// holding `permit` until it closes.
    async fn connect(&self, permit: Option<OwnedSemaphorePermit>) -> Result<Conn, ProxyError> {
        let io = self
            .connector
            .clone()
            .oneshot(self.dial.clone())
            .await
            .map_err(|e| ProxyError::from_connect(e.into()))?;
        Ok(Conn::new(io.into_inner(), permit))
    }

    /// Parks `conn` (at the end of a message) for the next request.
    pub(super) fn park(self: &Arc<Self>, mut conn: Conn) {
        conn.reset();
        {
            let mut idle = self.idle.lock();
            if idle.len() >= self.max_idle {
                return;
            }
            idle.push(conn);
        }
        if self.limit.is_some() {
            self.parked.notify_one();
        }
        if let Some(every) = self.idle_timeout {
            reaper::start(self, every);
        }
    }
}

// === impl Reap for DirectPool ===

impl Reap for DirectPool {
    fn reaping(&self) -> &AtomicBool {
        &self.reaping
    }

    fn reap_once(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_sub(timeout);
        let mut idle = self.idle.lock();
        idle.retain(|c| deadline.is_none_or(|d| c.since >= d) && !c.is_stale());
        if idle.is_empty() {
            self.reaping.store(false, Ordering::Release);
            return false;
        }
        true
    }
}
