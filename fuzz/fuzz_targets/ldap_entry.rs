//! Fuzz target: `hrsync::fuzz::ldap_entry`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hrsync::fuzz::ldap_entry(data));
