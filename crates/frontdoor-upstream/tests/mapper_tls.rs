//! The mapper to `https://` targets on loopback with a generated CA: a target reached
//! with client TLS trusting that CA, the allow-list applied to what a target's name
//! resolves to before any connection, and SNI and verification by the target's name.
#![cfg(feature = "tls")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod support;

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use frontdoor_core::Body;
use frontdoor_upstream::{AllowedTargets, GatewayError, Mapper, Mapping, ProxyErrorKind};
use http::{request::Parts, Request, Response, StatusCode, Uri};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::{
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
    ClientConfig, RootCertStore, ServerConfig,
};
use support::{collect, listener};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A CA generated for the run, and a leaf it signs for an origin.
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
            .push(DnType::CommonName, "mapper test CA");
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    /// A leaf for `names` (DNS names or IP addresses): (chain, key).
    fn leaf(&self, names: &[&str]) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![cert.der().clone(), self.cert.der().clone()], der)
    }

    /// A client configuration trusting only this CA.
    fn trusting(&self) -> ClientConfig {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert.der().clone()).unwrap();
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth()
    }
}

/// A TLS origin with a certificate for `names`, answering `<sni> <path-and-query>`,
/// counting the TCP connections it accepts.
async fn tls_origin(ca: &Ca, names: &[&str]) -> (SocketAddr, Arc<AtomicUsize>) {
    let (chain, key) = ca.leaf(names);
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let (l, addr) = listener().await;
    let conns = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&conns);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let sni = tls.get_ref().1.server_name().unwrap_or("-").to_owned();
                let svc = hyper::service::service_fn(move |req: Request<_>| {
                    let pq = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
                    let text = format!("{sni} {pq}");
                    async move { Ok::<_, Infallible>(Response::new(Body::from(text))) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (addr, conns)
}

/// A mapper sending every request to `target`, its clients trusting `ca`.
fn mapper_to(
    target: &str,
    ca: &Ca,
    allow: &[&str],
) -> Mapper<impl Fn(&Parts) -> Option<Mapping> + Send + Sync + 'static> {
    let target: Uri = target.parse().unwrap();
    let tls = ca.trusting();
    Mapper::builder(move |_: &Parts| Some(Mapping::to(target.clone())))
        .allow(AllowedTargets::parse(allow.iter().copied()).unwrap())
        .upstream(move |b| b.tls_config(tls.clone()))
        .build()
        .unwrap()
}

/// The status and body of `GET path` through `mapper` with errors answered at the edge.
async fn get<F>(mapper: &Mapper<F>, path: &str) -> (StatusCode, String)
where
    F: Fn(&Parts) -> Option<Mapping> + Send + Sync + 'static,
{
    let res = GatewayError::new(mapper.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = collect(res.into_body()).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// The kind of the error `GET path` through `mapper` fails with.
async fn error_kind<F>(mapper: &Mapper<F>, path: &str) -> ProxyErrorKind
where
    F: Fn(&Parts) -> Option<Mapping> + Send + Sync + 'static,
{
    let req = Request::get(path).body(Body::empty()).unwrap();
    mapper.clone().oneshot(req).await.unwrap_err().kind()
}

#[tokio::test]
async fn an_https_target_is_reached_with_the_configured_roots() {
    let ca = Ca::new();
    let (addr, conns) = tls_origin(&ca, &["127.0.0.1"]).await;
    let mapper = mapper_to(&format!("https://{addr}/base"), &ca, &["127.0.0.1"]);
    // No SNI is sent for an address; the certificate names the address.
    assert_eq!(
        get(&mapper, "/x?q=1").await,
        (StatusCode::OK, "- /base/x?q=1".into())
    );
    // The second request reuses the pooled connection.
    assert_eq!(
        get(&mapper, "/y").await,
        (StatusCode::OK, "- /base/y".into())
    );
    assert_eq!(conns.load(Ordering::SeqCst), 1);
    assert_eq!(mapper.clients(), 1);

    // Without the CA (the default webpki roots), the same target fails the handshake.
    let target: Uri = format!("https://{addr}/").parse().unwrap();
    let untrusting = Mapper::builder(move |_: &Parts| Some(Mapping::to(target.clone())))
        .allow(AllowedTargets::parse(["127.0.0.1"]).unwrap())
        .build()
        .unwrap();
    assert_eq!(error_kind(&untrusting, "/").await, ProxyErrorKind::Connect);
}

#[tokio::test]
async fn an_https_name_resolving_outside_the_allowed_networks_is_refused_unconnected() {
    let ca = Ca::new();
    let (addr, conns) = tls_origin(&ca, &["localhost"]).await;
    let by_name = format!("https://localhost:{}/", addr.port());
    let by_address = format!("https://{addr}/");
    for allow in [
        &[][..],
        &["10.0.0.0/8"],
        &["other.example"],
        &["*.localhost"],
    ] {
        for target in [&by_name, &by_address] {
            let mapper = mapper_to(target, &ca, allow);
            assert_eq!(
                error_kind(&mapper, "/").await,
                ProxyErrorKind::TargetRefused,
                "{target} with {allow:?}"
            );
            assert_eq!(get(&mapper, "/").await.0, StatusCode::BAD_GATEWAY);
        }
    }
    assert_eq!(
        conns.load(Ordering::SeqCst),
        0,
        "nothing reached the origin"
    );
}

#[tokio::test]
async fn an_https_name_resolving_into_an_allowed_network_is_verified_by_the_name() {
    let ca = Ca::new();
    let (addr, conns) = tls_origin(&ca, &["localhost"]).await;
    let mapper = mapper_to(
        &format!("https://localhost:{}", addr.port()),
        &ca,
        &["127.0.0.0/8"],
    );
    // SNI is the name, and the certificate for the name is accepted.
    assert_eq!(
        get(&mapper, "/x").await,
        (StatusCode::OK, "localhost /x".into())
    );
    assert_eq!(conns.load(Ordering::SeqCst), 1);

    // The same origin by address: allowed, connected, but its certificate does not
    // name 127.0.0.1, so verification (by the address) fails.
    let mapper = mapper_to(&format!("https://{addr}"), &ca, &["127.0.0.0/8"]);
    assert_eq!(error_kind(&mapper, "/").await, ProxyErrorKind::Connect);
    assert_eq!(conns.load(Ordering::SeqCst), 2);
}
