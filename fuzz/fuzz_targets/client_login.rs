//! cargo-fuzz target: see `ipmi_proto_fuzz::client_login` (fuzz/harness/client_login.rs) for the input format and
//! the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ipmi_proto_fuzz::client_login::run(data));
