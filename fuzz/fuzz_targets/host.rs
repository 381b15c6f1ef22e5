//! `cargo fuzz run host`: see [`frontdoor_fuzz::host`] and `fuzz/README.md`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| frontdoor_fuzz::host(data));
