//! TLS through the built `frontdoor` binary, on loopback with certificates generated
//! per run: HTTPS listeners (HTTP/1.1 and h2 by ALPN, SNI, the handshake deadline,
//! renewal on SIGHUP and --watch, the https redirect, by-scheme routing), `check` and
//! `routes` on certificates, and TLS towards upstreams (ALPN, a private CA, SNI
//! override, mTLS, verification off).
#![cfg(feature = "tls")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

#[path = "tls/support.rs"]
mod support;

use std::{sync::Arc, time::Duration};

use frontdoor::serve::tls::{rustls, TlsConfig};
use frontdoor_tests::{
    pki::{self, Pki},
    tls::{connect, h1_over, recording_config},
};
use http::StatusCode;
use support::{
    bin, echo_origin, get, header, https_h1, https_h2, json, resolver, start, tls_origin, trusting,
    Scratch,
};
use tokio::{io::AsyncReadExt, net::TcpStream};

const LISTEN: &str = "[server]\nlisten = \"127.0.0.1:0\"\nlisten_tls = \"127.0.0.1:0\"\n";

/// A config serving `www.pem`/`www.key` on a TLS listener, with `rest` appended.
fn with_www(scratch: &Scratch, pki: &Pki, server: &str, rest: &str) -> std::path::PathBuf {
    scratch.leaf("www", &pki.leaf(&["www.example.com", "*.example.com"]));
    scratch.config(&format!(
        "{LISTEN}{server}\n[[tls]]\ncert = \"www.pem\"\nkey = \"www.key\"\n\n{rest}"
    ))
}

#[tokio::test]
async fn https_is_proxied_with_forwarded_proto_over_http1_and_h2() {
    let origin = echo_origin().await;
    let (scratch, pki) = (Scratch::new(), Pki::new("front CA"));
    let config = with_www(
        &scratch,
        &pki,
        "forwarded = true\n",
        &format!("[default]\nupstream = \"http://{origin}\"\n"),
    );
    let fd = start(&config, &[]);
    let ca = pki.ca_der();

    let res = https_h1(
        fd.https,
        "www.example.com",
        trusting(&ca, &[b"http/1.1"]),
        get("/a?b=1", "www.example.com"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let doc = json(res).await;
    assert_eq!(doc["path"], "/a");
    assert_eq!(header(&doc, "x-forwarded-proto"), Some("https"));
    let forwarded = header(&doc, "forwarded").unwrap();
    assert!(forwarded.contains("proto=https"), "{forwarded}");
    assert!(forwarded.contains("host=www.example.com"), "{forwarded}");

    // ALPN h2: HTTP/2 end to end on the client side.
    let req = http::Request::get("https://www.example.com/h2")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let res = https_h2(fd.https, "www.example.com", trusting(&ca, &[b"h2"]), req).await;
    let doc = json(res).await;
    assert_eq!(doc["path"], "/h2");
    assert_eq!(header(&doc, "x-forwarded-proto"), Some("https"));

    // The plaintext listener still says http.
    let mut plain = frontdoor_tests::h1(fd.http.unwrap()).await;
    let res = plain
        .send_request(get("/p", "www.example.com"))
        .await
        .unwrap();
    let doc = json(res).await;
    assert_eq!(header(&doc, "x-forwarded-proto"), Some("http"));
    assert!(header(&doc, "forwarded").unwrap().contains("proto=http"));
}

#[tokio::test]
async fn sni_picks_the_certificate_and_unknown_names_get_the_default() {
    let origin = echo_origin().await;
    let (scratch, pki) = (Scratch::new(), Pki::new("front CA"));
    let default = pki.leaf(&["default.example"]);
    let api = pki.leaf(&["api.example.org"]);
    scratch.leaf("default", &default);
    scratch.leaf("api", &api);
    let config = scratch.config(&format!(
        "{LISTEN}\n[[tls]]\ncert = \"default.pem\"\nkey = \"default.key\"\n\n[[tls]]\ncert = \"api.pem\"\nkey = \"api.key\"\nhosts = [\"api.example.org\", \"*.api.example.org\"]\n\n[default]\nupstream = \"http://{origin}\"\n"
    ));
    let fd = start(&config, &[]);
    for (sni, want) in [
        ("api.example.org", &api),
        ("v1.api.example.org", &api),
        ("default.example", &default),
        ("unknown.example", &default),
        ("127.0.0.1", &default), // no SNI
    ] {
        let (client, seen) = recording_config(&[b"http/1.1"]);
        let res = https_h1(fd.https, sni, client, get("/", "x.example")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(seen.lock().pop().unwrap(), want.der, "{sni}");
    }
}

#[tokio::test]
async fn a_client_that_never_sends_a_client_hello_is_cut_off_at_the_deadline() {
    let (scratch, pki) = (Scratch::new(), Pki::new("front CA"));
    let config = with_www(
        &scratch,
        &pki,
        "tls_handshake_timeout = \"300ms\"\nheader_timeout = \"60s\"\n",
        "[default]\nupstream = \"builtin:echo\"\n",
    );
    let fd = start(&config, &[]);
    let mut silent = TcpStream::connect(fd.https).await.unwrap();
    let started = tokio::time::Instant::now();
    let mut sink = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), silent.read_to_end(&mut sink))
        .await
        .expect("never cut off")
        .ok();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(250), "cut off after {took:?}");
    assert!(took < Duration::from_secs(10), "cut off after {took:?}");
    // A real client is served.
    let res = https_h1(
        fd.https,
        "www.example.com",
        trusting(&pki.ca_der(), &[]),
        get("/", "www.example.com"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn sighup_renews_the_certificate_for_new_connections_while_open_ones_keep_working() {
    let origin = echo_origin().await;
    let (scratch, pki) = (Scratch::new(), Pki::new("front CA"));
    let old = pki.leaf(&["www.example.com"]);
    scratch.leaf("www", &old);
    let config = scratch.config(&format!(
        "{LISTEN}\n[[tls]]\ncert = \"www.pem\"\nkey = \"www.key\"\n\n[default]\nupstream = \"http://{origin}\"\n"
    ));
    let fd = start(&config, &[]);

    let (client, seen) = recording_config(&[b"http/1.1"]);
    let open = connect(fd.https, "www.example.com", client).await.unwrap();
    assert_eq!(seen.lock().pop().unwrap(), old.der);
    let mut open = h1_over(open).await;
    let res = open
        .send_request(get("/1", "www.example.com"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let _ = json(res).await;

    // Renewal rewrites the files in place; the config text is unchanged.
    let new = pki.leaf(&["www.example.com"]);
    scratch.leaf("www", &new);
    fd.signal("-HUP");
    fd.wait_log("certificates reloaded");
    let (client, seen) = recording_config(&[b"http/1.1"]);
    let res = https_h1(fd.https, "www.example.com", client, get("/2", "h")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(seen.lock().pop().unwrap(), new.der);
    let res = open
        .send_request(get("/3", "www.example.com"))
        .await
        .unwrap();
    assert_eq!(json(res).await["path"], "/3");

    // A broken renewal (a key that does not match) keeps the certificate in force.
    scratch.write("www.key", &pki.leaf(&["www.example.com"]).key_pem);
    fd.signal("-HUP");
    let line = fd.wait_log("config reload rejected");
    assert!(line.contains("tls[0].key"), "{line}");
    let (client, seen) = recording_config(&[b"http/1.1"]);
    let res = https_h1(fd.https, "www.example.com", client, get("/4", "h")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(seen.lock().pop().unwrap(), new.der);
}

#[tokio::test]
async fn watch_reloads_when_only_the_certificate_files_change() {
    let (scratch, pki) = (Scratch::new(), Pki::new("front CA"));
    let config = with_www(
        &scratch,
        &pki,
        "",
        "[default]\nupstream = \"builtin:echo\"\n",
    );
    let fd = start(&config, &["--watch"]);
    let new = pki.leaf(&["www.example.com", "*.example.com", "renewed.example.com"]);
    scratch.leaf("www", &new);
    fd.wait_log("certificates reloaded");
    let (client, seen) = recording_config(&[]);
    let res = https_h1(fd.https, "www.example.com", client, get("/", "h")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(seen.lock().pop().unwrap(), new.der);
}

#[tokio::test]
async fn redirect_https_answers_plaintext_with_308_and_serves_tls() {
    let origin = echo_origin().await;
    let (scratch, pki) = (Scratch::new(), Pki::new("front CA"));
    let config = with_www(
        &scratch,
        &pki,
        "",
        &format!(
            "[[route]]\nspec = \"::/secure\"\nupstream = \"http://{origin}\"\nredirect_https = true\n\n[default]\nupstream = \"http://{origin}/open\"\n"
        ),
    );
    let fd = start(&config, &[]);
    let mut plain = frontdoor_tests::h1(fd.http.unwrap()).await;
    let res = plain
        .send_request(get("/secure/a%20b?x=1&y", "WWW.example.com:8080"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        res.headers()["location"],
        format!(
            "https://www.example.com:{}/secure/a%20b?x=1&y",
            fd.https.port()
        )
        .as_str()
    );
    // Other routes serve plaintext as before.
    let res = plain
        .send_request(get("/x", "www.example.com"))
        .await
        .unwrap();
    assert_eq!(json(res).await["path"], "/open/x");
    // Over TLS the route serves.
    let res = https_h1(
        fd.https,
        "www.example.com",
        trusting(&pki.ca_der(), &[]),
        get("/secure/a", "www.example.com"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json(res).await["path"], "/a");
}

#[tokio::test]
async fn by_scheme_routes_match_the_tls_listener() {
    let origin = echo_origin().await;
    let (scratch, pki) = (Scratch::new(), Pki::new("front CA"));
    let routes = format!(
        "[[route]]\nspec = \"*:https:/\"\nupstream = \"http://{origin}/tls\"\n\n[[route]]\nspec = \"*:http:/\"\nupstream = \"http://{origin}/plain\"\n"
    );
    for resolve in ["", "[resolve]\nschemes = { http = [80], https = [443] }\n"] {
        let config = with_www(&scratch, &pki, "", &format!("{resolve}\n{routes}"));
        let fd = start(&config, &[]);
        let ca = pki.ca_der();
        let tls = |host: &str| {
            let host = host.to_owned();
            let ca = ca.clone();
            let addr = fd.https;
            async move {
                let res = https_h1(
                    addr,
                    "www.example.com",
                    trusting(&ca, &[]),
                    get("/r", &host),
                )
                .await;
                json(res).await["path"].as_str().unwrap().to_owned()
            }
        };
        // Without a port, https means 443: the `https` label in both configs.
        assert_eq!(tls("www.example.com").await, "/tls/r", "{resolve}");
        let mut plain = frontdoor_tests::h1(fd.http.unwrap()).await;
        let res = plain
            .send_request(get("/r", "www.example.com"))
            .await
            .unwrap();
        assert_eq!(json(res).await["path"], "/plain/r", "{resolve}");
        if !resolve.is_empty() {
            // With a schemes table, the TLS connection itself is labelled https,
            // whatever port the Host header names.
            let host = format!("www.example.com:{}", fd.https.port());
            assert_eq!(tls(&host).await, "/tls/r");
        }
    }
}

#[test]
fn check_names_every_certificate_problem_with_its_key_path_and_file() {
    let (scratch, pki) = (Scratch::new(), Pki::new("front CA"));
    scratch.leaf("one", &pki.leaf(&["one.example"]));
    scratch.leaf(
        "old",
        &pki.leaf_valid(&["old.example"], (2001, 1, 1), (2002, 1, 1)),
    );
    scratch.write("other.key", &pki.leaf(&["x.example"]).key_pem);
    scratch.write("garbage.pem", "this is not PEM\n");
    let config = scratch.config(&format!(
        "{LISTEN}\n[[tls]]\ncert = \"missing.pem\"\nkey = \"one.key\"\n\n[[tls]]\ncert = \"garbage.pem\"\nkey = \"one.key\"\n\n[[tls]]\ncert = \"one.pem\"\nkey = \"other.key\"\n\n[default]\nupstream = \"builtin:echo\"\n"
    ));
    let out = bin().args(["check", "-c"]).arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let name = config.display().to_string();
    let file = |f: &str| scratch.path(f).display().to_string();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with(&format!(
            "{name}: line 6: tls[0].cert: cannot read {}: ",
            file("missing.pem")
        )),
        "{stderr}"
    );
    assert_eq!(
        lines[1],
        format!(
            "{name}: line 10: tls[1].cert: {}: no certificate found (expected a PEM CERTIFICATE block)",
            file("garbage.pem")
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "{name}: line 15: tls[2].key: {}: the private key does not match the certificate in {}",
            file("other.key"),
            file("one.pem")
        )
    );

    // An expired certificate is a warning: check passes and says so.
    let config = scratch.config(&format!(
        "{LISTEN}\n[[tls]]\ncert = \"old.pem\"\nkey = \"old.key\"\n\n[default]\nupstream = \"builtin:echo\"\n"
    ));
    let out = bin().args(["check", "-c"]).arg(&config).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.ends_with(": ok (0 routes and a default, 1 certificate)\n"),
        "{stdout}"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!(
            "{name}: warning: line 6: tls[0].cert: {}: the certificate expired 2002-01-01T00:00:00Z",
            file("old.pem")
        )),
        "{stderr}"
    );
}

#[tokio::test]
async fn routes_and_the_admin_show_certificates_and_the_expiry_gauge() {
    let (scratch, pki) = (Scratch::new(), Pki::new("front CA"));
    let config = with_www(
        &scratch,
        &pki,
        "admin = \"127.0.0.1:0\"\n",
        "[default]\nupstream = \"builtin:echo\"\n",
    );
    let out = bin().args(["routes", "-c"]).arg(&config).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let file = scratch.path("www.pem").display().to_string();
    assert!(
        stdout.contains("\n\ncertificates (the first is the default):\ntls     names"),
        "{stdout}"
    );
    let row = stdout.lines().last().unwrap();
    assert!(
        row.starts_with("tls[0]  www.example.com, *.example.com  "),
        "{row}"
    );
    assert!(row.contains(" days)  ") && row.ends_with(&file), "{row}");

    let fd = start(&config, &[]);
    let admin = fd.admin.clone().unwrap();
    let mut client = frontdoor_tests::h1(admin.parse().unwrap()).await;
    let res = client.send_request(get("/routes", "admin")).await.unwrap();
    let text = frontdoor_tests::text(res).await;
    assert!(text.contains(row), "{text}");
    let res = client.send_request(get("/metrics", "admin")).await.unwrap();
    let metrics = frontdoor_tests::text(res).await;
    let prefix =
        format!("frontdoor_tls_certificate_expiry_seconds{{cert=\"tls[0]\",file=\"{file}\"}} ");
    let line = metrics
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no gauge in\n{metrics}"));
    let seconds: i64 = line[prefix.len()..].parse().unwrap();
    // rcgen's default validity ends in 4096.
    assert!(seconds > 100 * 365 * 86_400, "{line}");
}

// === TLS towards upstreams ===

#[tokio::test]
async fn https_upstreams_speak_h2_or_http1_as_alpn_agrees_with_a_private_ca() {
    let (scratch, pki) = (Scratch::new(), Pki::new("origin CA"));
    let leaf = pki.leaf(&["origin.test"]);
    let h2 = tls_origin(&leaf, None).await;
    let mut only_h1 = (**TlsConfig::new(resolver(&leaf)).unwrap().rustls()).clone();
    only_h1.alpn_protocols = vec![b"http/1.1".to_vec()];
    let h1 = tls_origin(&leaf, Some(TlsConfig::from_rustls(Arc::new(only_h1)))).await;
    scratch.write("ca.pem", &pki.ca_pem());
    let config = scratch.config(&format!(
        r#"[server]
listen = "127.0.0.1:0"
listen_tls = "127.0.0.1:0"

[[tls]]
cert = "front.pem"
key = "front.key"

[[route]]
spec = "::/two"
upstream = "https://{h2}/base"
tls = {{ ca = "ca.pem", server_name = "origin.test" }}

[[route]]
spec = "::/one"
upstream = "https://{h1}"
tls = {{ ca = "ca.pem", server_name = "origin.test" }}

[[route]]
spec = "::/unverified"
upstream = "https://{h1}"
"#
    ));
    scratch.leaf("front", &pki::self_signed(&["front.test"]));
    let fd = start(&config, &[]);
    let mut client = frontdoor_tests::h1(fd.http.unwrap()).await;

    let res = client.send_request(get("/two/x", "h")).await.unwrap();
    let doc = json(res).await;
    assert_eq!(doc["version"], "HTTP/2.0");
    assert_eq!(doc["path"], "/base/x");
    assert_eq!(doc["tls"]["server_name"], "origin.test");

    let res = client.send_request(get("/one/y", "h")).await.unwrap();
    let doc = json(res).await;
    assert_eq!(doc["version"], "HTTP/1.1");
    assert_eq!(doc["tls"]["server_name"], "origin.test");

    // Without the CA (webpki roots) and by IP, the origin is refused: 502.
    let res = client.send_request(get("/unverified", "h")).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn client_certificates_open_mtls_upstreams_and_verify_false_is_explicit() {
    let (scratch, pki) = (Scratch::new(), Pki::new("origin CA"));
    let clients = Pki::new("client CA");
    let leaf = pki.leaf(&["origin.test"]);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(clients.ca_der()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let mut mtls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(resolver(&leaf)));
    mtls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let origin = tls_origin(&leaf, Some(TlsConfig::from_rustls(Arc::new(mtls)))).await;
    let self_signed = tls_origin(&pki::self_signed(&["anything.test"]), None).await;

    scratch.write("ca.pem", &pki.ca_pem());
    scratch.leaf("client", &clients.leaf(&["frontdoor.client"]));
    scratch.leaf("front", &pki::self_signed(&["front.test"]));
    let config = scratch.config(&format!(
        r#"[server]
listen = "127.0.0.1:0"
listen_tls = "127.0.0.1:0"

[[tls]]
cert = "front.pem"
key = "front.key"

[[route]]
spec = "::/with"
upstream = "https://{origin}"
tls = {{ ca = "ca.pem", server_name = "origin.test", cert = "client.pem", key = "client.key" }}

[[route]]
spec = "::/without"
upstream = "https://{origin}"
tls = {{ ca = "ca.pem", server_name = "origin.test" }}

[[route]]
spec = "::/insecure"
upstream = "https://{self_signed}"
tls = {{ verify = false }}
"#
    ));
    let fd = start(&config, &[]);
    let warning = fd.wait_log("config warning");
    assert!(warning.contains("route[2].tls.verify"), "{warning}");
    let mut client = frontdoor_tests::h1(fd.http.unwrap()).await;
    let res = client.send_request(get("/with/a", "h")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json(res).await["path"], "/a");
    let res = client.send_request(get("/without/a", "h")).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    let res = client.send_request(get("/insecure/b", "h")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json(res).await["path"], "/b");

    // check prints the warning too.
    let out = bin().args(["check", "-c"]).arg(&config).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            ": warning: line 22: route[2].tls.verify: the upstream's certificate is not verified"
        ),
        "{stderr}"
    );
}
