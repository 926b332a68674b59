//! Fuzz target: `hrsync::fuzz::config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hrsync::fuzz::config(data));
