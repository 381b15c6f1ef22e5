//! Issue 14 against the built `frontdoor` binary, as the black-box comparison with
//! nginx ran it: framing refused on the wire, `CONNECT`, `Via`, `escaped_slashes`,
//! and a `[not_found]` body sent byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use frontdoor::{demo, serve::Server};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// `frontdoor serve -c <file>` on `127.0.0.1:0`; killed (and the file removed) on drop.
struct Front {
    child: Child,
    config: PathBuf,
    addr: String,
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}

fn start(config: &str) -> Front {
    let path = std::env::temp_dir().join(format!(
        "frontdoor-strict-{}-{}.toml",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdoor"))
        .args(["serve", "-c"])
        .arg(&path)
        .args(["--listen", "127.0.0.1:0", "--workers", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut addr = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(a) = line.strip_prefix("frontdoor listening on http://") {
            addr = Some(a.to_owned());
        }
        if line == "ready" {
            break;
        }
    }
    Front {
        child,
        config: path,
        addr: addr.expect("a listen address"),
    }
}

/// Sends `raw` and reads until the front closes: status, head, body.
async fn exchange(addr: &str, raw: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut out))
        .await
        .expect("no answer")
        .unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

async fn get(addr: &str, target: &str) -> (u16, String, String) {
    exchange(
        addr,
        &format!("GET {target} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n"),
    )
    .await
}

/// The echo backend's JSON description of the request it got.
fn echoed(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not json ({e}): {body:?}"))
}

fn echoed_header<'a>(doc: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    doc["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| pair[0] == name)
        .map(|pair| pair[1].as_str().unwrap())
}

/// An echo origin on a loopback port.
async fn echo_origin() -> SocketAddr {
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let addr = server.local_addrs().unwrap()[0];
    tokio::spawn(server.serve(demo::echo()));
    addr
}

#[tokio::test]
async fn framing_nginx_forwards_is_refused_and_never_reaches_the_origin() {
    // An origin that fails the test if anything reaches it.
    let origin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin_addr = origin.local_addr().unwrap();
    let fd = start(&format!("[default]\nupstream = \"http://{origin_addr}\"\n"));
    for (raw, status) in [
        (
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
            400,
        ),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nX",
            400,
        ),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\t\r\nContent-Length: 6\r\n\r\n0\r\n\r\nX",
            400,
        ),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            501,
        ),
        ("DELETE /coll/#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405),
    ] {
        let (got, head, _) = exchange(&fd.addr, raw).await;
        assert_eq!(got, status, "{raw:?}: {head}");
        if status == 405 {
            assert!(head.contains("\r\nallow: get, head, post"), "{head}");
        } else {
            assert!(head.contains("\r\nconnection: close"), "{raw:?}: {head}");
        }
    }
    let accepted = tokio::time::timeout(Duration::from_millis(100), origin.accept()).await;
    assert!(accepted.is_err(), "something reached the origin");
}

#[tokio::test]
async fn a_route_that_opts_in_tunnels_connect() {
    let origin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin_addr = origin.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = origin.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        s.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .unwrap();
        let (mut r, mut w) = s.split();
        let _ = tokio::io::copy(&mut r, &mut w).await;
    });
    let fd = start(&format!(
        "[[route]]\nspec = \"::/\"\nupstream = \"http://{origin_addr}\"\nconnect = true\n"
    ));
    let mut stream = TcpStream::connect(&fd.addr).await.unwrap();
    stream
        .write_all(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200 "), "{head:?}");
    stream.write_all(b"ping").await.unwrap();
    let mut pong = [0u8; 4];
    stream.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"ping");
}

#[tokio::test]
async fn via_is_on_by_default_and_configurable() {
    let origin = echo_origin().await;
    let route = format!("[default]\nupstream = \"http://{origin}\"\n");
    for (server, request_via, response_via) in [
        ("", Some("1.1 frontdoor"), None),
        ("via = true\n", Some("1.1 frontdoor"), None),
        ("via = \"edge-1\"\n", Some("1.1 edge-1"), None),
        ("via = false\n", None, None),
        (
            "via_responses = true\n",
            Some("1.1 frontdoor"),
            Some("1.1 frontdoor"),
        ),
    ] {
        let fd = start(&format!("[server]\n{server}{route}"));
        let (status, head, body) = get(&fd.addr, "/x").await;
        assert_eq!(status, 200, "{server}");
        assert_eq!(
            echoed_header(&echoed(&body), "via"),
            request_via,
            "{server}"
        );
        let via = head
            .lines()
            .find_map(|l| l.strip_prefix("via: "))
            .map(str::to_owned);
        assert_eq!(via.as_deref(), response_via, "{server}: {head}");
    }
}

#[tokio::test]
async fn escaped_slashes_keep_reject_and_decode() {
    let origin = echo_origin().await;
    let config = |server: &str| {
        format!(
            "[server]\n{server}\n\
             [[route]]\nspec = \"::/admin\"\nupstream = \"http://{origin}\"\nescaped_slashes = \"reject\"\n\
             [default]\nupstream = \"http://{origin}\"\n"
        )
    };
    let path_of = |body: &str| echoed(body)["path"].as_str().unwrap().to_owned();

    // keep (the default): forwarded untouched, except on the narrowed route.
    let fd = start(&config(""));
    for target in ["/api/a%2Fb", "/api/a%5Cb", "/app/..;/x", "/a\\b"] {
        let (status, _, body) = get(&fd.addr, target).await;
        assert_eq!(
            (status, path_of(&body)),
            (200, target.to_owned()),
            "{target}"
        );
    }
    for target in ["/admin/a%2Fb", "/admin/..;/x", "/admin/a\\b"] {
        assert_eq!(get(&fd.addr, target).await.0, 400, "{target}");
    }
    drop(fd);

    // reject: 400 everywhere.
    let fd = start(&config("escaped_slashes = \"reject\""));
    for target in [
        "/api/a%2fb",
        "/api/a%5cb",
        "/app/..;/x",
        "/a\\b",
        "/%2e%2e;/x",
    ] {
        assert_eq!(get(&fd.addr, target).await.0, 400, "{target}");
    }
    assert_eq!(get(&fd.addr, "/api/a;v=1/b").await.0, 200);
    drop(fd);

    // decode: decoded before routing, so `..%2F` climbs into the narrowed route.
    let fd = start(&config("escaped_slashes = \"decode\""));
    let (status, _, body) = get(&fd.addr, "/api/a%2Fb").await;
    assert_eq!((status, path_of(&body)), (200, "/api/a/b".to_owned()));
    let (status, _, body) = get(&fd.addr, "/public/..%2Fadmin/x").await;
    assert_eq!(
        (status, path_of(&body)),
        (200, "/x".to_owned()),
        "routed to ::/admin"
    );
}

#[tokio::test]
async fn a_configured_not_found_body_is_sent_byte_for_byte() {
    let fd = start("[not_found]\nstatus = 404\nbody = \"Nothing here\"\n");
    let (status, head, body) = get(&fd.addr, "/missing").await;
    assert_eq!(status, 404);
    assert_eq!(body, "Nothing here");
    assert!(head.contains("\r\ncontent-length: 12"), "{head}");
    drop(fd);
    // Without a body, the default keeps its newline for curl users.
    let fd = start("[not_found]\nstatus = 404\n");
    assert_eq!(get(&fd.addr, "/missing").await.2, "Not Found\n");
}

#[test]
fn check_names_bad_strict_keys() {
    let file = std::env::temp_dir().join(format!(
        "frontdoor-strict-check-{}.toml",
        std::process::id()
    ));
    std::fs::write(
        &file,
        "[server]\nvia = \"a b\"\nescaped_slashes = \"strict\"\n\
         [[route]]\nspec = \"::/\"\nupstream = \"http://127.0.0.1:1\"\nescaped_slashes = \"decode\"\n\
         [[route]]\nspec = \"::/k\"\nupstream = \"http://127.0.0.1:1\"\nescaped_slashes = \"keep\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_frontdoor"))
        .args(["check", "-c"])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(!out.status.success());
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    for needle in [
        "line 2: server.via: not a pseudonym",
        "line 3: server.escaped_slashes: unknown policy \"strict\"",
        "line 7: route[0].escaped_slashes: \"decode\" is a [server] setting",
        "line 11: route[1].escaped_slashes: a route can only narrow",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
}
