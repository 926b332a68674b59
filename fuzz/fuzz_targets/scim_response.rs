//! Fuzz target: `hrsync::fuzz::scim_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hrsync::fuzz::scim_response(data));
