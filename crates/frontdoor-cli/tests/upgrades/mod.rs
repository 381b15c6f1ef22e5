//! Upgrades through the built binary: the h2c smuggling request is forwarded as a
//! plain request, a route's `upgrades` list decides what is proxied, and
//! `upgrades = ["h2c"]` is a config error.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};

use super::{bin, start, ConfigFile};

/// An origin that records every request head (lowercase) and answers `101` naming
/// the first `Upgrade` token when asked for one (then echoes the tunnel), `200 plain`
/// otherwise: an h2c-capable origin switches whenever it is offered h2c.
async fn switching_origin() -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                loop {
                    let head = read_head(&mut s).await.to_ascii_lowercase();
                    if head.is_empty() {
                        return;
                    }
                    let asked = head
                        .lines()
                        .find_map(|l| l.strip_prefix("upgrade: "))
                        .map(|v| v.split(',').next().unwrap_or("").trim().to_owned());
                    let _ = tx.send(head);
                    let Some(token) = asked else {
                        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain";
                        if s.write_all(plain).await.is_err() {
                            return;
                        }
                        continue;
                    };
                    let answer = format!(
                        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: {token}\r\n\r\n"
                    );
                    if s.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                    return;
                }
            });
        }
    });
    (addr, rx)
}

/// One head, up to the blank line; empty at EOF.
async fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return String::new(),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Writes `request`, reads one response head and its `Content-Length` body.
async fn exchange_on(tcp: &mut TcpStream, request: &str) -> (String, String) {
    tcp.write_all(request.as_bytes()).await.unwrap();
    let read = async {
        let head = read_head(tcp).await;
        let len = head
            .to_ascii_lowercase()
            .lines()
            .find_map(|l| l.strip_prefix("content-length: ").map(str::to_owned))
            .map_or(0, |n| n.trim().parse().unwrap());
        let mut body = vec![0u8; len];
        tcp.read_exact(&mut body).await.unwrap();
        (head, String::from_utf8(body).unwrap())
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("no answer")
}

/// The names of a recorded head's header lines.
fn names(head: &str) -> Vec<&str> {
    head.lines()
        .skip(1)
        .filter_map(|l| l.split_once(':').map(|(n, _)| n))
        .collect()
}

#[tokio::test]
async fn only_listed_upgrades_reach_the_upstream() {
    let (origin, mut heads) = switching_origin().await;
    let file = ConfigFile::new(&format!(
        r#"[[route]]
spec = "::/h2capp"
upstream = "http://{origin}/public"

[[route]]
spec = "::/foo"
upstream = "http://{origin}"
upgrades = ["foo"]

[[route]]
spec = "::/none"
upstream = "http://{origin}"
upgrades = []
"#
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);

    // The h2c smuggling request: forwarded as a plain request, answered as one.
    let mut tcp = TcpStream::connect(&fd.addr).await.unwrap();
    let (head, body) = exchange_on(
        &mut tcp,
        "GET /h2capp HTTP/1.1\r\nHost: front.example\r\n\
         Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
         HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, "plain");
    let seen = heads.recv().await.unwrap();
    assert!(seen.starts_with("get /public/ http/1.1\r\n"), "{seen}");
    let mut got = names(&seen);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "host",
            "traceparent",
            "via",
            "x-forwarded-for",
            "x-forwarded-host",
            "x-forwarded-proto",
            "x-real-ip",
            "x-request-id",
        ],
        "{seen}"
    );

    // A route listing `foo`: `foo/1` is proxied (and only it), and spliced.
    let mut tcp = TcpStream::connect(&fd.addr).await.unwrap();
    let (head, _) = exchange_on(
        &mut tcp,
        "GET /foo HTTP/1.1\r\nHost: front.example\r\nConnection: Upgrade\r\n\
         Upgrade: h2c, foo/1\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let seen = heads.recv().await.unwrap();
    assert!(seen.contains("\r\nupgrade: foo/1\r\n"), "{seen}");
    assert!(seen.contains("\r\nconnection: upgrade\r\n"), "{seen}");
    tcp.write_all(b"tunnel").await.unwrap();
    let mut echoed = [0u8; 6];
    tcp.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"tunnel");

    // `upgrades = []`: even a WebSocket upgrade goes as a plain request.
    let mut tcp = TcpStream::connect(&fd.addr).await.unwrap();
    let (head, body) = exchange_on(
        &mut tcp,
        "GET /none HTTP/1.1\r\nHost: front.example\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, "plain");
    let seen = heads.recv().await.unwrap();
    assert!(!seen.contains("upgrade"), "{seen}");
}

#[test]
fn h2c_in_upgrades_is_a_config_error() {
    let file = ConfigFile::new(
        "[[route]]\nspec = \"::/a\"\nupstream = \"http://127.0.0.1:1\"\nupgrades = [\"websocket\", \"h2c\"]\n",
    );
    let out = bin().args(["check", "-c"]).arg(&file.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        format!(
            "{}: line 4: route[0].upgrades: `h2c` cannot be proxied: the h2c upgrade is \
             deprecated (RFC 9113) and would let clients reach any path of the upstream\n",
            file.0.display()
        )
    );
}
