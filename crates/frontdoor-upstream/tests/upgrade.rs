//! Upgrades through the proxy: a WebSocket echo end to end, and upgrade refusals.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod support;

use frontdoor_core::Body;
use frontdoor_upstream::{GatewayErrorLayer, Upstream};
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tower::ServiceBuilder;

/// A WebSocket echo upstream on loopback.
async fn ws_echo_upstream() -> std::net::SocketAddr {
    let (l, addr) = support::listener().await;
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(s).await else {
                    return;
                };
                // Close frames are answered by tungstenite itself; the loop ends when
                // the closing handshake is complete.
                while let Some(Ok(msg)) = ws.next().await {
                    if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn websocket_echo_through_the_proxy() {
    let up = ws_echo_upstream().await;
    let front = support::serve(
        ServiceBuilder::new()
            .layer(GatewayErrorLayer::new())
            .service(Upstream::new(&format!("http://{up}")).unwrap()),
    )
    .await;
    let tcp = TcpStream::connect(front).await.unwrap();
    let (mut ws, res) = tokio_tungstenite::client_async(format!("ws://{front}/chat"), tcp)
        .await
        .unwrap();
    assert_eq!(res.status(), 101);
    for text in ["hello", "world"] {
        ws.send(Message::text(text)).await.unwrap();
        let got = ws.next().await.unwrap().unwrap();
        assert_eq!(got.into_text().unwrap().as_str(), text);
    }
    ws.send(Message::binary(vec![0u8, 1, 2])).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap().into_data().as_ref(),
        [0u8, 1, 2]
    );
    // A clean close both ways: our close frame is answered, then the stream ends.
    ws.close(None).await.unwrap();
    while let Some(msg) = ws.next().await {
        match msg {
            Ok(m) => assert!(m.is_close(), "{m:?}"),
            Err(e) => panic!("unclean close: {e}"),
        }
    }
}

#[tokio::test]
async fn an_upstream_that_declines_the_upgrade_answers_normally() {
    let up = support::hyper_upstream(|req: Request<hyper::body::Incoming>| async move {
        let upgrade = req.headers().get("upgrade").cloned();
        Response::new(Body::from(format!("{upgrade:?}")))
    })
    .await;
    let front = support::serve(
        ServiceBuilder::new()
            .layer(GatewayErrorLayer::new())
            .service(Upstream::new(&format!("http://{up}")).unwrap()),
    )
    .await;
    let tcp = TcpStream::connect(front).await.unwrap();
    let err = tokio_tungstenite::client_async(format!("ws://{front}/chat"), tcp)
        .await
        .unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(res) = err else {
        panic!("{err:?}");
    };
    assert_eq!(res.status(), 200);
    // The upstream did see the upgrade request (Upgrade kept when proxying upgrades).
    assert_eq!(res.body().as_deref(), Some(&b"Some(\"websocket\")"[..]));
}

#[tokio::test]
async fn upgrades_can_be_switched_off() {
    let up = support::hyper_upstream(|req: Request<hyper::body::Incoming>| async move {
        let upgrade = req.headers().get("upgrade").cloned();
        Response::new(Body::from(format!("{upgrade:?}")))
    })
    .await;
    let front = support::serve(
        ServiceBuilder::new()
            .layer(GatewayErrorLayer::new())
            .service(
                Upstream::builder(&format!("http://{up}"))
                    .no_upgrades()
                    .build()
                    .unwrap(),
            ),
    )
    .await;
    let tcp = TcpStream::connect(front).await.unwrap();
    let err = tokio_tungstenite::client_async(format!("ws://{front}/chat"), tcp)
        .await
        .unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(res) = err else {
        panic!("{err:?}");
    };
    assert_eq!(res.body().as_deref(), Some(&b"None"[..]));
}

/// A raw upstream that answers a `CONNECT` with `200` and then echoes the tunnel.
async fn connect_echo_upstream() -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (l, addr) = support::listener().await;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if s.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                assert!(head.starts_with(b"CONNECT "), "{head:?}");
                s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn connect_is_tunnelled_only_where_the_upstream_opts_in() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let up = connect_echo_upstream().await;
    for opted_in in [false, true] {
        let upstream = Upstream::builder(&format!("http://{up}"))
            .connect_method(opted_in)
            .build()
            .unwrap();
        let front = support::serve(
            ServiceBuilder::new()
                .layer(GatewayErrorLayer::new())
                .service(upstream),
        )
        .await;
        let mut tcp = TcpStream::connect(front).await.unwrap();
        tcp.write_all(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
            .await
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            tcp.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        if !opted_in {
            assert!(head.starts_with("HTTP/1.1 405 "), "{head}");
            assert!(
                head.to_ascii_lowercase().contains("\r\nallow: get,"),
                "{head}"
            );
            continue;
        }
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        tcp.write_all(b"through the tunnel").await.unwrap();
        let mut echoed = [0u8; 18];
        tcp.read_exact(&mut echoed).await.unwrap();
        assert_eq!(&echoed, b"through the tunnel");
    }
}

// === allowed upgrade protocols ===

/// What [`recording_origin`] answers.
#[derive(Clone, Copy)]
enum Origin {
    /// `101` naming the first `Upgrade` token to a request that has one (then echoes
    /// the tunnel), `200 plain` to any other: an h2c-capable origin would switch.
    SwitchesWhenAsked,
    /// `101 Upgrade: h2c` to every request, asked or not.
    AlwaysSwitches,
}

/// An origin on loopback that records the head of every request it reads (lowercase)
/// and answers as `mode` says, keeping the connection for further requests.
async fn recording_origin(
    mode: Origin,
) -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (l, addr) = support::listener().await;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                loop {
                    let head = support::read_head(&mut s).await.to_ascii_lowercase();
                    if head.is_empty() {
                        return;
                    }
                    let asked = head
                        .lines()
                        .find_map(|l| l.strip_prefix("upgrade: "))
                        .map(|v| v.split(',').next().unwrap_or("").trim().to_owned());
                    let _ = tx.send(head);
                    let switch_to = match (mode, asked) {
                        (Origin::AlwaysSwitches, _) => "h2c".to_owned(),
                        (Origin::SwitchesWhenAsked, Some(token)) => token,
                        (Origin::SwitchesWhenAsked, None) => {
                            let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain";
                            if s.write_all(plain).await.is_err() {
                                return;
                            }
                            continue;
                        }
                    };
                    let answer = format!(
                        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: {switch_to}\r\n\r\n"
                    );
                    if s.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                    let mut buf = [0u8; 64];
                    while let Ok(n @ 1..) = s.read(&mut buf).await {
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                    return;
                }
            });
        }
    });
    (addr, rx)
}

/// The proxy in front of `upstream`, served on loopback.
async fn front(upstream: Upstream) -> std::net::SocketAddr {
    support::serve(
        ServiceBuilder::new()
            .layer(GatewayErrorLayer::new())
            .service(upstream),
    )
    .await
}

/// Writes `request` and reads one response: its head, and a body of its
/// `Content-Length` (none for a `101`).
async fn exchange(tcp: &mut TcpStream, request: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.write_all(request.as_bytes()).await.unwrap();
    let read = async {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            tcp.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let len = head
            .to_ascii_lowercase()
            .lines()
            .find_map(|l| l.strip_prefix("content-length: ").map(str::to_owned))
            .map_or(0, |n| n.trim().parse().unwrap());
        let mut body = vec![0u8; len];
        tcp.read_exact(&mut body).await.unwrap();
        (head, String::from_utf8(body).unwrap())
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("no answer")
}

/// The lines of a recorded head whose name is `name`.
fn lines_named<'a>(head: &'a str, name: &str) -> Vec<&'a str> {
    head.lines()
        .filter(|l| l.split_once(':').is_some_and(|(n, _)| n == name))
        .collect()
}

const H2C_ATTACK: &str = "GET /h2capp HTTP/1.1\r\nHost: front.example\r\n\
    Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
    HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n";

/// The h2c smuggling request reaches an h2c-capable origin as a plain HTTP/1.1
/// request: no `Upgrade`, no `HTTP2-Settings`, no `Connection`; the origin answers it
/// as such and the client's connection stays HTTP/1.1 (no tunnel to speak HTTP/2
/// through, with a `:path` outside `/public`).
#[tokio::test]
async fn an_h2c_upgrade_is_forwarded_as_a_plain_request() {
    let (origin, mut heads) = recording_origin(Origin::SwitchesWhenAsked).await;
    let front = front(Upstream::new(&format!("http://{origin}/public")).unwrap()).await;
    let mut tcp = TcpStream::connect(front).await.unwrap();
    let (head, body) = exchange(&mut tcp, H2C_ATTACK).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, "plain");
    let seen = heads.recv().await.unwrap();
    assert!(
        seen.starts_with("get /public/h2capp http/1.1\r\n"),
        "{seen}"
    );
    for gone in ["upgrade", "http2-settings", "connection"] {
        assert_eq!(lines_named(&seen, gone), Vec::<&str>::new(), "{seen}");
    }
    // Not nominated in `Connection`, `HTTP2-Settings` is still hop-by-hop; the
    // connection still speaks HTTP/1.1.
    let (head, body) = exchange(
        &mut tcp,
        "GET /again HTTP/1.1\r\nHost: front.example\r\nConnection: Upgrade\r\n\
         Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, "plain");
    let seen = heads.recv().await.unwrap();
    assert!(seen.starts_with("get /public/again http/1.1\r\n"), "{seen}");
    for gone in ["upgrade", "http2-settings", "connection"] {
        assert_eq!(lines_named(&seen, gone), Vec::<&str>::new(), "{seen}");
    }
}

/// `Upgrade: foo/1` is not forwarded by default; listed, it is, and only the listed
/// tokens of the client's `Upgrade` are.
#[tokio::test]
async fn only_listed_protocols_are_forwarded() {
    let (origin, mut heads) = recording_origin(Origin::SwitchesWhenAsked).await;
    let foo = "GET /x HTTP/1.1\r\nHost: front.example\r\nConnection: Upgrade\r\n\
               Upgrade: h2c, foo/1, bar\r\n\r\n";

    let default = front(Upstream::new(&format!("http://{origin}")).unwrap()).await;
    let mut tcp = TcpStream::connect(default).await.unwrap();
    let (head, body) = exchange(&mut tcp, foo).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, "plain");
    let seen = heads.recv().await.unwrap();
    assert_eq!(lines_named(&seen, "upgrade"), Vec::<&str>::new(), "{seen}");
    assert_eq!(
        lines_named(&seen, "connection"),
        Vec::<&str>::new(),
        "{seen}"
    );

    let listed = Upstream::builder(&format!("http://{origin}"))
        .upgrades(["websocket", "FOO"])
        .build()
        .unwrap();
    let listed = front(listed).await;
    let mut tcp = TcpStream::connect(listed).await.unwrap();
    let (head, body) = exchange(&mut tcp, foo).await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("\r\nupgrade: foo/1\r\n"),
        "{head}"
    );
    assert_eq!(body, "");
    let seen = heads.recv().await.unwrap();
    assert_eq!(lines_named(&seen, "upgrade"), ["upgrade: foo/1"], "{seen}");
    assert_eq!(
        lines_named(&seen, "connection"),
        ["connection: upgrade"],
        "{seen}"
    );
    // Spliced: bytes go through the tunnel and come back.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.write_all(b"through").await.unwrap();
    let mut echoed = [0u8; 7];
    tcp.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"through");
}

/// An upstream answering `101` to a request that was not forwarded as an upgrade
/// gets a 502 for it, never a tunnel.
#[tokio::test]
async fn a_101_to_a_request_not_forwarded_as_an_upgrade_is_502() {
    let (origin, mut heads) = recording_origin(Origin::AlwaysSwitches).await;
    let front = front(Upstream::new(&format!("http://{origin}/public")).unwrap()).await;
    for request in [
        "GET /plain HTTP/1.1\r\nHost: front.example\r\n\r\n",
        H2C_ATTACK,
    ] {
        let mut tcp = TcpStream::connect(front).await.unwrap();
        let (head, _) = exchange(&mut tcp, request).await;
        assert!(head.starts_with("HTTP/1.1 502 "), "{request}: {head}");
        let seen = heads.recv().await.unwrap();
        assert_eq!(lines_named(&seen, "upgrade"), Vec::<&str>::new(), "{seen}");
    }
}
