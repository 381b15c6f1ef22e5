//! Example 1: an axum app with a frontdoor route inside it, tower-http over both,
//! under `axum::serve`.

use http::StatusCode;

use crate::{
    axum_app,
    client::{get, loopback},
};

#[tokio::test]
async fn axum_app_serves_local_handlers_and_the_proxied_api() {
    // The API the example proxies: the echo backend.
    let (api, api_addr) = loopback().await;
    let api = frontdoor::serve::Server::from_listeners(vec![api]);
    tokio::spawn(api.serve(frontdoor::demo::echo()));
    let (listener, addr) = loopback().await;
    let url = format!("http://{api_addr}");
    tokio::spawn(async move {
        axum_app::run(listener, &url, std::time::Duration::from_secs(10))
            .await
            .unwrap()
    });

    let res = get(addr, "/hello", &[]).await;
    assert_eq!(
        (res.status, res.text().as_str()),
        (StatusCode::OK, "hello from axum\n")
    );

    // Canonicalised before axum routes it; the extractors read what frontdoor stamped.
    let res = get(addr, "/x/../whoami", &[("host", "www.example.com")]).await;
    assert_eq!(
        res.text(),
        "www.example.com:80:/whoami script_name=\"\" peer=127.0.0.1\n"
    );

    // Proxied: prefix consumed, query kept.
    let res = get(addr, "/api/users?id=1", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    let echo = res.json();
    assert_eq!(echo["uri"], "/users?id=1");
    assert_eq!(echo["method"], "GET");

    // tower-http's compression, applied with Router::layer, to a handler's answer and
    // to a proxied one alike.
    let res = get(addr, "/report", &[("accept-encoding", "gzip")]).await;
    assert_eq!(res.header("content-encoding"), "gzip");
    assert!(res.body.len() < 2000, "{} bytes", res.body.len());
    let res = get(addr, "/api/users?id=1", &[("accept-encoding", "gzip")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("content-encoding"), "gzip");

    // axum's own 404 for what neither frontdoor nor axum routes.
    assert_eq!(
        get(addr, "/nowhere", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

/// A stalled upstream is cut off by the app's `TimeoutLayer` (here 300 ms), not by the
/// upstream client's own 60 s head timeout.
#[tokio::test]
async fn the_timeout_layer_covers_the_proxied_route() {
    // An upstream that accepts connections and never answers.
    let (stalled, stalled_addr) = loopback().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = stalled.accept().await {
            held.push(conn);
        }
    });
    let (listener, addr) = loopback().await;
    let url = format!("http://{stalled_addr}");
    tokio::spawn(async move {
        axum_app::run(listener, &url, std::time::Duration::from_millis(300))
            .await
            .unwrap()
    });
    let started = tokio::time::Instant::now();
    let res = get(addr, "/api/slow", &[]).await;
    assert_eq!(res.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
