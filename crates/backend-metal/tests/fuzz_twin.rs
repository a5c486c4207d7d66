//! The stable twin of the fuzz target `metal_json` (harness `fuzz/upstream/metal.rs`; see
//! `docs/fuzzing.md`).

#[path = "../../../fuzz/upstream/metal.rs"]
mod harness;
#[path = "../../../fuzz/upstream/json_gen.rs"]
mod json_gen;
#[macro_use]
#[path = "../../../fuzz/upstream/twin.rs"]
mod twin;

twin!("metal_json");
