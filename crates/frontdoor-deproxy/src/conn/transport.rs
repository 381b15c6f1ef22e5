//! The client's transport: opening a connection (TCP, or TLS over TCP), and
//! [`ClientConnection`], one kept open across requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, MutexGuard};
use tokio_rustls::TlsConnector;

use crate::record::ClientError;

/// A byte stream the client can talk on: TCP or TLS.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// An open client stream.
pub(crate) type Stream = Box<dyn Io>;

/// Where to connect, and whether to speak TLS there.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    pub(crate) host: &'a str,
    pub(crate) port: u16,
    /// The TLS client and the name the server must prove, for `https`.
    pub(crate) tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
}

impl Target<'_> {
    /// Connects, then shakes hands when TLS is asked for.
    pub(crate) async fn connect(&self) -> Result<Stream, ClientError> {
        // `[::1]` in a URL is `::1` to the resolver.
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let tcp = TcpStream::connect((host, self.port))
            .await
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        let Some((config, name)) = &self.tls else {
            return Ok(Box::new(tcp));
        };
        let tls = TlsConnector::from(Arc::clone(config))
            .connect(name.clone(), tcp)
            .await
            .map_err(|e| ClientError::Tls(e.to_string()))?;
        Ok(Box::new(tls))
    }
}

/// A client connection kept open across
/// [`make_request`](crate::Deproxy::make_request) calls: every request sent
/// with [`RequestBuilder::connection`](crate::RequestBuilder::connection) and
/// the same `ClientConnection` goes over one TCP (or TLS) connection, so the
/// endpoints behind the proxy see the proxy's reuse, or not.
///
/// The first request opens the connection (to its URL's authority, TLS for
/// `https`); later requests write on it whatever their URL says. It stays open
/// while every exchange on it ends cleanly with a response that allows reuse:
/// HTTP/1.1, no `Connection: close` on either side, a framed body, no upgrade,
/// no client fault, no error or timeout. Otherwise it is closed, and the next
/// request opens a new one ([`connections_opened`](Self::connections_opened)
/// counts them). A request on a connection the proxy closed while it was idle
/// is not retried: it fails with
/// [`ClientError::ClosedBeforeResponse`](crate::ClientError::ClosedBeforeResponse).
///
/// Requests on one `ClientConnection` take turns: a second request waits for
/// the first exchange to finish. Clones share the connection.
///
/// ```
/// use frontdoor_deproxy::{ClientConnection, Deproxy};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let deproxy = Deproxy::new();
/// let origin = deproxy.add_endpoint().await?;
/// let conn = ClientConnection::new();
/// let first = deproxy.make_request(origin.url()).connection(&conn).send().await;
/// let second = deproxy.make_request(origin.url()).connection(&conn).send().await;
/// // `origin.url()` would be the proxy's: here the origin itself saw one connection.
/// assert_eq!(first.single_handling().connection, second.single_handling().connection);
/// assert_eq!(second.single_handling().seq_on_connection, 1);
/// assert_eq!(conn.connections_opened(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClientConnection {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    open: Mutex<Open>,
    opened: AtomicU64,
}

/// The open stream, and the bytes read past the last response.
#[derive(Default)]
struct Open {
    stream: Option<Stream>,
    buf: BytesMut,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConnection")
            .field("opened", &self.opened.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

// === impl ClientConnection ===

impl ClientConnection {
    /// A connection not opened yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many connections this `ClientConnection` has opened: 1 after any
    /// number of requests that all kept it open.
    #[must_use]
    pub fn connections_opened(&self) -> u64 {
        self.inner.opened.load(Ordering::Relaxed)
    }

    /// Closes the connection now (after a request in progress); the next
    /// request opens a new one.
    pub async fn close(&self) {
        let mut open = self.inner.open.lock().await;
        open.stream = None;
        open.buf.clear();
    }

    /// The open stream, opened to `target` first when none is open. Dropping
    /// the lease without [`Lease::finish`] (a timeout) drops the stream.
    pub(crate) async fn lease(&self, target: &Target<'_>) -> Result<Lease<'_>, ClientError> {
        let mut open = self.inner.open.lock().await;
        let stream = match open.stream.take() {
            Some(s) => s,
            None => {
                open.buf.clear();
                let s = target.connect().await?;
                self.inner.opened.fetch_add(1, Ordering::Relaxed);
                s
            }
        };
        Ok(Lease { open, stream })
    }
}

/// A [`ClientConnection`]'s stream while one exchange runs on it.
pub(crate) struct Lease<'a> {
    open: MutexGuard<'a, Open>,
    stream: Stream,
}

impl Lease<'_> {
    /// The stream, and the buffer of bytes read past the last response.
    pub(crate) fn parts(&mut self) -> (&mut Stream, &mut BytesMut) {
        (&mut self.stream, &mut self.open.buf)
    }

    /// Gives the stream back, kept open for the next request when `reusable`.
    pub(crate) fn finish(mut self, reusable: bool) {
        if reusable {
            self.open.stream = Some(self.stream);
        } else {
            self.open.buf.clear();
        }
    }
}

/// A TLS client trusting `roots` only (ring, TLS 1.2 and 1.3, ALPN `http/1.1`).
pub(crate) fn trusting(roots: &[CertificateDer<'static>]) -> Result<Arc<ClientConfig>, String> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store
            .add(root.clone())
            .map_err(|e| format!("trusted certificate: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
