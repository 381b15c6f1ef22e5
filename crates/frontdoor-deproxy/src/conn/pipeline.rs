//! The pipeline every request goes through whichever server reads it: the state a
//! running endpoint's connections share, and the handling of one request.
//!
//! The per-connection handle (`connection`), the servers (`hyper_server`,
//! `raw_server`) and the accept loop (`origin`) sit above this module and import
//! it; it imports none of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use tokio::time::Instant;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, DATE, SERVER, TRANSFER_ENCODING};
use http::{HeaderValue, Request, Response};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::registry::{ChainState, Shared};
use crate::consts::VERSION_STRING;
use crate::handler::{BoxHandler, Handler, Reply};
use crate::record::{clone_request, clone_response, ConnectionId, EndpointRef, Handling};

/// Everything a running endpoint's connections share.
pub(crate) struct EndpointCtx {
    pub(super) shared: Arc<Shared>,
    pub(crate) endpoint: EndpointRef,
    handler: Option<BoxHandler>,
    /// The connector's `Debug` text, for the endpoint's own `Debug`.
    connector: String,
    pub(super) cancel: CancellationToken,
    requests: AtomicU64,
    peer_closes: AtomicU64,
    peer_close_notify: Notify,
}

impl std::fmt::Debug for EndpointCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("endpoint", &self.endpoint)
            .field("connector", &self.connector)
            .finish_non_exhaustive()
    }
}

// === impl EndpointCtx ===

impl EndpointCtx {
    /// The state of a new endpoint; its cancellation is a child of the registry's.
    pub(super) fn new(
        shared: Arc<Shared>,
        endpoint: EndpointRef,
        handler: Option<BoxHandler>,
        connector: String,
    ) -> Self {
        Self {
            endpoint,
            handler,
            connector,
            cancel: shared.cancel.child_token(),
            requests: AtomicU64::new(0),
            peer_closes: AtomicU64::new(0),
            peer_close_notify: Notify::new(),
            shared,
        }
    }

    /// How many request heads reached the endpoint.
    pub(crate) fn requests_seen(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// How many times the peer closed while a stalling fault was in progress.
    pub(crate) fn peer_closes(&self) -> u64 {
        self.peer_closes.load(Ordering::Relaxed)
    }

    /// Waits until [`peer_closes`](Self::peer_closes) reaches `n`.
    pub(crate) async fn wait_for_peer_closes(&self, n: u64) {
        loop {
            let notified = self.peer_close_notify.notified();
            if self.peer_closes() >= n {
                return;
            }
            notified.await;
        }
    }

    /// Stops accepting and aborts the endpoint's live connections.
    pub(crate) fn shutdown(&self) {
        self.cancel.cancel();
    }

    /// Counts a request head (before its body is read).
    pub(super) fn saw_head(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a peer close observed while a fault was stalling.
    pub(super) fn peer_closed(&self) {
        self.peer_closes.fetch_add(1, Ordering::Relaxed);
        self.peer_close_notify.notify_waiters();
    }

    /// The endpoint pipeline (Deproxy's `handleRequest`): correlate, resolve
    /// the handler, call it, add default headers and the ID echo, record.
    pub(super) async fn handle(
        &self,
        req: Request<Bytes>,
        connection: ConnectionId,
        seq: u32,
    ) -> Reply {
        let shared = &self.shared;
        let id = req
            .headers()
            .get(&shared.id_header)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let chain = id.as_deref().and_then(|id| shared.chain(id));
        let recorded = clone_request(&req);
        let mut reply = match self.resolve(chain.as_deref()) {
            Some(handler) => handler.call(req).await,
            // step 6, `handlers::simple`
            None => Reply::status(200),
        };
        if reply.default_headers {
            add_default_headers(&mut reply.response);
        }
        if let Some(id) = &id {
            self.echo_id(&mut reply.response, id);
        }
        let handling = Handling {
            endpoint: self.endpoint.clone(),
            request: recorded,
            response: clone_response(&reply.response),
            fault: reply.fault.clone(),
            connection,
            seq_on_connection: seq,
            recorded_at: Instant::now(),
        };
        shared.record(handling, id.as_deref());
        reply
    }

    /// Handler resolution, exactly Deproxy's order; `None` for the last step,
    /// the built-in 200.
    fn resolve(&self, chain: Option<&ChainState>) -> Option<BoxHandler> {
        let from_chain = chain.and_then(|chain| {
            chain
                .by_endpoint
                .get(&self.endpoint.id)
                .or_else(|| chain.by_name.get(&self.endpoint.name))
                .or(chain.default.as_ref())
        });
        from_chain
            .or(self.handler.as_ref())
            .or(self.shared.default_handler.as_ref())
            .cloned()
    }

    /// Echoes the request ID unless the handler set the header itself.
    fn echo_id(&self, resp: &mut Response<Bytes>, id: &str) {
        let name = &self.shared.id_header;
        if !resp.headers().contains_key(name) {
            if let Ok(v) = HeaderValue::from_str(id) {
                resp.headers_mut().insert(name.clone(), v);
            }
        }
    }
}

fn add_default_headers(resp: &mut Response<Bytes>) {
    let len = resp.body().len();
    let status = resp.status();
    let headers = resp.headers_mut();
    if !headers.contains_key(SERVER) {
        headers.insert(SERVER, HeaderValue::from_static(VERSION_STRING));
    }
    if !headers.contains_key(DATE) {
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now())) {
            headers.insert(DATE, v);
        }
    }
    let bodiless = status.is_informational() || status == 204 || status == 304;
    if !bodiless
        && !headers.contains_key(CONTENT_LENGTH)
        && !headers.contains_key(TRANSFER_ENCODING)
    {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
}
