//! The rustls configuration for `https://` upstreams: the default, the SNI override
//! and the verifier that accepts any certificate.

use std::sync::Arc;

use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider},
    pki_types::{CertificateDer, ServerName, UnixTime},
    DigitallySignedStruct, SignatureScheme,
};

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

/// `name` as a TLS server name (a DNS name or an IP address, brackets allowed).
pub(crate) fn server_name(name: &str) -> Result<ServerName<'static>, UpstreamConfigError> {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    ServerName::try_from(bare.to_owned()).map_err(|e| {
        UpstreamConfigError::new(
            "tls",
            format!("server name {name:?} is not a DNS name or IP address"),
        )
        .with_source(e)
    })
}

/// `config` with a verifier that accepts any certificate (handshake signatures are
/// still checked, with `config`'s provider).
pub(crate) fn accept_invalid_certs(mut config: rustls::ClientConfig) -> rustls::ClientConfig {
    let provider = Arc::clone(config.crypto_provider());
    config
        .dangerous()
        .set_certificate_verifier(Arc::new(AcceptAny { provider }));
    config
}

/// See [`accept_invalid_certs`].
#[derive(Debug)]
struct AcceptAny {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
