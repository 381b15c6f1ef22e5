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
