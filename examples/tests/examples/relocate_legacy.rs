//! Example 5: the relocation layer alone, in front of a legacy app.

use http::StatusCode;

use crate::{
    client::{get, loopback},
    relocate_legacy,
};

#[tokio::test]
async fn redirects_and_cookies_come_back_under_the_public_root() {
    let (legacy, legacy_addr) = loopback().await;
    tokio::spawn(async move { axum::serve(legacy, relocate_legacy::legacy_app()).await });
    let (listener, addr) = loopback().await;
    let upstream = format!("http://{legacy_addr}/legacy");
    tokio::spawn(async move { relocate_legacy::run(listener, &upstream).await.unwrap() });

    let res = get(addr, "/login", &[]).await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert_eq!(res.header("location"), format!("http://{addr}/home"));
    // The app's Domain is dropped, which scopes the cookie to the public host.
    assert_eq!(res.header("set-cookie"), "sid=42; Path=/; HttpOnly");
    let res = get(addr, "/home", &[]).await;
    assert_eq!(res.text(), "legacy home\n");
    // Another host is left alone.
    let res = get(addr, "/elsewhere", &[]).await;
    assert_eq!(res.header("location"), "http://partner.example/legacy/x");
}
