//! Resolver layer: stamps the resolved `host:port:path` into request extensions.
//!
//! This crate is a placeholder: its issue has not landed yet.
#![forbid(unsafe_code)]
