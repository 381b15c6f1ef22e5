//! The default rustls configuration for `https://` upstreams.

use std::sync::Arc;

use crate::UpstreamConfigError;

/// webpki roots, the `ring` provider, safe default protocol versions, no client auth.
/// Certificate verification is on; SNI comes from the upstream host.
pub(crate) fn default_config() -> Result<rustls::ClientConfig, UpstreamConfigError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| UpstreamConfigError::new("tls", "no usable protocol version").with_source(e))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
