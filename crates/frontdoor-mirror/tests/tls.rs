//! An `https://` shadow: the mirror's copy reaches a TLS server on loopback through an
//! `Upstream` trusting a generated CA, marked and under the base path, and nothing is
//! counted as failed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod support;

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use frontdoor_core::Body;
use frontdoor_mirror::{MirrorLayer, ShadowErrorKind};
use frontdoor_upstream::{HostPolicy, Upstream};
use http::{Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::{
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
    ClientConfig, RootCertStore, ServerConfig,
};
use support::{exchanges, primary, Seen};
use tokio::{net::TcpListener, sync::mpsc, time::timeout};
use tokio_rustls::TlsAcceptor;
use tower::{Layer, ServiceExt};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A fresh CA: its certificate, and a leaf it signs for `127.0.0.1` (chain and key).
fn pki() -> (
    CertificateDer<'static>,
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "mirror test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    (
        ca.der().clone(),
        vec![leaf.der().clone(), ca.der().clone()],
        key,
    )
}

/// A TLS server on loopback (ALPN `h2`, `http/1.1`) recording each request and
/// answering 200 `shadow`.
async fn tls_shadow(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let tx = tx.clone();
                    async move {
                        let (head, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let _ = tx.send(Seen { head, body });
                        Ok::<_, Infallible>(Response::new(Body::from("shadow")))
                    }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (addr, rx)
}

/// A rustls client trusting `ca` only.
fn trusting(ca: CertificateDer<'static>) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    roots.add(ca).unwrap();
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[tokio::test]
async fn a_tls_shadow_receives_the_marked_copy() {
    let (ca, chain, key) = pki();
    let (addr, mut seen) = tls_shadow(chain, key).await;
    let shadow = Upstream::builder(&format!("https://{addr}/base"))
        .host(HostPolicy::Preserve)
        .tls_config(trusting(ca))
        .build()
        .unwrap();
    let (layer, mut rx) = exchanges(MirrorLayer::new(shadow));
    let stats = layer.stats_handle();
    let svc = layer.layer(primary(Duration::ZERO));
    let req = Request::get("/app/x?q=1")
        .header("host", "www.example.com")
        .header("authorization", "Bearer secret")
        .body(Body::empty())
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let ex = timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no exchange reported")
        .unwrap();
    assert_eq!(
        ex.replay.response().map(|r| (r.status, r.body.clone())),
        Some((StatusCode::OK, bytes::Bytes::new())),
        "{:?}",
        ex.replay
    );
    let got = seen.try_recv().expect("the TLS shadow got no copy");
    // ALPN picked HTTP/2: the target is absolute, the mark is in `Host`.
    assert_eq!(got.head.version, Version::HTTP_2);
    assert_eq!(
        got.head.uri.to_string(),
        format!("https://{addr}/base/app/x?q=1")
    );
    assert_eq!(got.head.headers["host"], "www.example.com-shadow");
    assert!(got.head.headers.get("authorization").is_none());
    let snap = stats.snapshot();
    assert_eq!((snap.mirrored(), snap.replayed()), (1, 1));
    assert_eq!(snap.failed_total(), 0);
    assert_eq!(snap.failed(ShadowErrorKind::Connect), 0);
}
