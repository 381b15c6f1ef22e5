//! Runs every example on loopback (`127.0.0.1:0`) and checks what it answers. Each
//! example's source is included as a module, so the test runs the example's own
//! `run` (what its `main` calls after binding its fixed ports).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

#[path = "../axum_app.rs"]
#[allow(dead_code, reason = "the example's main is not called")]
mod axum_app;

#[path = "../hyper_app.rs"]
#[allow(dead_code, reason = "the example's main is not called")]
mod hyper_app;

mod client;

mod examples {
    mod axum_app;
    mod hyper_app;
}
