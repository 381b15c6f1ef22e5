//! Local-root <-> remote-root relocation of requests and responses.
//!
//! This crate is a placeholder: its issue has not landed yet.
#![forbid(unsafe_code)]
