//! cargo-fuzz target: see `ipmi_proto_fuzz::server_in_session` (fuzz/harness/server_in_session.rs) for the input format and
//! the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ipmi_proto_fuzz::server_in_session::run(data));
