//! Helpers shared by the harness's test binaries.

#![allow(dead_code, unreachable_pub, reason = "shared by several test binaries")]

use frontdoor_deproxy::{handlers, Deproxy, Endpoint};

/// An endpoint of `d` that answers with [`handlers::echo`].
pub async fn echo_endpoint(d: &Deproxy) -> Endpoint {
    d.endpoint()
        .handler(handlers::echo())
        .start()
        .await
        .expect("bind an echo endpoint")
}
