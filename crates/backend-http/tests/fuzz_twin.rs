//! The stable twin of the fuzz target `http_answers` (harness `fuzz/upstream/http_answers.rs`; see
//! `docs/fuzzing.md`).

#[path = "../../../fuzz/upstream/http_answers.rs"]
mod harness;
#[path = "../../../fuzz/upstream/json_gen.rs"]
mod json_gen;
#[macro_use]
#[path = "../../../fuzz/upstream/twin.rs"]
mod twin;

twin!("http_answers");
