//! What an upstream API sends, through the backend's parsers: see `fuzz/upstream/http_answers.rs`.
#![no_main]

#[path = "../upstream/http_answers.rs"]
mod harness;
#[path = "../upstream/json_gen.rs"]
mod json_gen;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
