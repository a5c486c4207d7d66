//! cargo-fuzz target: see `ipmi_proto_fuzz::server_datagrams` (fuzz/harness/server_datagrams.rs) for the input format and
//! the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ipmi_proto_fuzz::server_datagrams::run(data));
