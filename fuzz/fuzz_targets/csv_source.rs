//! Fuzz target: `hrsync::fuzz::csv_source`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hrsync::fuzz::csv_source(data));
