//! Fuzz target: `hrsync::fuzz::template`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hrsync::fuzz::template(data));
