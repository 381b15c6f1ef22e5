//! The mirror example: the client gets the primary's answer, the shadow's differing
//! answer is counted.

use std::time::Duration;

use frontdoor::mirror::MirrorStats;
use http::StatusCode;

use crate::{
    client::{get, loopback},
    mirror,
};

#[tokio::test]
async fn the_shadow_is_compared_and_its_differences_counted() {
    let (primary, primary_addr) = loopback().await;
    tokio::spawn(async move { axum::serve(primary, mirror::price_app(10)).await });
    let (shadow, shadow_addr) = loopback().await;
    tokio::spawn(async move { axum::serve(shadow, mirror::price_app(11)).await });
    let (listener, addr) = loopback().await;
    let stats = MirrorStats::new();
    let counted = stats.clone();
    let (primary, shadow) = (
        format!("http://{primary_addr}"),
        format!("http://{shadow_addr}"),
    );
    tokio::spawn(async move {
        mirror::run(listener, &primary, &shadow, counted)
            .await
            .unwrap()
    });

    for _ in 0..2 {
        let res = get(addr, "/price", &[]).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.json()["price"], 10);
    }
    // The comparisons finish on the mirror's own tasks: wait for both, bounded.
    let compared = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let now = stats.snapshot();
            if now.exchanges() == 2 {
                return now;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the two exchanges were never compared");
    assert_eq!((compared.mirrored(), compared.differing()), (2, 2));
}
