//! `cargo fuzz run rfc7239`: see [`frontdoor_fuzz::rfc7239`] and `fuzz/README.md`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| frontdoor_fuzz::rfc7239(data));
