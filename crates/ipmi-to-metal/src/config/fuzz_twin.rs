//! The proptest twin of the cargo-fuzz target `config_loader` (fuzz/fuzz_targets): the same
//! harness, `fuzz/config_harness.rs`, included by path, on stable in CI. It feeds the loader
//! TOML-ish text (table headers, known keys, values of every type) and the README's example
//! configurations with line edits, and replays the committed corpus. See docs/fuzzing.md.

#[path = "../../../../fuzz/config_harness.rs"]
mod harness;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;

/// Runs `cases` cases of `strategy` through `check`, with the scratch files in a fresh directory.
fn run_cases<S: Strategy>(cases: u32, strategy: S, check: impl Fn(&Path, S::Value)) {
    let dir = tempfile::tempdir().unwrap();
    harness::prepare(dir.path());
    let mut runner = TestRunner::new(Config::with_cases(cases));
    runner
        .run(&strategy, |v| {
            check(dir.path(), v);
            Ok(())
        })
        .unwrap();
}

/// One line of TOML-ish text: a table header, a known or unknown key with a value, or noise.
fn line() -> impl Strategy<Value = String> {
    let header = prop::sample::select(vec![
        "[[bmc]]",
        "[[bmc.users]]",
        "[bmc.lan]",
        "[bmc.sim]",
        "[bmc.ipmi]",
        "[bmc.metal]",
        "[bmc.ssh]",
        "[bmc.command]",
        "[bmc.routes]",
        "[[metal_discovery]]",
        "[[metal_discovery.users]]",
        "[bmc]",
        "[[bmc.sim]]",
        "[admin]",
        "[audit]",
    ])
    .prop_map(str::to_string);
    let key = prop::sample::select(vec![
        "name",
        "listen",
        "backend",
        "password",
        "password_file",
        "privilege",
        "host",
        "user",
        "cipher_suites",
        "auth_types",
        "max_sessions",
        "session_timeout",
        "login_lockout",
        "guid",
        "mac",
        "ip",
        "run",
        "status",
        "timeout_ms",
        "deadline_ms",
        "device_id",
        "token_file",
        "key_file",
        "known_hosts",
        "relay",
        "soft",
        "state_dir",
        "sel_capacity",
        "open",
        "log",
        "token_env",
        "tag",
        "project_id",
        "refresh_s",
        "x",
    ]);
    let value = prop_oneof![
        "\"[a-z0-9.:\\-\\[\\] /é]{0,24}\"",
        "-?[0-9]{1,21}",
        "(true|false|nan|inf|1e400)",
        "\\[([0-9]{1,3}, ){0,4}\\]",
        "\\[(\"[a-z:0-9.]{0,10}\", ){0,3}\\]",
        "\\{ ?(netfn = [0-9]{1,3}, )?(privilege = \"[a-z]{0,8}\")? ?\\}",
        Just("\"127.0.0.1:6230\"".to_string()),
        Just("\"secret\"".to_string()),
        Just("\"administrator\"".to_string()),
    ];
    prop_oneof![
        3 => header,
        8 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => "[ -~]{0,20}",
    ]
}

#[test]
fn toml_ish_text() {
    let text = prop::collection::vec(line(), 0..24).prop_map(|l| l.join("\n"));
    run_cases(1500, text, |dir, text| harness::check(dir, &text));
}

#[test]
fn arbitrary_bytes() {
    let bytes = prop::collection::vec(any::<u8>(), 0..200).prop_map(|mut b| {
        b.insert(0, 0);
        b
    });
    run_cases(500, bytes, |dir, b| harness::run(dir, &b));
}

#[test]
fn readme_examples_with_line_edits() {
    let input = (any::<u8>(), prop::collection::vec(any::<u8>(), 0..36)).prop_map(|(pick, e)| {
        let mut v = vec![pick | 1];
        v.extend(e);
        v
    });
    run_cases(1500, input, |dir, b| harness::run(dir, &b));
}

/// The README's examples, made loadable as the harness does, load: the mutations start from
/// configurations that get past every check.
#[test]
fn readme_examples_load() {
    let dir = tempfile::tempdir().unwrap();
    harness::prepare(dir.path());
    for text in harness::examples() {
        if let Err(e) = super::parse_all(harness::FILE, text, dir.path()) {
            panic!("{e}\n--- example:\n{text}");
        }
    }
}

/// The committed corpus of the cargo-fuzz target, and what long runs found, run clean.
#[test]
fn committed_corpus_runs_clean() {
    let dir = tempfile::tempdir().unwrap();
    harness::prepare(dir.path());
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut n = 0;
    for sub in ["corpus/config_loader", "artifacts-found/config_loader"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(sub)) else {
            continue;
        };
        for e in entries {
            let data = std::fs::read(e.unwrap().path()).unwrap();
            harness::run(dir.path(), &data);
            n += 1;
        }
    }
    assert!(n > 0, "no corpus in fuzz/corpus/config_loader");
}

/// Errors about the file as a whole name a place too (found by this twin): a file with nothing
/// to serve, and a TOML error whose parser gives no message (a lone carriage return).
#[test]
fn whole_file_errors_name_a_place_and_say_something() {
    let dir = Path::new(".");
    for (text, expect) in [
        (
            "",
            "t.toml:1:1: no [[bmc]] or [[metal_discovery]] table: nothing to serve",
        ),
        (
            "# nothing\n",
            "t.toml:1:1: no [[bmc]] or [[metal_discovery]] table: nothing to serve",
        ),
        ("\r", "t.toml:1:1: invalid TOML"),
    ] {
        let e = super::parse_all("t.toml", text, dir)
            .err()
            .expect("an error");
        assert_eq!(e.0, expect, "for {text:?}");
    }
}

/// The error check fails where it should.
#[test]
fn the_error_check_catches_errors_without_a_place() {
    let text = "a\nbc\n";
    let bad = [
        "fuzz.toml: no place",
        "other.toml:1:1: elsewhere",
        "fuzz.toml:4:1: past the last line",
        "fuzz.toml:2:4: past the end of the line",
        "fuzz.toml:1:1:",
    ];
    for msg in bad {
        let e = super::ConfigError(msg.to_string());
        assert!(
            std::panic::catch_unwind(|| harness::check_error(text, &e)).is_err(),
            "{msg}"
        );
    }
    harness::check_error(text, &super::ConfigError("fuzz.toml:2:3: fine".into()));
}
