//! cargo-fuzz target: see `ipmi_proto_fuzz::cmd_bodies` (fuzz/harness/cmd_bodies.rs) for the input format and
//! the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ipmi_proto_fuzz::cmd_bodies::run(data));
