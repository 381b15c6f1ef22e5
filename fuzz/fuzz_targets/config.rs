//! `cargo fuzz run config`: see [`frontdoor_fuzz::config`] and `fuzz/README.md`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| frontdoor_fuzz::config(data));
