//! Terminal upstream-client service: pooled, streaming, with typed errors and gateway responses.
//!
//! This crate is a placeholder: its issue has not landed yet.
#![forbid(unsafe_code)]
