//! `cargo fuzz run fast_path`: see [`frontdoor_fuzz::fast_path`] and `fuzz/README.md`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| frontdoor_fuzz::fast_path(data));
