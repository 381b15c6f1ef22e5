//! Example 6: the cleanup rules alone.

use frontdoor::cleanup::{Rules, Syntax};
use serde_json::json;

use crate::{
    cleanup_rules,
    client::{get, loopback},
};

#[tokio::test]
async fn the_app_sees_the_cleaned_request() {
    assert_eq!(
        cleanup_rules::rules().unwrap(),
        Rules::parse(Syntax::Shortcut, cleanup_rules::SHORTCUT).unwrap()
    );
    let (listener, addr) = loopback().await;
    tokio::spawn(async move { cleanup_rules::run(listener).await.unwrap() });

    let headers = [
        ("host", "www.example.com"),
        ("cookie", "secret=1"),
        ("x-app", "1.0"),
    ];
    let echo = get(addr, "/legacy/page?q=1", &headers).await.json();
    assert_eq!(echo["uri"], "/page?q=1");
    assert_eq!(echo["script_name"], "");
    assert_eq!(
        echo["headers"],
        json!([
            ["host", "www.example.com"],
            ["x-source", "public"],
            ["x-app", "frontdoor/1.0"]
        ])
    );
    assert_eq!(echo["vars"], json!({"mode": "wap"}));

    // /legacyx is not under /legacy: left alone; a client's X-Source is kept.
    let echo = get(addr, "/legacyx", &[("x-source", "partner")])
        .await
        .json();
    assert_eq!(echo["uri"], "/legacyx");
    assert_eq!(echo["headers"][1], json!(["x-source", "partner"]));
}
