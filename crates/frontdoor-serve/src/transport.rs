//! How a listener's connections start: plaintext, or a TLS handshake first.

/// How a listener's connections start.
#[derive(Clone)]
pub(crate) enum Transport {
    /// Plaintext: HTTP/1.1 or h2c from the first byte.
    Plain,
    /// A TLS handshake first.
    #[cfg(feature = "tls")]
    Tls(tokio_rustls::TlsAcceptor),
}

impl Transport {
    pub(crate) const fn is_tls(&self) -> bool {
        !matches!(self, Self::Plain)
    }
}
