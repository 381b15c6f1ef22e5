//! frontdoor's integration tests: real servers and clients on `127.0.0.1:0`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod docs;
mod fuzz;
mod limits;
mod plan;
mod seams;
mod serve;
mod splice;
mod stack;
mod strict;
mod tls;
