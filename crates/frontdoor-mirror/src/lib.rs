//! Traffic shadowing with request/response/replay hooks and comparators.
//!
//! This crate is a placeholder: its issue has not landed yet.
#![forbid(unsafe_code)]
