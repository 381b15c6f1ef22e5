//! GoReplay middleware protocol adapter.
//!
//! This crate is a placeholder: its issue has not landed yet.
#![forbid(unsafe_code)]
