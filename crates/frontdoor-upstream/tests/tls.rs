//! `https://` upstreams against real TLS servers on loopback with a generated CA:
//! HTTP/1.1 and HTTP/2 by ALPN, the SNI override, a client certificate, and
//! verification (on, and explicitly off).
#![cfg(feature = "tls")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod support;

use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use frontdoor_core::Body;
use frontdoor_upstream::{ProxyErrorKind, Upstream};
use http::{Request, Response};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::{
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
    server::WebPkiClientVerifier,
    ClientConfig, RootCertStore, ServerConfig,
};
use support::collect;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A CA and what it signs.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "test CA");
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// A leaf for `names`: (chain, key).
    fn leaf(&self, names: &[&str]) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![cert.der().clone(), self.der()], der)
    }

    fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.der()).unwrap();
        roots
    }
}

/// A TLS upstream offering `alpn`, answering `<version> <sni>`; `client_ca` requires
/// a client certificate signed by it.
async fn tls_upstream(
    ca: &Ca,
    names: &[&str],
    alpn: &[&[u8]],
    client_ca: Option<&Ca>,
) -> SocketAddr {
    let (chain, key) = ca.leaf(names);
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(client_ca) => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(Arc::new(client_ca.roots()), provider())
                .build()
                .unwrap(),
        ),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let sni = tls.get_ref().1.server_name().unwrap_or("-").to_owned();
                let svc = hyper::service::service_fn(move |req: Request<_>| {
                    let text = format!("{:?} {}", req.version(), sni);
                    async move { Ok::<_, Infallible>(Response::new(Body::from(text))) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    addr
}

fn trusting(ca: &Ca) -> ClientConfig {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(ca.roots())
        .with_no_client_auth()
}

async fn answer(up: Upstream) -> Result<String, frontdoor_upstream::ProxyError> {
    let res = up
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await?;
    Ok(String::from_utf8(collect(res.into_body()).await.unwrap().to_vec()).unwrap())
}

#[tokio::test]
async fn https_upstreams_speak_http1_or_h2_as_alpn_agrees() {
    let ca = Ca::new();
    for (alpn, want) in [
        (&[&b"h2"[..], b"http/1.1"][..], "HTTP/2.0 localhost"),
        (&[&b"http/1.1"[..]][..], "HTTP/1.1 localhost"),
    ] {
        let addr = tls_upstream(&ca, &["localhost"], alpn, None).await;
        let up = Upstream::builder(&format!("https://localhost:{}", addr.port()))
            .tls_config(trusting(&ca))
            .build()
            .unwrap();
        assert_eq!(answer(up).await.unwrap(), want);
    }
}

#[tokio::test]
async fn the_server_name_overrides_the_url_host_for_sni_and_verification() {
    let ca = Ca::new();
    let addr = tls_upstream(&ca, &["origin.internal"], &[b"http/1.1"], None).await;
    let by_ip = || Upstream::builder(&format!("https://{addr}")).tls_config(trusting(&ca));
    // The certificate does not name 127.0.0.1.
    let err = answer(by_ip().build().unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ProxyErrorKind::Connect, "{err:?}");
    let up = by_ip().tls_server_name("origin.internal").build().unwrap();
    assert_eq!(answer(up).await.unwrap(), "HTTP/1.1 origin.internal");
}

#[tokio::test]
async fn verification_is_off_only_when_asked() {
    let unknown_ca = Ca::new();
    let addr = tls_upstream(&unknown_ca, &["localhost"], &[b"http/1.1"], None).await;
    let url = format!("https://localhost:{}", addr.port());
    // webpki roots do not know this CA.
    let err = answer(Upstream::new(&url).unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ProxyErrorKind::Connect, "{err:?}");
    let up = Upstream::builder(&url)
        .danger_accept_invalid_certs()
        .build()
        .unwrap();
    assert_eq!(answer(up).await.unwrap(), "HTTP/1.1 localhost");
}

#[tokio::test]
async fn a_client_certificate_opens_an_mtls_upstream() {
    let ca = Ca::new();
    let clients = Ca::new();
    let addr = tls_upstream(&ca, &["localhost"], &[b"h2"], Some(&clients)).await;
    let url = format!("https://localhost:{}", addr.port());
    let without = Upstream::builder(&url)
        .tls_config(trusting(&ca))
        .build()
        .unwrap();
    assert!(answer(without).await.is_err());
    let (chain, key) = clients.leaf(&["frontdoor.client"]);
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(ca.roots())
        .with_client_auth_cert(chain, key)
        .unwrap();
    let with = Upstream::builder(&url).tls_config(config).build().unwrap();
    assert_eq!(answer(with).await.unwrap(), "HTTP/2.0 localhost");
}

#[test]
fn tls_settings_need_an_https_upstream_and_a_valid_name() {
    let err = Upstream::builder("http://127.0.0.1:1")
        .tls_server_name("a.example")
        .build()
        .unwrap_err();
    assert_eq!(err.key(), "tls");
    let err = Upstream::builder("http://127.0.0.1:1")
        .danger_accept_invalid_certs()
        .build()
        .unwrap_err();
    assert_eq!(err.key(), "tls");
    let err = Upstream::builder("https://127.0.0.1:1")
        .tls_server_name("not a name")
        .build()
        .unwrap_err();
    assert_eq!(err.key(), "tls");
    assert!(Upstream::builder("https://127.0.0.1:1")
        .tls_server_name("[::1]")
        .build()
        .is_ok());
}
