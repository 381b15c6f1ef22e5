//! The client: https trusting a given CA, and connections kept open across
//! `make_request` calls.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use frontdoor_deproxy::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use frontdoor_deproxy::rustls::ServerConfig;
use frontdoor_deproxy::{handlers, ClientConnection, ClientError, Deproxy, Reply};
use http::Request;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A fresh CA named `ca_name` and a leaf it signs for `localhost` and
/// `127.0.0.1`: the CA's DER and the leaf's server config.
fn pki(ca_name: &str) -> (CertificateDer<'static>, Arc<ServerConfig>) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(frontdoor_deproxy::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
        .unwrap();
    (ca.der().clone(), Arc::new(config))
}

/// A TLS terminator on `127.0.0.1:0` in front of `upstream` (the proxy under
/// test, here): one upstream connection per client connection.
async fn terminator(upstream: SocketAddr, config: Arc<ServerConfig>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut up = TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn https_requests_trust_the_given_ca() {
    let (ca, server) = pki("test CA");
    let d = Deproxy::builder().trust(ca).build();
    let ep = support::echo_endpoint(&d).await;
    let front = terminator(ep.addr(), server).await;

    // The certificate names the IP address of the URL ...
    let mc = d
        .make_request(format!("https://{front}/secure"))
        .header("x-test", "1")
        .send()
        .await;
    assert_eq!(mc.client_error, None, "{mc:#?}");
    assert_eq!(mc.status(), Some(200));
    let h = mc.single_handling();
    assert_eq!(h.request.uri(), "/secure");
    assert_eq!(h.request.headers()["x-test"], "1");
    // ... and the name asked for instead.
    let mc = d
        .make_request(format!("https://{front}/"))
        .tls_server_name("localhost")
        .send()
        .await;
    assert_eq!(mc.status(), Some(200), "{mc:#?}");
    // A name the certificate does not hold fails the handshake.
    let mc = d
        .make_request(format!("https://{front}/"))
        .tls_server_name("other.test")
        .send()
        .await;
    assert_eq!(
        mc.client_error,
        Some(ClientError::Tls(
            "invalid peer certificate: certificate not valid for name \"other.test\"; \
             certificate is only valid for DnsName(\"localhost\") or IpAddress(127.0.0.1)"
                .to_owned()
        ))
    );
    assert!(mc.received_response.is_none() && mc.handlings.is_empty());
}

#[tokio::test]
async fn https_fails_without_the_ca_or_any_tls_client() {
    let (_, server) = pki("the server's CA");
    let (other_ca, _) = pki("another CA");
    let d = Deproxy::builder().trust(other_ca).build();
    let ep = d.add_endpoint().await.unwrap();
    let front = terminator(ep.addr(), server).await;
    let mc = d.make_request(format!("https://{front}/")).send().await;
    assert_eq!(
        mc.client_error,
        Some(ClientError::Tls(
            "invalid peer certificate: UnknownIssuer".to_owned()
        ))
    );
    assert!(mc.handlings.is_empty());

    let plain = Deproxy::new();
    let mc = plain.make_request(format!("https://{front}/")).send().await;
    assert_eq!(
        mc.client_error,
        Some(ClientError::Tls(
            "an https URL needs DeproxyBuilder::trust or tls_config".to_owned()
        ))
    );
}

#[tokio::test]
async fn two_requests_on_one_client_connection_reach_the_endpoint_on_one_connection() {
    let d = Deproxy::new();
    let ep = support::echo_endpoint(&d).await;
    let conn = ClientConnection::new();
    let first = d
        .make_request(format!("{}/1", ep.url()))
        .connection(&conn)
        .send()
        .await;
    let second = d
        .make_request(format!("{}/2", ep.url()))
        .connection(&conn)
        .send()
        .await;
    assert_eq!((first.status(), second.status()), (Some(200), Some(200)));
    let (a, b) = (first.single_handling(), second.single_handling());
    assert_eq!(a.connection, b.connection);
    assert_eq!((a.seq_on_connection, b.seq_on_connection), (0, 1));
    assert_eq!(conn.connections_opened(), 1);
    // Each chain has its own request and ID.
    assert_eq!(
        (a.request.uri().path(), b.request.uri().path()),
        ("/1", "/2")
    );
    assert_ne!(first.request_id, second.request_id);

    // Without it, every request has a connection of its own.
    let third = d.make_request(ep.url()).send().await;
    assert_ne!(third.single_handling().connection, a.connection);
}

#[tokio::test]
async fn a_closing_response_makes_the_next_request_reconnect() {
    let d = Deproxy::new();
    let ep = d
        .endpoint()
        .handler(|req: Request<bytes::Bytes>| async move {
            if req.uri().path() == "/close" {
                Reply::status(200).header("connection", "close")
            } else {
                Reply::status(200)
            }
        })
        .start()
        .await
        .unwrap();
    let conn = ClientConnection::new();
    let mut ids = Vec::new();
    for path in ["/a", "/close", "/b", "/c"] {
        let mc = d
            .make_request(format!("{}{path}", ep.url()))
            .connection(&conn)
            .send()
            .await;
        assert_eq!(mc.status(), Some(200), "{path}: {mc:#?}");
        ids.push(mc.single_handling().connection);
    }
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[1], ids[2]);
    assert_eq!(ids[2], ids[3]);
    assert_eq!(conn.connections_opened(), 2);
    // An explicit close too.
    conn.close().await;
    let mc = d.make_request(ep.url()).connection(&conn).send().await;
    assert_ne!(mc.single_handling().connection, ids[3]);
    assert_eq!(conn.connections_opened(), 3);
}

#[tokio::test]
async fn a_kept_connection_carries_https_requests_too() {
    let (ca, server) = pki("test CA");
    let d = Deproxy::builder().trust(ca).build();
    let ep = d
        .endpoint()
        .handler(handlers::status(204))
        .start()
        .await
        .unwrap();
    let front = terminator(ep.addr(), server).await;
    let conn = ClientConnection::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let mc = d
            .make_request(format!("https://{front}/"))
            .connection(&conn)
            .send()
            .await;
        assert_eq!(mc.status(), Some(204), "{mc:#?}");
        ids.push(mc.single_handling().connection);
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(conn.connections_opened(), 1);
}
