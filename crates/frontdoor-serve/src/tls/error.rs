//! [`TlsConfigError`]: why a certificate, a key or a certificate set was refused.

use std::{error::Error as StdError, fmt};

use frontdoor_core::BoxError;

/// What a [`TlsConfigError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsConfigErrorKind {
    /// The certificate chain: no certificate, not PEM, or not a certificate.
    Certificate,
    /// The private key: none, not PEM, or a kind the provider cannot sign with.
    Key,
    /// The private key is not the key of the chain's first certificate.
    KeyMismatch,
    /// A host name a certificate is to serve is not a DNS name or `*.` wildcard, or
    /// a certificate other than the default serves no name at all.
    Host,
    /// The rustls configuration could not be built.
    Config,
}

/// Why a certificate, a key or a certificate set was refused. `Display` is the
/// message; [`kind`](Self::kind) says which input was wrong and
/// [`index`](Self::index) which certificate of a set.
#[derive(Debug)]
pub struct TlsConfigError {
    kind: TlsConfigErrorKind,
    message: String,
    index: Option<usize>,
    source: Option<BoxError>,
}

impl TlsConfigError {
    pub(super) fn new(kind: TlsConfigErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            index: None,
            source: None,
        }
    }

    pub(super) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub(super) const fn at(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }

    /// What the error is about.
    #[must_use]
    pub const fn kind(&self) -> TlsConfigErrorKind {
        self.kind
    }

    /// For errors of [`CertSetBuilder::build`](super::CertSetBuilder::build): the
    /// position of the certificate concerned, in the order added.
    #[must_use]
    pub const fn index(&self) -> Option<usize> {
        self.index
    }

    /// Whether the error is about the private key (its file, or its match with the
    /// certificate) rather than the certificate or the host names.
    #[must_use]
    pub const fn is_key(&self) -> bool {
        matches!(
            self.kind,
            TlsConfigErrorKind::Key | TlsConfigErrorKind::KeyMismatch
        )
    }
}

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for TlsConfigError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}
