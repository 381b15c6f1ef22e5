//! Example 2: the same stack on bare hyper.

use http::StatusCode;

use crate::{
    client::{get, loopback},
    hyper_app,
};

#[tokio::test]
async fn hyper_app_serves_local_handlers_and_the_proxied_api() {
    let (api, api_addr) = loopback().await;
    tokio::spawn(
        frontdoor::serve::Server::from_listeners(vec![api]).serve(frontdoor::demo::echo()),
    );
    let (listener, addr) = loopback().await;
    let url = format!("http://{api_addr}");
    tokio::spawn(async move { hyper_app::run(listener, &url).await.unwrap() });

    let res = get(addr, "/hello", &[]).await;
    assert_eq!(
        (res.status, res.text().as_str()),
        (StatusCode::OK, "hello from hyper\n")
    );
    let res = get(addr, "/x/../whoami", &[("host", "www.example.com")]).await;
    assert_eq!(res.text(), "www.example.com:80:/whoami peer=127.0.0.1\n");
    let res = get(addr, "/api/users?id=1", &[]).await;
    assert_eq!(res.json()["uri"], "/users?id=1");
    // Compression wraps the whole stack here, the proxied route included.
    let res = get(addr, "/report", &[("accept-encoding", "gzip")]).await;
    assert_eq!(res.header("content-encoding"), "gzip");
    assert_eq!(
        get(addr, "/nowhere", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}
