//! The stable twin of an upstream fuzz target, for the crate's tests (see `docs/fuzzing.md`):
//! `twin!("target")` in a test file that has the target's harness as `mod harness` runs it on
//! 3,000 generated inputs under proptest and on every committed corpus input, in every
//! `cargo test`.

/// The twin's two tests.
macro_rules! twin {
    ($target:literal) => {
        proptest::proptest! {
            #![proptest_config(proptest::prelude::ProptestConfig {
                cases: 3000,
                ..proptest::prelude::ProptestConfig::default()
            })]

            #[test]
            fn generated_inputs(
                data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..800)
            ) {
                harness::run(&data);
            }
        }

        #[test]
        fn the_corpus_replays() {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/", $target);
            let mut n = 0;
            for entry in std::fs::read_dir(dir).expect("the committed corpus") {
                harness::run(&std::fs::read(entry.unwrap().path()).unwrap());
                n += 1;
            }
            assert!(n > 0, "no corpus input in {dir}");
        }
    };
}
