//! The stable twin of the fuzz target `redfish_json` (harness `fuzz/upstream/redfish.rs`; see
//! `docs/fuzzing.md`).

#[path = "../../../fuzz/upstream/redfish.rs"]
mod harness;
#[path = "../../../fuzz/upstream/json_gen.rs"]
mod json_gen;
#[macro_use]
#[path = "../../../fuzz/upstream/twin.rs"]
mod twin;

twin!("redfish_json");
