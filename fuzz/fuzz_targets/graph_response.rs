//! Fuzz target: `hrsync::fuzz::graph_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hrsync::fuzz::graph_response(data));
