//! `cargo fuzz run stack`: see [`frontdoor_fuzz::stack`] and `fuzz/README.md`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| frontdoor_fuzz::stack(data));
