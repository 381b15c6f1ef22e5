//! `cargo fuzz run path_route`: see [`frontdoor_fuzz::path_route`] and `fuzz/README.md`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| frontdoor_fuzz::path_route(data));
