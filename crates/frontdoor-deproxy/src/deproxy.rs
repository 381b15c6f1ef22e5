//! The `Deproxy` object, its endpoints and the chain registry.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, DATE, SERVER, TRANSFER_ENCODING};
use http::{HeaderName, HeaderValue, Request, Response};
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::handler::{BoxHandler, Handler, Reply};
use crate::record::{
    clone_request, clone_response, ConnectionId, EndpointId, EndpointRef, Handling,
};
use crate::request::RequestBuilder;

/// The name of the correlation header, as in the original Deproxy.
pub const REQUEST_ID_HEADER: &str = "deproxy-request-id";

/// The `Server` and `User-Agent` value the harness sends by default.
pub const VERSION_STRING: &str = concat!("deproxy-rs/", env!("CARGO_PKG_VERSION"));

/// Default cap on request and response bodies the harness buffers.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

/// Cap on a request or response head.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// Plays both sides of a proxy under test: the client and the origins.
///
/// See the [crate docs](crate) for an example. Dropping the `Deproxy` closes
/// every endpoint and aborts every connection it still serves.
#[derive(Debug)]
pub struct Deproxy {
    pub(crate) shared: Arc<Shared>,
    endpoints: Mutex<Vec<Endpoint>>,
}

/// Builds a [`Deproxy`].
#[derive(Debug)]
#[must_use]
pub struct DeproxyBuilder {
    default_handler: Option<BoxHandler>,
    request_timeout: Duration,
    max_body: usize,
}

pub(crate) struct Shared {
    pub(crate) default_handler: Option<BoxHandler>,
    pub(crate) id_header: HeaderName,
    pub(crate) request_timeout: Duration,
    pub(crate) max_body: usize,
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
#[derive(Default)]
pub(crate) struct ChainState {
    pub(crate) by_endpoint: HashMap<EndpointId, BoxHandler>,
    pub(crate) by_name: HashMap<String, BoxHandler>,
    pub(crate) default: Option<BoxHandler>,
    pub(crate) handlings: Mutex<Vec<Handling>>,
    pub(crate) orphans: Mutex<Vec<Handling>>,
    pub(crate) notify: Notify,
}

// === impl DeproxyBuilder ===

impl DeproxyBuilder {
    /// The Deproxy-wide default handler (resolution step 5).
    pub fn default_handler(mut self, h: impl Handler) -> Self {
        self.default_handler = Some(BoxHandler::new(h));
        self
    }

    /// The default bound on one client exchange (default 30 s), so a hanging
    /// proxy fails a test instead of hanging it.
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }

    /// The cap on bodies the harness buffers, on both sides (default 16 MiB).
    /// An endpoint answers 413 to a larger request body and records nothing.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Builds the `Deproxy`.
    #[must_use]
    pub fn build(self) -> Deproxy {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        Deproxy {
            shared: Arc::new(Shared {
                default_handler: self.default_handler,
                id_header: HeaderName::from_static(REQUEST_ID_HEADER),
                request_timeout: self.request_timeout,
                max_body: self.max_body,
                cancel: CancellationToken::new(),
                state: Mutex::new(State::default()),
                next_endpoint: AtomicUsize::new(0),
                next_conn: AtomicU64::new(0),
                id_counter: AtomicU64::new(0),
                id_seed: h.finish(),
            }),
            endpoints: Mutex::new(Vec::new()),
        }
    }
}

// === impl Deproxy ===

impl Default for Deproxy {
    fn default() -> Self {
        Self::new()
    }
}

impl Deproxy {
    /// A `Deproxy` with default settings.
    #[must_use]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Starts configuring a `Deproxy`.
    pub fn builder() -> DeproxyBuilder {
        DeproxyBuilder {
            default_handler: None,
            request_timeout: Duration::from_secs(30),
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Starts configuring an endpoint (a mock origin on `127.0.0.1:0`).
    pub fn endpoint(&self) -> EndpointBuilder<'_> {
        EndpointBuilder {
            deproxy: self,
            name: None,
            handler: None,
            connector: ServerConnector::Hyper,
        }
    }

    /// Adds an endpoint with no handler of its own, served by hyper.
    ///
    /// # Errors
    /// When binding `127.0.0.1:0` fails.
    pub async fn add_endpoint(&self) -> std::io::Result<Endpoint> {
        self.endpoint().start().await
    }

    /// Starts a request to `url` (`http://host:port/path?query`); see [`RequestBuilder`].
    pub fn make_request(&self, url: impl Into<String>) -> RequestBuilder<'_> {
        RequestBuilder::new(self, url.into())
    }

    /// A fresh request ID, for raw requests that carry their own
    /// `Deproxy-Request-ID` (see [`RequestBuilder::request_id`]).
    #[must_use]
    pub fn new_request_id(&self) -> String {
        self.shared.new_request_id()
    }

    /// The endpoints added so far.
    #[must_use]
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.endpoints.lock().clone()
    }

    /// Every handling recorded by any endpoint of this `Deproxy`, in arrival order.
    #[must_use]
    pub fn all_handlings(&self) -> Vec<Handling> {
        self.shared.state.lock().all.clone()
    }

    /// Every handling that carried no ID known to this `Deproxy`, ever.
    #[must_use]
    pub fn orphans(&self) -> Vec<Handling> {
        self.shared.state.lock().orphans.clone()
    }

    /// Handlings whose ID belonged to a chain that had already closed
    /// (a mirror or retry that arrived after `send` returned).
    #[must_use]
    pub fn late_handlings(&self) -> Vec<Handling> {
        self.shared.state.lock().late.clone()
    }

    /// Closes every endpoint listener and aborts every live connection.
    pub fn shutdown(&self) {
        self.shared.cancel.cancel();
        self.endpoints.lock().clear();
    }
}

impl Drop for Deproxy {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

// === impl Shared ===

impl Shared {
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

    pub(crate) fn open_chain(&self, id: String, chain: Arc<ChainState>) {
        self.state.lock().active.insert(id, chain);
    }

    pub(crate) fn close_chain(&self, id: &str) {
        let mut st = self.state.lock();
        st.active.remove(id);
        st.closed.insert(id.to_owned());
    }

    fn chain(&self, id: &str) -> Option<Arc<ChainState>> {
        self.state.lock().active.get(id).cloned()
    }

    fn record(&self, handling: Handling, id: Option<&str>) {
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
}

// === Endpoint ===

/// How an endpoint talks HTTP on its accepted connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ServerConnector {
    /// A conformant hyper HTTP/1.1 server with upgrades (the default).
    #[default]
    Hyper,
    /// The harness's own lenient HTTP/1.x reader and writer. Executes every
    /// [`Fault`](crate::Fault) a handler returns.
    Raw,
    /// Accepts, then closes at once (with an RST when `reset`); records nothing.
    AcceptThenClose {
        /// Close with `SO_LINGER 0`, which sends an RST.
        reset: bool,
    },
    /// Accepts, then never reads nor writes; records nothing.
    AcceptThenHang,
}

/// Configures an endpoint; see [`Deproxy::endpoint`].
#[must_use]
pub struct EndpointBuilder<'d> {
    deproxy: &'d Deproxy,
    name: Option<String>,
    handler: Option<BoxHandler>,
    connector: ServerConnector,
}

impl std::fmt::Debug for EndpointBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointBuilder")
            .field("name", &self.name)
            .field("connector", &self.connector)
            .finish_non_exhaustive()
    }
}

impl EndpointBuilder<'_> {
    /// The endpoint's name (default `endpoint-<n>`), usable in
    /// [`RequestBuilder::handler_for_name`].
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The endpoint's default handler (resolution step 4).
    pub fn handler(mut self, h: impl Handler) -> Self {
        self.handler = Some(BoxHandler::new(h));
        self
    }

    /// The server connector (default [`ServerConnector::Hyper`]).
    pub fn connector(mut self, c: ServerConnector) -> Self {
        self.connector = c;
        self
    }

    /// Binds `127.0.0.1:0` and starts serving.
    ///
    /// # Errors
    /// When the bind fails.
    pub async fn start(self) -> std::io::Result<Endpoint> {
        let shared = Arc::clone(&self.deproxy.shared);
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let n = shared.next_endpoint.fetch_add(1, Ordering::Relaxed);
        let ctx = Arc::new(EndpointCtx {
            endpoint: EndpointRef {
                id: EndpointId(n),
                name: self.name.unwrap_or_else(|| format!("endpoint-{n}")),
                addr,
            },
            handler: self.handler,
            connector: self.connector,
            cancel: shared.cancel.child_token(),
            requests: AtomicU64::new(0),
            peer_closes: AtomicU64::new(0),
            peer_close_notify: Notify::new(),
            shared,
        });
        tokio::spawn(accept_loop(listener, Arc::clone(&ctx)));
        let ep = Endpoint { ctx };
        self.deproxy.endpoints.lock().push(ep.clone());
        Ok(ep)
    }
}

/// A running mock origin. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Endpoint {
    ctx: Arc<EndpointCtx>,
}

impl Endpoint {
    /// The endpoint's id.
    #[must_use]
    pub fn id(&self) -> EndpointId {
        self.ctx.endpoint.id
    }

    /// The endpoint's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.ctx.endpoint.name
    }

    /// The listening address (always on `127.0.0.1`).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.ctx.endpoint.addr
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// How many request heads reached the endpoint, including requests whose
    /// body never completed (those have no handling).
    #[must_use]
    pub fn requests_seen(&self) -> u64 {
        self.ctx.requests.load(Ordering::Relaxed)
    }

    /// How many times the peer (the proxy) closed a connection while a
    /// stalling [`Fault`](crate::Fault) was in progress on a raw endpoint:
    /// the proof that a proxy gave up on, or cancelled, the upstream request.
    #[must_use]
    pub fn peer_closes(&self) -> u64 {
        self.ctx.peer_closes.load(Ordering::Relaxed)
    }

    /// Waits until [`peer_closes`](Self::peer_closes) reaches `n`. Bound it
    /// with `tokio::time::timeout`.
    pub async fn wait_for_peer_closes(&self, n: u64) {
        loop {
            let notified = self.ctx.peer_close_notify.notified();
            if self.peer_closes() >= n {
                return;
            }
            notified.await;
        }
    }

    /// Opens a plain TCP connection to the endpoint (Deproxy's `createRawConnection`).
    ///
    /// # Errors
    /// When the connect fails.
    pub async fn raw_connect(&self) -> std::io::Result<TcpStream> {
        TcpStream::connect(self.addr()).await
    }

    /// Stops accepting and aborts this endpoint's live connections.
    pub fn shutdown(&self) {
        self.ctx.cancel.cancel();
    }
}

pub(crate) struct EndpointCtx {
    pub(crate) shared: Arc<Shared>,
    pub(crate) endpoint: EndpointRef,
    handler: Option<BoxHandler>,
    connector: ServerConnector,
    pub(crate) cancel: CancellationToken,
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

async fn accept_loop(listener: TcpListener, ctx: Arc<EndpointCtx>) {
    loop {
        let accepted = tokio::select! {
            () = ctx.cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((stream, _peer)) = accepted else {
            continue;
        };
        let conn = ConnectionId(ctx.shared.next_conn.fetch_add(1, Ordering::Relaxed));
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            let cancel = ctx.cancel.clone();
            tokio::select! {
                () = cancel.cancelled() => {}
                () = serve_connection(stream, ctx, conn) => {}
            }
        });
    }
}

async fn serve_connection(stream: TcpStream, ctx: Arc<EndpointCtx>, conn: ConnectionId) {
    match ctx.connector {
        ServerConnector::Hyper => crate::server::serve_hyper(stream, ctx, conn).await,
        ServerConnector::Raw => crate::fault::serve_raw(stream, ctx, conn).await,
        ServerConnector::AcceptThenClose { reset } => {
            if reset {
                let _ = stream.set_zero_linger();
            }
            drop(stream);
        }
        ServerConnector::AcceptThenHang => {
            let _keep = stream;
            std::future::pending::<()>().await;
        }
    }
}

/// A per-connection request counter.
#[derive(Debug, Default)]
pub(crate) struct ConnSeq(AtomicU32);

impl ConnSeq {
    pub(crate) fn next(&self) -> u32 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

impl EndpointCtx {
    /// Counts a request head (before its body is read).
    pub(crate) fn saw_head(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a peer close observed while a fault was stalling.
    pub(crate) fn peer_closed(&self) {
        self.peer_closes.fetch_add(1, Ordering::Relaxed);
        self.peer_close_notify.notify_waiters();
    }

    /// The endpoint pipeline (Deproxy's `handleRequest`): correlate, resolve
    /// the handler, call it, add default headers and the ID echo, record.
    pub(crate) async fn handle(
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
        let handler = self.resolve(chain.as_deref());
        let recorded = clone_request(&req);
        let mut reply = handler.call(req).await;
        if reply.default_headers {
            add_default_headers(&mut reply.response);
        }
        if let Some(id) = &id {
            if !reply.response.headers().contains_key(&shared.id_header) {
                if let Ok(v) = HeaderValue::from_str(id) {
                    reply
                        .response
                        .headers_mut()
                        .insert(shared.id_header.clone(), v);
                }
            }
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

    /// Handler resolution, exactly Deproxy's order.
    fn resolve(&self, chain: Option<&ChainState>) -> BoxHandler {
        if let Some(chain) = chain {
            if let Some(h) = chain.by_endpoint.get(&self.endpoint.id) {
                return h.clone();
            }
            if let Some(h) = chain.by_name.get(&self.endpoint.name) {
                return h.clone();
            }
            if let Some(h) = &chain.default {
                return h.clone();
            }
        }
        if let Some(h) = &self.handler {
            return h.clone();
        }
        if let Some(h) = &self.shared.default_handler {
            return h.clone();
        }
        BoxHandler::new(crate::handlers::simple())
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
