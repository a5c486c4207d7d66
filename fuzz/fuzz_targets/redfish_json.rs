//! What an upstream API sends, through the backend's parsers: see `fuzz/upstream/redfish.rs`.
#![no_main]

#[path = "../upstream/redfish.rs"]
mod harness;
#[path = "../upstream/json_gen.rs"]
mod json_gen;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
