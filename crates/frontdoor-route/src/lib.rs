//! WFront-style router over ordered `host:port:path` specs, with default and abort404 services.
//!
//! This crate is a placeholder: its issue has not landed yet.
#![forbid(unsafe_code)]
