//! Endpoints: the mock origins of a [`Deproxy`](crate::Deproxy).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::net::TcpStream;

use crate::conn::connector::Connector;
use crate::conn::hyper_server::HyperConnector;
use crate::conn::origin::{self, Spec};
use crate::conn::pipeline::EndpointCtx;
use crate::conn::registry::Shared;
use crate::handler::{BoxHandler, Handler};
use crate::record::EndpointId;

/// Configures an endpoint; see [`Deproxy::endpoint`](crate::Deproxy::endpoint).
#[must_use]
pub struct EndpointBuilder<'d> {
    shared: &'d Arc<Shared>,
    endpoints: &'d Mutex<Vec<Endpoint>>,
    name: Option<String>,
    handler: Option<BoxHandler>,
    connector: Arc<dyn Connector>,
    addr: SocketAddr,
}

impl std::fmt::Debug for EndpointBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointBuilder")
            .field("name", &self.name)
            .field("connector", &self.connector)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl<'d> EndpointBuilder<'d> {
    /// A builder whose endpoint records into `shared` and joins `endpoints`.
    pub(crate) fn new(shared: &'d Arc<Shared>, endpoints: &'d Mutex<Vec<Endpoint>>) -> Self {
        Self {
            shared,
            endpoints,
            name: None,
            handler: None,
            connector: Arc::new(HyperConnector),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        }
    }

    /// The endpoint's name (default `endpoint-<n>`), usable in
    /// [`RequestBuilder::handler_for_name`](crate::RequestBuilder::handler_for_name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The endpoint's default handler (resolution step 4).
    pub fn handler(mut self, h: impl Handler) -> Self {
        self.handler = Some(BoxHandler::new(h));
        self
    }

    /// The connector that serves the accepted connections (default
    /// [`HyperConnector`](crate::HyperConnector)): a built-in one, by type or
    /// by [`ServerConnector`](crate::ServerConnector) name, or a custom
    /// [`Connector`].
    pub fn connector(mut self, c: impl Connector) -> Self {
        self.connector = Arc::new(c);
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, a free port): a fixed
    /// one such as `127.0.0.1:8081`, for a proxy under test whose upstream
    /// port is fixed in its configuration.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Binds the address (default `127.0.0.1:0`) and starts serving.
    ///
    /// # Errors
    /// When the bind fails (`AddrInUse` for a port already taken).
    pub async fn start(self) -> io::Result<Endpoint> {
        let spec = Spec {
            addr: self.addr,
            name: self.name,
            handler: self.handler,
            connector: self.connector,
        };
        let ctx = origin::start(Arc::clone(self.shared), spec).await?;
        let ep = Endpoint { ctx };
        self.endpoints.lock().push(ep.clone());
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

    /// The listening address (the bound port when the builder asked for port 0).
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
        self.ctx.requests_seen()
    }

    /// How many times the peer (the proxy) closed a connection while a
    /// stalling [`Fault`](crate::Fault) was in progress on a raw endpoint:
    /// the proof that a proxy gave up on, or cancelled, the upstream request.
    #[must_use]
    pub fn peer_closes(&self) -> u64 {
        self.ctx.peer_closes()
    }

    /// Waits until [`peer_closes`](Self::peer_closes) reaches `n`. Bound it
    /// with `tokio::time::timeout`.
    pub async fn wait_for_peer_closes(&self, n: u64) {
        self.ctx.wait_for_peer_closes(n).await;
    }

    /// Opens a plain TCP connection to the endpoint (Deproxy's `createRawConnection`).
    ///
    /// # Errors
    /// When the connect fails.
    pub async fn raw_connect(&self) -> io::Result<TcpStream> {
        TcpStream::connect(self.addr()).await
    }

    /// Stops accepting and aborts this endpoint's live connections.
    pub fn shutdown(&self) {
        self.ctx.shutdown();
    }
}
