//! Example 4: the forwarded-host resolver alone, in an axum app.

use crate::{
    behind_load_balancer,
    client::{get, loopback},
};

const FORWARDED: [(&str, &str); 4] = [
    ("host", "10.0.0.5:8080"),
    ("x-forwarded-host", "shop.example.com"),
    ("x-forwarded-proto", "https"),
    ("x-forwarded-for", "203.0.113.9, 192.0.2.7"),
];

#[tokio::test]
async fn forwarding_headers_count_from_the_balancer_only() {
    // The balancer is this test's loopback address: trusted.
    let (listener, addr) = loopback().await;
    tokio::spawn(async move {
        behind_load_balancer::run(listener, &["127.0.0.1"])
            .await
            .unwrap()
    });
    let res = get(addr, "/whoami", &FORWARDED).await;
    assert_eq!(
        res.text(),
        "https://shop.example.com/whoami client=192.0.2.7 trusted=true forwarded_headers_seen=true\n"
    );

    // Trusting only 10.0.0.0/8: loopback is just a client; its headers are ignored
    // and stripped.
    let (listener, addr) = loopback().await;
    tokio::spawn(async move {
        behind_load_balancer::run(listener, &["10.0.0.0/8"])
            .await
            .unwrap()
    });
    let res = get(addr, "/whoami", &FORWARDED).await;
    assert_eq!(
        res.text(),
        "http://10.0.0.5:8080/whoami client=127.0.0.1 trusted=false forwarded_headers_seen=false\n"
    );
}
