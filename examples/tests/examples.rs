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

#[path = "../admin_listener.rs"]
#[allow(dead_code, reason = "the example's main is not called")]
mod admin_listener;

#[path = "../behind_load_balancer.rs"]
#[allow(dead_code, reason = "the example's main is not called")]
mod behind_load_balancer;

#[path = "../relocate_legacy.rs"]
#[allow(dead_code, reason = "the example's main is not called")]
mod relocate_legacy;

#[path = "../cleanup_rules.rs"]
#[allow(dead_code, reason = "the example's main is not called")]
mod cleanup_rules;

#[path = "../mirror.rs"]
#[allow(dead_code, reason = "the example's main is not called")]
mod mirror;

#[path = "../seed_demos.rs"]
#[allow(dead_code, reason = "the example's main is not called")]
mod seed_demos;

#[path = "../gor_middleware.rs"]
#[allow(dead_code, reason = "the example's main is not called")]
mod gor_middleware;
#[path = "../mapper.rs"]
#[allow(dead_code, reason = "the example's main is not called")]
mod mapper;

mod client;

mod examples {
    mod admin_listener;
    mod axum_app;
    mod behind_load_balancer;
    mod cleanup_rules;
    mod gor_middleware;
    mod hyper_app;
    mod mapper;
    mod mirror;
    mod relocate_legacy;
    mod seed_demos;
}
