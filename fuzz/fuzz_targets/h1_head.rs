//! `cargo fuzz run h1_head`: see [`frontdoor_fuzz::h1_head`] and `fuzz/README.md`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| frontdoor_fuzz::h1_head(data));
