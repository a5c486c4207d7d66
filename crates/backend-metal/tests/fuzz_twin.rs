//! The stable twin of the fuzz target `metal_json` (see `docs/fuzzing.md`): the same harness
//! (`fuzz/upstream/metal.rs`) on a few thousand generated inputs under proptest, and on every
//! committed corpus input, in every `cargo test`.

#[path = "../../../fuzz/upstream/metal.rs"]
mod harness;
#[path = "../../../fuzz/upstream/json_gen.rs"]
mod json_gen;

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn generated_inputs(data in proptest::collection::vec(any::<u8>(), 0..800)) {
        harness::run(&data);
    }
}

#[test]
fn the_corpus_replays() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/metal_json");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("the committed corpus") {
        harness::run(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n > 0, "no corpus input in {dir}");
}
