//! The `Deproxy` object: the public entry point that owns the endpoints and
//! starts requests. The machinery behind it is in the internal `conn` module.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;
use parking_lot::Mutex;
use rustls::pki_types::CertificateDer;
use rustls::ClientConfig;

use crate::conn::registry::Shared;
use crate::conn::transport;
use crate::consts::{DEFAULT_MAX_BODY, REQUEST_ID_HEADER};
use crate::endpoint::{Endpoint, EndpointBuilder};
use crate::handler::{BoxHandler, Handler};
use crate::record::Handling;
use crate::request::RequestBuilder;

/// Plays both sides of a proxy under test: the client and the origins.
///
/// See the [crate docs](crate) for an example. Dropping the `Deproxy` closes
/// every endpoint and aborts every connection it still serves.
#[derive(Debug)]
pub struct Deproxy {
    shared: Arc<Shared>,
    endpoints: Mutex<Vec<Endpoint>>,
}

/// Builds a [`Deproxy`].
#[derive(Debug)]
#[must_use]
pub struct DeproxyBuilder {
    default_handler: Option<BoxHandler>,
    request_timeout: Duration,
    max_body: usize,
    trusted: Vec<CertificateDer<'static>>,
    tls_config: Option<Arc<ClientConfig>>,
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

    /// Trusts `ca` for `https` requests (repeatable): the client verifies the
    /// proxy's certificate against these roots only, and the name in the URL
    /// (or [`RequestBuilder::tls_server_name`]). Without any root nor
    /// [`tls_config`](Self::tls_config), an `https` request fails with
    /// [`ClientError::Tls`](crate::ClientError::Tls).
    pub fn trust(mut self, ca: CertificateDer<'static>) -> Self {
        self.trusted.push(ca);
        self
    }

    /// The whole TLS client config for `https` requests (it replaces the one
    /// [`trust`](Self::trust) builds): for client certificates, other roots,
    /// or ALPN. The harness speaks HTTP/1.1 only, so offer `http/1.1` if any.
    pub fn tls_config(mut self, config: Arc<ClientConfig>) -> Self {
        self.tls_config = Some(config);
        self
    }

    /// Builds the `Deproxy`.
    #[must_use]
    pub fn build(self) -> Deproxy {
        let tls = match (self.tls_config, self.trusted.is_empty()) {
            (Some(config), _) => Some(Ok(config)),
            (None, false) => Some(transport::trusting(&self.trusted)),
            (None, true) => None,
        };
        Deproxy {
            shared: Arc::new(Shared::new(
                self.default_handler,
                HeaderName::from_static(REQUEST_ID_HEADER),
                self.request_timeout,
                self.max_body,
                tls,
            )),
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
            trusted: Vec::new(),
            tls_config: None,
        }
    }

    /// Starts configuring an endpoint (a mock origin, by default on
    /// `127.0.0.1:0`; see [`EndpointBuilder::addr`]).
    pub fn endpoint(&self) -> EndpointBuilder<'_> {
        EndpointBuilder::new(&self.shared, &self.endpoints)
    }

    /// Adds an endpoint with no handler of its own, served by hyper.
    ///
    /// # Errors
    /// When binding `127.0.0.1:0` fails.
    pub async fn add_endpoint(&self) -> io::Result<Endpoint> {
        self.endpoint().start().await
    }

    /// Starts a request to `url` (`http://host:port/path?query`, or `https://`
    /// with a TLS client: [`DeproxyBuilder::trust`]); see [`RequestBuilder`].
    pub fn make_request(&self, url: impl Into<String>) -> RequestBuilder<'_> {
        RequestBuilder::new(&self.shared, url.into())
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
        self.shared.all_handlings()
    }

    /// Every handling that carried no ID known to this `Deproxy`, ever.
    #[must_use]
    pub fn orphans(&self) -> Vec<Handling> {
        self.shared.orphans()
    }

    /// Handlings whose ID belonged to a chain that had already closed
    /// (a mirror or retry that arrived after `send` returned).
    #[must_use]
    pub fn late_handlings(&self) -> Vec<Handling> {
        self.shared.late_handlings()
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
