//! Fuzz target: `hrsync::fuzz::json_source`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hrsync::fuzz::json_source(data));
