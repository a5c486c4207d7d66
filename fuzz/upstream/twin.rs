//! The stable twin of an upstream fuzz target, for the crate's tests (see `docs/fuzzing.md`):
//! `twin!("target")` in a test file that has the target's harness as `mod harness` runs it on
//! 3,000 generated inputs under proptest, on every committed corpus input and on every finding
//! in `fuzz/artifacts-found/<target>/`, in every `cargo test`.

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
        fn the_corpus_and_the_findings_replay() {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/", $target);
            let mut n = 0;
            for entry in std::fs::read_dir(dir).expect("the committed corpus") {
                harness::run(&std::fs::read(entry.unwrap().path()).unwrap());
                n += 1;
            }
            assert!(n > 0, "no corpus input in {dir}");
            // Each input a run found (and a fix made pass), if the target has any.
            let found = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../fuzz/artifacts-found/",
                $target
            );
            for entry in std::fs::read_dir(found).into_iter().flatten() {
                harness::run(&std::fs::read(entry.unwrap().path()).unwrap());
            }
        }
    };
}
