//! TLS listeners: HTTPS with certificates chosen by SNI and swapped at runtime.
//!
//! [`Server::bind_tls`](crate::Server::bind_tls) and
//! [`Workers::bind_tls`](crate::Workers::bind_tls) add listeners whose connections
//! start with a TLS handshake (rustls, `ring` provider):
//!
//! * TLS 1.3 and 1.2, ALPN `h2` and `http/1.1`: the protocol agreed by ALPN is the one
//!   served (a client without ALPN is sniffed, as on plaintext listeners); session
//!   resumption with stateless tickets;
//! * a handshake deadline ([`Server::tls_handshake_timeout`](crate::Server::tls_handshake_timeout)):
//!   a client that never sends its ClientHello, or never finishes the handshake, is
//!   cut off; the header-read timeout starts after the handshake;
//! * every request carries [`ConnInfo`] with `tls = true`, so
//!   resolvers see the scheme `https` (and the `https` label of a by-scheme table, for
//!   a request to port 443), and a [`TlsInfo`] with the SNI
//!   name;
//! * certificates come from a [`CertResolver`]: a [`CertSet`] of exact names, `*.`
//!   wildcards and a default certificate (for clients without SNI or with a name no
//!   certificate lists), replaced atomically with [`CertResolver::store`], so renewed
//!   certificates reach new handshakes without dropping a connection.
//!
//! The `Host` header, not SNI, decides routing, and the two are not required to agree
//! (nginx's default; HTTP/2 clients reuse a connection for every name its certificate
//! covers).
//!
//! # Example
//!
//! ```
//! use frontdoor_serve::tls::{CertResolver, CertSet, Certificate, TlsConfig};
//!
//! # fn main() -> Result<(), frontdoor_core::BoxError> {
//! # let pem = |names: &[&str]| {
//! #     let key = rcgen::KeyPair::generate().unwrap();
//! #     let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
//! #     let cert = rcgen::CertificateParams::new(names).unwrap().self_signed(&key).unwrap();
//! #     (cert.pem(), key.serialize_pem())
//! # };
//! # let (www_chain, www_key) = pem(&["www.example.com"]);
//! # let (api_chain, api_key) = pem(&["api.example.com", "*.api.example.com"]);
//! // PEM files as certbot writes them (here: generated).
//! let www = Certificate::from_pem(www_chain.as_bytes(), www_key.as_bytes())?;
//! let api = Certificate::from_pem(api_chain.as_bytes(), api_key.as_bytes())?;
//! assert_eq!(api.names(), ["api.example.com", "*.api.example.com"]);
//!
//! // The first certificate is the default.
//! let set = CertSet::builder().cert(www).cert(api).build()?;
//! assert_eq!(set.lookup(Some("v1.api.example.com")).names()[0], "api.example.com");
//! assert_eq!(set.lookup(Some("unknown.example")).names()[0], "www.example.com");
//! assert_eq!(set.lookup(None).names()[0], "www.example.com");
//!
//! // Listeners hold the resolver; `store` swaps the set for new handshakes.
//! let certs = CertResolver::new(set);
//! let tls = TlsConfig::new(certs.clone())?;
//! # let _ = tls;
//! // frontdoor_serve::Server::bind(&[plain]).await?.bind_tls(&[https], &tls).await?
//! # Ok(())
//! # }
//! ```

mod certs;
mod error;
mod x509;

use std::{fmt, sync::Arc};

use frontdoor_core::{ConnInfo, TlsInfo};
use rustls::{version, ServerConfig};
use tokio::{net::TcpStream, time::Instant};
use tokio_rustls::{server::TlsStream, TlsAcceptor};
use tower_http::add_extension::AddExtension;
use tracing::debug;

pub use self::{
    certs::{server_name_pattern, CertResolver, CertSet, CertSetBuilder, Certificate},
    error::{TlsConfigError, TlsConfigErrorKind},
};
use crate::{
    bounds::{ConnService, ResponseBody},
    clock::ConnClock,
    conn_io::Held,
    http_conn::{conn_io, serve_http, Protocol},
    proxy_protocol::Rewind,
    shared::Shared,
};

/// The rustls crate, as this module uses it (for [`TlsConfig::from_rustls`] and
/// [`Certificate::from_der`]).
pub use rustls;

// === TlsConfig ===

/// How a TLS listener handshakes: a rustls server configuration. Cheap to clone.
///
/// See the [module docs](self).
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<ServerConfig>,
}

impl TlsConfig {
    /// TLS 1.3 and 1.2 with the `ring` provider, ALPN `h2` then `http/1.1`, no client
    /// authentication, stateless session tickets, and certificates from `certs`.
    ///
    /// # Errors
    ///
    /// A [`Config`](TlsConfigErrorKind::Config) error when rustls refuses the
    /// configuration (not expected with the `ring` provider).
    pub fn new(certs: CertResolver) -> Result<Self, TlsConfigError> {
        let rustls_error = |what: &str, e: rustls::Error| {
            TlsConfigError::new(TlsConfigErrorKind::Config, format!("{what}: {e}")).with_source(e)
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&version::TLS13, &version::TLS12])
            .map_err(|e| rustls_error("no usable protocol version", e))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(certs));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        config.ticketer = rustls::crypto::ring::Ticketer::new()
            .map_err(|e| rustls_error("cannot make session tickets", e))?;
        Ok(Self {
            server: Arc::new(config),
        })
    }

    /// A configuration of your own (client certificates, other protocols). Its ALPN
    /// list is used as is: include `h2` and `http/1.1` to serve both by ALPN.
    #[must_use]
    pub const fn from_rustls(config: Arc<ServerConfig>) -> Self {
        Self { server: config }
    }

    /// The rustls server configuration.
    #[must_use]
    pub const fn rustls(&self) -> &Arc<ServerConfig> {
        &self.server
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.server))
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("alpn_protocols", &self.server.alpn_protocols)
            .finish_non_exhaustive()
    }
}

// === serving a TLS connection ===

/// Serves one accepted TLS connection: the handshake under its deadline, then HTTP
/// as on a plaintext connection, in the protocol ALPN agreed, the connection's clock
/// starting at the handshake's end. `held` (its place under the connection limits)
/// is given back when the connection closes.
pub(crate) async fn serve_connection<S, B>(
    stream: Rewind<TcpStream>,
    info: ConnInfo,
    acceptor: &TlsAcceptor,
    held: Held,
    service: S,
    shared: &Shared,
) where
    S: ConnService<B>,
    B: ResponseBody,
{
    let Some(stream) = handshake(stream, acceptor, &info, shared).await else {
        return;
    };
    let (_, session) = stream.get_ref();
    let protocol = match session.alpn_protocol() {
        Some(b"h2") => Protocol::Http2,
        Some(b"http/1.1") => Protocol::Http1,
        _ => Protocol::Detect,
    };
    let tls = TlsInfo::new(session.server_name().map(Arc::from));
    // Each request of the connection carries its TLS facts (SNI name).
    let service = AddExtension::new(service, tls);
    let clock = ConnClock::new(Instant::now());
    let io = conn_io(stream, &clock, held, shared);
    serve_http(io, clock, info.with_tls(true), protocol, service, shared).await;
}

/// The handshake, within the handshake timeout; `None` when it failed, timed out, or
/// shutdown began first.
async fn handshake(
    stream: Rewind<TcpStream>,
    acceptor: &TlsAcceptor,
    info: &ConnInfo,
    shared: &Shared,
) -> Option<TlsStream<Rewind<TcpStream>>> {
    let timeout = shared.config.tls_handshake_timeout;
    tokio::select! {
        biased;
        () = shared.shutdown.cancelled() => None,
        done = tokio::time::timeout(timeout, acceptor.accept(stream)) => match done {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(error)) => {
                debug!(remote = %info.remote, %error, "tls handshake failed");
                None
            }
            Err(_) => {
                debug!(remote = %info.remote, "tls handshake timeout");
                None
            }
        },
    }
}

#[cfg(test)]
mod tests;
