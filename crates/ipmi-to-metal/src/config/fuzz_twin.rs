//! The proptest twin of the cargo-fuzz target `config_loader` (fuzz/fuzz_targets): the same
//! harness, `fuzz/config_harness.rs`, included by path, on stable in CI. It feeds the loader
//! TOML-ish text (table headers, known keys, values of every type) and the guide's example
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
        "[bmc.libvirt]",
        "[[libvirt_discovery]]",
        "[[libvirt_discovery.users]]",
        "[bmc]",
        "[[bmc.sim]]",
        "[admin]",
        "[audit]",
        "[redfish]",
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
        "redfish_listen",
        "per_bmc_port",
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
        "sel_on_damage",
        "sel_sync",
        "max_devices",
        "open",
        "log",
        "token_env",
        "tag",
        "project_id",
        "refresh_s",
        "media_pool",
        "media_max_mb",
        "media_timeout_ms",
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

/// The guide's examples, made loadable as the harness does, load: the mutations start from
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

/// What a reader of the document ([`super::document`]) makes of `text`: the error, or where
/// each part it read is in the text and what the session pass read.
fn read_with(
    text: &str,
    read: fn(&backend_config::Source) -> Result<super::Read, super::ConfigError>,
) -> String {
    let src = backend_config::Source::new("t.toml", text, Path::new("."));
    let r = match read(&src) {
        Err(e) => return format!("error {}", e.0),
        Ok(r) => r,
    };
    let at = |base: usize, s: std::ops::Range<usize>| base + s.start..base + s.end;
    let bmcs: Vec<_> = r
        .own
        .bmc
        .iter()
        .zip(&r.bases)
        .map(|(b, base)| {
            let f = &b.get_ref().0;
            (
                at(*base, b.span()),
                (f.name.get_ref(), at(*base, f.name.span())),
                (f.listen.get_ref(), at(*base, f.listen.span())),
            )
        })
        .collect();
    let sessions: Vec<_> = r
        .sessions
        .bmc
        .iter()
        .zip(&r.bases)
        .map(|(s, base)| spans_from(*base, &format!("{s:?}")))
        .collect();
    let discoveries: Vec<_> = r.own.metal_discovery.iter().map(|d| d.span()).collect();
    let tables: Vec<Vec<_>> = r
        .tables
        .iter()
        .map(|k| {
            k.iter()
                .zip(&r.bases)
                .map(|(t, base)| t.as_ref().map(|t| at(*base, t.span())))
                .collect()
        })
        .collect();
    format!(
        "bmc {bmcs:?}\ndiscovery {discoveries:?}\nstate {:?} {:?}\nsessions {sessions:?} {:?}\ntables {tables:?}",
        r.own.state_dir, r.own.sel_capacity, r.sessions.metal_discovery
    )
}

/// `debug` (of values in `Spanned`) with every `span: A..B` counted from the text's start
/// instead of from `base`.
fn spans_from(base: usize, debug: &str) -> String {
    let mut out = String::new();
    let mut rest = debug;
    while let Some(i) = rest.find("span: ") {
        out.push_str(&rest[..i + 6]);
        rest = &rest[i + 6..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (a, b) = rest[..end].split_once("..").expect("a range");
        out.push_str(&format!(
            "{}..{}",
            base + a.parse::<usize>().unwrap(),
            base + b.parse::<usize>().unwrap()
        ));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// What the loader makes of `text` with the document read by `read`: the error, or what
/// `check-config` says of it.
fn load_with(
    dir: &Path,
    text: &str,
    read: fn(&backend_config::Source) -> Result<super::Read, super::ConfigError>,
) -> String {
    match super::parse_with(harness::FILE, text, dir, read) {
        Err(e) => format!("error {}", e.0),
        Ok(c) => {
            let bmcs: Vec<_> = c
                .bmcs
                .iter()
                .map(|b| {
                    let extra: Vec<_> = b.extra.iter().map(|e| e.describe()).collect();
                    let routes = b.routes.as_ref().map(|t| {
                        ipmi_bmc::routing::Operation::ALL
                            .iter()
                            .map(|op| t.chain(*op).join(" -> "))
                            .collect::<Vec<_>>()
                    });
                    format!(
                        "{} {} {} {extra:?} {routes:?} users {} {:?} {:?}",
                        b.settings.name,
                        b.listen,
                        b.backend.describe(),
                        b.server.users.len(),
                        b.warnings,
                        b.console
                    )
                })
                .collect();
            let discoveries: Vec<_> = c.discovery.iter().map(|d| &d.name).collect();
            format!("{bmcs:?} {discoveries:?} {:?}", c.state.sel_path)
        }
    }
}

/// Reading the document parsed once, in parts or whole, gives what the passes over the text
/// gave: the same parts at the same places, or the same first error at the same place.
fn reads_as_the_passes(text: &str) {
    let passes = read_with(text, super::document::read_pass_by_pass);
    let whole = read_with(text, super::document::read_whole);
    assert_eq!(whole, passes, "whole document --- text:\n{text}");
    let parts = read_with(text, super::document::read);
    assert_eq!(parts, passes, "in parts --- text:\n{text}");
    // Cut at every `[[bmc]]` line.
    let small = read_with(text, |src| super::document::read_in_small_parts(src, 0));
    assert_eq!(small, passes, "in small parts --- text:\n{text}");
}

/// The same, and the loader's checks after reading give the same errors at the same places
/// whether the text was read in parts or whole (the parts count their places from their start).
fn loads_as_the_passes(dir: &Path, text: &str) {
    reads_as_the_passes(text);
    if harness::names_a_host(text) {
        return;
    }
    let whole = load_with(dir, text, super::document::read_pass_by_pass);
    let small = load_with(dir, text, |src| {
        super::document::read_in_small_parts(src, 0)
    });
    assert_eq!(small, whole, "loaded in small parts --- text:\n{text}");
}

#[test]
fn the_document_reads_as_the_passes_over_the_text() {
    let text = prop::collection::vec(line(), 0..24).prop_map(|l| l.join("\n"));
    run_cases(1500, text, |dir, text| loads_as_the_passes(dir, &text));
    let input = (any::<u8>(), prop::collection::vec(any::<u8>(), 0..36)).prop_map(|(pick, e)| {
        let mut v = vec![pick | 1];
        v.extend(e);
        v
    });
    run_cases(1500, input, |dir, b| {
        loads_as_the_passes(dir, &harness::text_of(&b).expect("not empty"))
    });
    let dir = tempfile::tempdir().unwrap();
    harness::prepare(dir.path());
    let dir = dir.path();
    for text in harness::examples() {
        loads_as_the_passes(dir, text);
    }
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    for sub in ["corpus/config_loader", "artifacts-found/config_loader"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(sub)) else {
            continue;
        };
        for e in entries {
            if let Some(text) = harness::text_of(&std::fs::read(e.unwrap().path()).unwrap()) {
                loads_as_the_passes(dir, &text);
            }
        }
    }
    // The shapes read pass by pass, and the lists in either order.
    let bmc = "[[bmc]]\nname = \"a\"\nlisten = \"127.0.0.1:1\"\n";
    let disc = "[[metal_discovery]]\nproject_id = \"p\"\nmax_sessions = \"x\"\n";
    for text in [
        "bmc = [{ name = \"a\", listen = \"127.0.0.1:1\", sim = { x = 1 } }]\n".to_string(),
        "bmc = [1]\nstate_dir = 2\n".to_string(),
        "bmc = 1\n".to_string(),
        "[bmc]\nname = \"a\"\n".to_string(),
        "metal_discovery = []\n".to_string(),
        format!("{disc}{bmc}max_sessions = [1]\n"),
        format!("{bmc}max_sessions = [1]\n{disc}"),
        format!("{bmc}ssh = 1\ncolour = 2\n[bmc.sim]\nx = 1\n"),
    ] {
        reads_as_the_passes(&text);
    }
}

/// Errors about the file as a whole name a place too (found by this twin): a file with nothing
/// to serve, and a TOML error whose parser gives no message (a lone carriage return).
#[test]
fn whole_file_errors_name_a_place_and_say_something() {
    let dir = Path::new(".");
    for (text, expect) in [
        (
            "",
            "t.toml:1:1: no [[bmc]], [[metal_discovery]] or [[libvirt_discovery]] table: nothing to serve",
        ),
        (
            "# nothing\n",
            "t.toml:1:1: no [[bmc]], [[metal_discovery]] or [[libvirt_discovery]] table: nothing to serve",
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
