//! Declarative request rewrite rules (copy, subtract, sub, template, set-default, remove, set, strip-prefix, reset-host).
//!
//! This crate is a placeholder: its issue has not landed yet.
#![forbid(unsafe_code)]
