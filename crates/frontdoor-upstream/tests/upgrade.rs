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
                    .upgrades(false)
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
