//! Health checks of `https` upstreams against real TLS origins on loopback, trusted
//! through the route's `tls.ca` (a CA generated per run).
#![cfg(feature = "upstream-tls")]

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use frontdoor_core::Body;
use http::Request;
use http_body_util::BodyExt as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::{
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
    ServerConfig,
};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpListener,
};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::plan::{Description, HealthRow, Plan};

/// A CA and what it signs.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    /// A certificate for `127.0.0.1`: (chain, key).
    fn leaf(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![cert.der().clone()], der)
    }

    /// The CA's certificate in a PEM file of its own, removed on drop.
    fn pem_file(&self) -> TempFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "frontdoor-health-ca-{}-{}.pem",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, self.cert.pem()).unwrap();
        TempFile(path)
    }
}

struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An https origin on 127.0.0.1 with a certificate from `ca`, named `name`: `/healthz`
/// answers `health`, every other path `200` with `{name} {path}`.
async fn origin(ca: &Ca, name: &'static str, health: u16) -> SocketAddr {
    let (chain, key) = ca.leaf();
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if tls.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head);
                let path = text.split(' ').nth(1).unwrap_or("").to_owned();
                let (status, body) = if path == "/healthz" {
                    (health, String::new())
                } else {
                    (200, format!("{name} {path}"))
                };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

/// A plan with one route balanced over `a` and `b` (`https`), trusting `ca`, checked
/// every 20ms, out after 2 failures, back after 1 pass.
fn plan(a: SocketAddr, b: SocketAddr, ca: &TempFile) -> Plan {
    let text = format!(
        "[[route]]\nspec = \"::/\"\nupstream = [\"https://{a}\", \"https://{b}\"]\n\
         tls = {{ ca = {ca:?} }}\n\
         health_check = {{ path = \"/healthz\", interval = \"20ms\", timeout = \"1s\", \
         unhealthy = 2, healthy = 1 }}\n",
        ca = ca.0.display().to_string(),
    );
    Plan::new(&Description::from_toml(&text).unwrap()).unwrap()
}

/// `(upstream, healthy)` of each row.
fn health(plan: &Plan) -> Vec<(String, bool)> {
    plan.upstream_health()
        .into_iter()
        .map(
            |HealthRow {
                 upstream, healthy, ..
             }| (upstream, healthy),
        )
        .collect()
}

/// Polls `plan`'s health rows (every 10ms, for at most 10s) until they are `want`.
async fn wait_for(plan: &Plan, want: &[(String, bool)]) {
    for _ in 0..1000 {
        if health(plan) == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(health(plan), want, "health rows after 10s");
}

/// Of two https origins trusted through `tls.ca`, the one whose health path answers
/// 500 leaves the balancing, and every request goes to the other.
#[tokio::test]
async fn https_upstreams_are_checked_over_tls_with_the_routes_ca() {
    let ca = Ca::new("health test CA");
    let ca_file = ca.pem_file();
    let good = origin(&ca, "good", 200).await;
    let bad = origin(&ca, "bad", 500).await;
    let plan = plan(good, bad, &ca_file);
    let svc = plan.service();
    wait_for(
        &plan,
        &[
            (format!("https://{good}/"), true),
            (format!("https://{bad}/"), false),
        ],
    )
    .await;
    for i in 0..20 {
        let req = Request::get(format!("/r{i}"))
            .header("host", "www.example.com")
            .body(Body::empty())
            .unwrap();
        let Ok(res) = svc.clone().oneshot(req).await;
        assert_eq!(res.status(), 200);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("good /r{i}").as_bytes());
    }
}

/// A check of an https origin whose certificate the route's `tls.ca` does not trust
/// fails: that upstream goes unhealthy, while the trusted one, answering the same,
/// stays healthy.
#[tokio::test]
async fn an_untrusted_certificate_fails_the_check() {
    let ca = Ca::new("health test CA");
    let other = Ca::new("another CA");
    let ca_file = ca.pem_file();
    let trusted = origin(&ca, "trusted", 200).await;
    let untrusted = origin(&other, "untrusted", 200).await;
    let plan = plan(trusted, untrusted, &ca_file);
    drop(plan.service());
    wait_for(
        &plan,
        &[
            (format!("https://{trusted}/"), true),
            (format!("https://{untrusted}/"), false),
        ],
    )
    .await;
}
