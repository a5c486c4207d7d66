//! The command line as users meet it: `--help` of the program and of every subcommand explains
//! every flag; the bash completion script parses and completes; the manual pages render
//! without a warning from man-db/groff and hold every subcommand and flag.

mod common;
use common::*;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
}

/// Every subcommand and the flags (or arguments) its help must show.
const SUBCOMMANDS: &[(&str, &[&str])] = &[
    ("serve", &["--config", "--listen"]),
    ("check-config", &["<FILE>"]),
    ("list", &["--config"]),
    (
        "bench",
        &[
            "--target",
            "--each",
            "--sessions",
            "--duration",
            "--count",
            "--rate",
            "--mode",
            "--request",
            "--user",
            "--password-env",
            "--password-file",
            "--privilege",
            "--interface",
            "--cipher-suites",
            "--timeout-ms",
            "--retries",
            "--quiet",
        ],
    ),
    (
        "fake-metal",
        &[
            "--listen",
            "--devices",
            "--token-env",
            "--transition-ms",
            "--exchange-log",
            "--rate-limit",
        ],
    ),
    ("completions", &["<SHELL>", "bash", "zsh", "fish"]),
    ("man", &["--out-dir"]),
];

#[test]
fn help_explains_every_subcommand_and_flag() {
    let top = run(bin().arg("--help")).out();
    for (sub, _) in SUBCOMMANDS {
        assert!(top.contains(&format!("  {sub} ")), "{sub} missing:\n{top}");
    }
    for var in [
        "IPMI_TO_METAL_LOG",
        "STATE_DIRECTORY",
        "IPMI_TO_METAL_SHARDS",
        "SIGTERM",
    ] {
        assert!(top.contains(var), "{var} missing:\n{top}");
    }
    for (sub, flags) in SUBCOMMANDS {
        let help = run(bin().args([sub, "--help"])).out();
        for flag in *flags {
            let lines: Vec<&str> = help.lines().collect();
            let at = lines
                .iter()
                .position(|l| l.contains(flag) && !l.starts_with("Usage:"))
                .unwrap_or_else(|| panic!("{sub} --help lacks {flag}:\n{help}"));
            if !flag.starts_with('-') && !flag.starts_with('<') {
                continue; // a possible value, listed
            }
            // Explained: words after the flag and its value on its line (short help), or on
            // the next line (long help).
            let rest = lines[at]
                .split_once(flag)
                .map_or("", |(_, r)| r)
                .trim_start()
                .trim_start_matches(|c: char| c != ' ' && c != '\t' && !c.is_alphabetic());
            let rest = rest
                .strip_prefix('<')
                .map_or(rest, |r| r.split_once('>').map_or("", |x| x.1));
            let explanation = if rest.split_whitespace().count() >= 3 {
                rest
            } else {
                lines.get(at + 1).copied().unwrap_or("")
            };
            assert!(
                explanation.split_whitespace().count() >= 3,
                "{sub} {flag} is not explained:\n{help}"
            );
        }
    }
    assert!(run(bin().arg("--version"))
        .out()
        .starts_with("ipmi-to-metal 0."));
}

#[test]
fn bash_completion_parses_and_completes_subcommands_and_flags() {
    let script = run(bin().args(["completions", "bash"])).out();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ipmi-to-metal.bash");
    std::fs::write(&path, &script).unwrap();
    let syntax = run(Command::new("bash").arg("-n").arg(&path));
    assert!(syntax.ok, "bash -n: {}", syntax.stderr);
    // Source it and ask it, as bash does on TAB; the last word is the one being completed.
    let complete = |words: &[&str]| {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let probe = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; \
             COMP_POINT=${{#COMP_LINE}}; _ipmi__to__metal ipmi-to-metal \"${{COMP_WORDS[$COMP_CWORD]}}\" \
             \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            path.display(),
            quoted.join(" "),
            words.len() - 1
        );
        run(Command::new("bash").args(["-c", &probe])).out()
    };
    let subs = complete(&["ipmi-to-metal", ""]);
    for (sub, _) in SUBCOMMANDS {
        assert!(
            subs.lines().any(|l| l == *sub),
            "{sub} not offered:\n{subs}"
        );
    }
    let serve = complete(&["ipmi-to-metal", "serve", "--"]);
    assert!(serve.lines().any(|l| l == "--config"), "{serve}");
    assert!(serve.lines().any(|l| l == "--listen"), "{serve}");
    let fake = complete(&["ipmi-to-metal", "fake-metal", "--"]);
    assert!(fake.lines().any(|l| l == "--devices"), "{fake}");
    let shells = complete(&["ipmi-to-metal", "completions", ""]);
    assert!(shells.lines().any(|l| l == "bash"), "{shells}");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let s = run(bin().args(["completions", shell])).out();
        assert!(
            s.contains("check-config") && s.contains("fake-metal"),
            "{shell}"
        );
    }
}

#[test]
fn man_pages_render_cleanly_with_every_subcommand_and_flag() {
    let man = require("man", "man-db");
    let dir = tempfile::tempdir().unwrap();
    run(bin().arg("man").arg("--out-dir").arg(dir.path())).out();
    let page = |name: &str| {
        let path = dir.path().join(format!("{name}.1"));
        assert!(path.exists(), "{} missing", path.display());
        let r = run(Command::new(&man)
            .args(["--warnings", "-l"])
            .arg(&path)
            .env("MANWIDTH", "100")
            .env("MAN_KEEP_FORMATTING", "0")
            .env("LC_ALL", "C.UTF-8"));
        assert!(r.ok, "man -l {name}: {}", r.stderr);
        assert!(
            r.stderr.trim().is_empty(),
            "{name}: warnings:\n{}",
            r.stderr
        );
        // Without overstrikes (bold and underline) and hyphenation.
        let text = r.stdout.replace("\u{2010}\n", "").replace("-\n", "");
        let plain: String = {
            let mut out = String::new();
            let mut chars = text.chars().peekable();
            while let Some(c) = chars.next() {
                if chars.peek() == Some(&'\u{8}') {
                    chars.next();
                    continue;
                }
                out.push(c);
            }
            out
        };
        plain
    };
    let top = page("ipmi-to-metal");
    for section in ["SYNOPSIS", "SUBCOMMANDS", "ENVIRONMENT", "SIGNALS", "FILES"] {
        assert!(top.contains(section), "{section}:\n{top}");
    }
    for (sub, flags) in SUBCOMMANDS {
        assert!(
            top.contains(&format!("ipmi-to-metal-{sub}(1)")),
            "{sub}:\n{top}"
        );
        let text = page(&format!("ipmi-to-metal-{sub}"));
        for flag in flags.iter().filter(|f| f.starts_with("--")) {
            assert!(text.contains(flag), "{sub}: {flag}:\n{text}");
        }
    }
    // The page printed to standard output is the top-level one.
    let printed = run(bin().arg("man")).out();
    assert_eq!(
        printed,
        std::fs::read_to_string(dir.path().join("ipmi-to-metal.1")).unwrap()
    );
}
