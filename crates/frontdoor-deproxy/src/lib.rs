//! Test harness for proxies: endpoints, message chains, handlings, fault-injecting origins.
//!
//! This crate is a placeholder: its issue has not landed yet.
#![forbid(unsafe_code)]
