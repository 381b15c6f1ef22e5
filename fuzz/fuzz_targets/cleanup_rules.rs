//! `cargo fuzz run cleanup_rules`: see [`frontdoor_fuzz::cleanup_rules`] and `fuzz/README.md`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| frontdoor_fuzz::cleanup_rules(data));
