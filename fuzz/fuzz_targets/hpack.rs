//! `cargo fuzz run hpack`: see [`frontdoor_fuzz::hpack`] and `fuzz/README.md`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| frontdoor_fuzz::hpack(data));
