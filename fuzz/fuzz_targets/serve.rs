//! `cargo fuzz run serve`: see [`frontdoor_fuzz::serve`] and `fuzz/README.md`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| frontdoor_fuzz::serve(data));
