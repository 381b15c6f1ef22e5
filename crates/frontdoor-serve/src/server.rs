//! [`Server`]: the listeners of one runtime, serving one service.

use std::{
    fmt,
    future::{pending, Future},
    io,
    net::SocketAddr,
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError};
use http::{Request, Response};
use tokio::net::TcpListener;
use tower::Service;
use tracing::info;

#[cfg(feature = "tls")]
use crate::tls::TlsConfig;
use crate::{
    accept::accept_loop,
    config::{limit_setters, Config},
    shared::Shared,
    transport::Transport,
};

/// A set of bound listeners and the connection settings to serve them with.
///
/// See the [module docs](super).
#[must_use]
pub struct Server {
    listeners: Vec<(TcpListener, Transport)>,
    config: Config,
}

// === impl Server ===

impl Server {
    /// Binds every address in `addrs` (port 0 picks a free port).
    ///
    /// # Errors
    ///
    /// The first bind error, with the address in its message.
    pub async fn bind(addrs: &[SocketAddr]) -> io::Result<Self> {
        Ok(Self::from_listeners(bind_all(addrs).await?))
    }

    /// Serves already bound listeners.
    pub fn from_listeners(listeners: Vec<TcpListener>) -> Self {
        Self {
            listeners: listeners
                .into_iter()
                .map(|l| (l, Transport::Plain))
                .collect(),
            config: Config::default(),
        }
    }

    /// Also binds every address in `addrs` as a TLS (HTTPS) listener handshaking with
    /// `tls`. For a TLS-only server, start from `Server::bind(&[])`.
    ///
    /// # Errors
    ///
    /// The first bind error, with the address in its message.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub async fn bind_tls(self, addrs: &[SocketAddr], tls: &TlsConfig) -> io::Result<Self> {
        Ok(self.tls_listeners(bind_all(addrs).await?, tls))
    }

    /// Also serves already bound listeners as TLS listeners handshaking with `tls`.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls_listeners(mut self, listeners: Vec<TcpListener>, tls: &TlsConfig) -> Self {
        let acceptor = tls.acceptor();
        self.listeners.extend(
            listeners
                .into_iter()
                .map(|l| (l, Transport::Tls(acceptor.clone()))),
        );
        self
    }

    /// The addresses of the plaintext listeners, in the order given.
    ///
    /// # Errors
    ///
    /// When the OS cannot report a listener's address.
    pub fn local_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        self.addrs_where(|t| !t.is_tls())
    }

    /// The addresses of the TLS listeners, in the order given.
    ///
    /// # Errors
    ///
    /// When the OS cannot report a listener's address.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn local_tls_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        self.addrs_where(Transport::is_tls)
    }

    fn addrs_where(&self, keep: impl Fn(&Transport) -> bool) -> io::Result<Vec<SocketAddr>> {
        self.listeners
            .iter()
            .filter(|(_, t)| keep(t))
            .map(|(l, _)| l.local_addr())
            .collect()
    }

    limit_setters!();

    /// Serves `service` until the process ends.
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for fatal listener errors.
    pub async fn serve<S, B>(self, service: S) -> io::Result<()>
    where
        S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.serve_with_shutdown(service, pending()).await
    }

    /// Serves `service` until `signal` completes, then shuts down gracefully: keep
    /// serving for the [drain delay](Self::drain_delay) (none by default), stop
    /// accepting, let in-flight requests finish within the drain timeout, drop the
    /// rest. Returns when every connection is closed. To let a health check know when
    /// `signal` fires, pass it through [`Drain::on`](crate::Drain::on).
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for fatal listener errors.
    pub async fn serve_with_shutdown<S, B, F>(self, service: S, signal: F) -> io::Result<()>
    where
        S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
        F: Future<Output = ()> + Send,
    {
        let shared = Shared::new(self.config);
        for (listener, transport) in self.listeners {
            if let Ok(addr) = listener.local_addr() {
                info!(%addr, tls = transport.is_tls(), "listening");
            }
            shared.tracker.spawn(accept_loop(
                listener,
                transport,
                service.clone(),
                shared.clone(),
            ));
        }
        shared.until_closing(signal).await;
        shared.shutdown.cancel();
        shared.drain(None).await;
        Ok(())
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Server");
        d.field("local_addrs", &self.local_addrs().ok());
        #[cfg(feature = "tls")]
        d.field("local_tls_addrs", &self.local_tls_addrs().ok());
        d.field("header_read_timeout", &self.config.header_read_timeout)
            .field("body_read_timeout", &self.config.body_read_timeout)
            .field("max_connections", &self.config.max_connections)
            .field("drain_timeout", &self.config.drain_timeout)
            .field("config", &self.config)
            .finish()
    }
}

/// Binds every address in `addrs`, in order.
async fn bind_all(addrs: &[SocketAddr]) -> io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        listeners.push(listener);
    }
    Ok(listeners)
}
