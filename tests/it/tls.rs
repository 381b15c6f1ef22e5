//! `frontdoor::serve` TLS listeners: ALPN h1 and h2, SNI certificates, the handshake
//! deadline, certificate renewal without dropping connections, and by-scheme routing.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use frontdoor::{
    by_scheme::by_scheme,
    core::Schemes,
    demo,
    resolve::DirectResolver,
    route::Router,
    serve::{
        tls::{CertResolver, CertSet, Certificate, TlsConfig},
        Server, Workers,
    },
    Body,
};
use frontdoor_tests::{
    get, json,
    pki::{Leaf, Pki},
    tls::{alpn, client_config, connect, h1_over, h2_over, recording_config},
    Running,
};
use http::{Request, Response, StatusCode, Version};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::oneshot,
};
use tower::util::BoxCloneSyncService;

fn certificate(leaf: &Leaf) -> Certificate {
    Certificate::from_pem(leaf.chain_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap()
}

fn resolver(leaves: &[&Leaf]) -> CertResolver {
    let set = leaves
        .iter()
        .fold(CertSet::builder(), |b, leaf| b.cert(certificate(leaf)));
    CertResolver::new(set.build().unwrap())
}

/// `svc` on one plaintext and one TLS listener on loopback.
fn spawn_tls<S>(server: Server, svc: S) -> (Running, SocketAddr)
where
    S: tower::Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<frontdoor::BoxError>,
{
    let tls_addr = server.local_tls_addrs().unwrap()[0];
    (frontdoor_tests::spawn(server, svc), tls_addr)
}

async fn bind(certs: &CertResolver) -> Server {
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Server::bind(&[loopback])
        .await
        .unwrap()
        .bind_tls(&[loopback], &TlsConfig::new(certs.clone()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn alpn_picks_http1_or_h2_and_requests_know_they_came_over_tls() {
    let pki = Pki::new("test CA");
    let leaf = pki.leaf(&["www.example.com"]);
    let (server, addr) = spawn_tls(bind(&resolver(&[&leaf])).await, demo::echo());
    let roots = [pki.ca_der()];

    let stream = connect(
        addr,
        "www.example.com",
        client_config(&roots, &[b"http/1.1"]),
    )
    .await
    .unwrap();
    assert_eq!(alpn(&stream).as_deref(), Some(&b"http/1.1"[..]));
    let res = h1_over(stream)
        .await
        .send_request(get("/one"))
        .await
        .unwrap();
    assert_eq!(res.version(), Version::HTTP_11);
    let doc = json(res).await;
    assert_eq!(doc["version"], "HTTP/1.1");
    assert_eq!(doc["tls"]["server_name"], "www.example.com");

    let stream = connect(
        addr,
        "www.example.com",
        client_config(&roots, &[b"h2", b"http/1.1"]),
    )
    .await
    .unwrap();
    assert_eq!(alpn(&stream).as_deref(), Some(&b"h2"[..]));
    let req = Request::get("https://www.example.com/two")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(b"abc")))
        .unwrap();
    let res = h2_over(stream).await.send_request(req).await.unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    let doc = json(res).await;
    assert_eq!(doc["version"], "HTTP/2.0");
    assert_eq!(doc["body_length"], 3);

    // No ALPN: the protocol is sniffed, as on a plaintext listener.
    let stream = connect(addr, "www.example.com", client_config(&roots, &[]))
        .await
        .unwrap();
    assert_eq!(alpn(&stream), None);
    let res = h1_over(stream)
        .await
        .send_request(get("/three"))
        .await
        .unwrap();
    assert_eq!(json(res).await["path"], "/three");
    server.shutdown().await;
}

#[tokio::test]
async fn sni_picks_the_certificate_and_unknown_names_get_the_default() {
    let pki = Pki::new("test CA");
    let default = pki.leaf(&["default.example"]);
    let api = pki.leaf(&["api.example.com", "*.api.example.com"]);
    let www = pki.leaf(&["www.example.com"]);
    let (server, addr) = spawn_tls(bind(&resolver(&[&default, &api, &www])).await, demo::echo());
    let (config, seen) = recording_config(&[b"http/1.1"]);
    for (name, want) in [
        ("www.example.com", &www),
        ("api.example.com", &api),
        ("v2.api.example.com", &api),
        ("unknown.example", &default),
        ("127.0.0.1", &default), // an IP address: no SNI at all
    ] {
        let stream = connect(addr, name, Arc::clone(&config)).await.unwrap();
        let shown = seen.lock().pop().unwrap();
        assert_eq!(shown, want.der, "{name}");
        let res = h1_over(stream).await.send_request(get("/")).await.unwrap();
        let doc = json(res).await;
        let sni = (name != "127.0.0.1").then_some(name);
        assert_eq!(doc["tls"]["server_name"].as_str(), sni, "{name}");
    }
    // A verifying client accepts the names the certificate covers.
    let roots = [pki.ca_der()];
    assert!(
        connect(addr, "v2.api.example.com", client_config(&roots, &[]))
            .await
            .is_ok()
    );
    assert!(connect(addr, "other.example", client_config(&roots, &[]))
        .await
        .is_err());
    server.shutdown().await;
}

/// Reads until the server closes; how long that took.
async fn closed_after(mut stream: TcpStream) -> Duration {
    let started = tokio::time::Instant::now();
    let mut sink = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut sink))
        .await
        .expect("the server never closed the connection")
        .ok();
    started.elapsed()
}

#[tokio::test]
async fn a_client_that_never_finishes_its_handshake_is_cut_off_at_the_deadline() {
    let leaf = frontdoor_tests::pki::self_signed(&["www.example.com"]);
    let server = bind(&resolver(&[&leaf]))
        .await
        .tls_handshake_timeout(Duration::from_millis(300))
        .header_read_timeout(Duration::from_secs(60));
    let (server, addr) = spawn_tls(server, demo::echo());

    // Connects and sends nothing.
    let silent = TcpStream::connect(addr).await.unwrap();
    // Sends the start of a ClientHello and stalls.
    let mut partial = TcpStream::connect(addr).await.unwrap();
    partial
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .unwrap();

    for stream in [silent, partial] {
        let took = closed_after(stream).await;
        assert!(took < Duration::from_secs(10), "cut off after {took:?}");
    }
    // A client that completes the handshake is served.
    let (config, _) = recording_config(&[]);
    let stream = connect(addr, "www.example.com", config).await.unwrap();
    let res = h1_over(stream).await.send_request(get("/")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn the_header_read_timeout_starts_after_the_handshake() {
    let leaf = frontdoor_tests::pki::self_signed(&["www.example.com"]);
    let server = bind(&resolver(&[&leaf]))
        .await
        .tls_handshake_timeout(Duration::from_secs(60))
        .header_read_timeout(Duration::from_millis(300));
    let (server, addr) = spawn_tls(server, demo::echo());
    // Handshakes, then never sends a request.
    let (config, _) = recording_config(&[b"http/1.1"]);
    let mut idle = connect(addr, "www.example.com", config).await.unwrap();
    let started = tokio::time::Instant::now();
    let mut sink = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), idle.read_to_end(&mut sink))
        .await
        .expect("an idle TLS connection was never cut off")
        .ok();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "cut off after {took:?}");
    assert!(sink.is_empty(), "{sink:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_new_certificate_reaches_new_connections_while_open_ones_keep_working() {
    let pki = Pki::new("test CA");
    let old = pki.leaf(&["www.example.com"]);
    let new = pki.leaf(&["www.example.com"]);
    let certs = resolver(&[&old]);
    let (server, addr) = spawn_tls(bind(&certs).await, demo::echo());
    let (config, seen) = recording_config(&[b"http/1.1"]);

    let open = connect(addr, "www.example.com", Arc::clone(&config))
        .await
        .unwrap();
    assert_eq!(seen.lock().pop().unwrap(), old.der);
    let mut open = h1_over(open).await;
    assert_eq!(open.send_request(get("/a")).await.unwrap().status(), 200);

    certs.store(CertSet::builder().cert(certificate(&new)).build().unwrap());

    // A new client (one with a session to resume skips the certificate exchange).
    let (config, seen) = recording_config(&[b"http/1.1"]);
    let fresh = connect(addr, "www.example.com", config).await.unwrap();
    assert_eq!(seen.lock().pop().unwrap(), new.der);
    let res = h1_over(fresh).await.send_request(get("/b")).await.unwrap();
    assert_eq!(res.status(), 200);
    // The connection made with the old certificate still serves.
    let res = open.send_request(get("/c")).await.unwrap();
    assert_eq!(json(res).await["path"], "/c");
    server.shutdown().await;
}

#[tokio::test]
async fn the_https_label_of_by_scheme_matches_on_the_tls_listener() {
    let leaf = frontdoor_tests::pki::self_signed(&["www.example.com"]);
    let echo = BoxCloneSyncService::new(demo::echo());
    let router = Router::builder().route("www.example.com:https:/", echo);
    let svc = by_scheme(Schemes::new(), DirectResolver::new(), router).unwrap();
    let server = bind(&resolver(&[&leaf])).await;
    let (server, tls_addr) = spawn_tls(server, svc);
    let plain_addr = server.addr();

    // Over TLS, `Host: www.example.com` is port 443: the `https` label.
    let (config, _) = recording_config(&[b"http/1.1"]);
    let stream = connect(tls_addr, "www.example.com", config).await.unwrap();
    let req = Request::get("/x")
        .header("host", "www.example.com")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let res = h1_over(stream).await.send_request(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json(res).await["resolved"], "www.example.com:https:/x");

    // The same request in plaintext is port 80: `http`, no route.
    let mut plain = frontdoor_tests::h1(plain_addr).await;
    let req = Request::get("/x")
        .header("host", "www.example.com")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let res = plain.send_request(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    server.shutdown().await;
}

#[tokio::test]
async fn workers_serve_tls_listeners() {
    let leaf = frontdoor_tests::pki::self_signed(&["www.example.com"]);
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let workers = Workers::bind(&[], 2)
        .unwrap()
        .bind_tls(&[loopback], &TlsConfig::new(resolver(&[&leaf])).unwrap())
        .unwrap();
    assert!(workers.local_addrs().is_empty());
    let addr = workers.local_tls_addrs()[0];
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(workers.serve_with_shutdown(|_| demo::echo(), async {
        let _ = stopped.await;
    }));
    for _ in 0..4 {
        let (config, _) = recording_config(&[b"h2"]);
        let stream = connect(addr, "www.example.com", config).await.unwrap();
        let req = Request::get("https://www.example.com/w")
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let res = h2_over(stream).await.send_request(req).await.unwrap();
        assert_eq!(json(res).await["version"], "HTTP/2.0");
    }
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
