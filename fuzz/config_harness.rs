//! The configuration loader (`config::parse_all` of the ipmi-to-metal binary) fed arbitrary text
//! and mutated copies of the guide's example configurations. Properties: it does not panic, and
//! every error it returns names the file, a line and a column inside the text
//! (`fuzz.toml:LINE:COL: message`), as its documentation promises.
//!
//! The binary has no library target, so this file is included by path where a crate root
//! declares `mod config` (the loader) and `mod kinds` (the backend kinds it consults): the
//! cargo-fuzz target `fuzz/fuzz_targets/config_loader.rs` includes the loader's files by path,
//! and the binary's own tests include this file as its proptest twin
//! (`crates/ipmi-to-metal/src/config/fuzz_twin.rs`). It uses nothing but std and toml.
//!
//! Input: the first byte's low bit picks the form. 0: the rest is the text (lossy UTF-8). 1: the
//! rest of that byte picks one of [`examples`], and the rest of the input is a list of line
//! edits, three bytes each ([`mutate`]).
//!
//! The loader reads the files a configuration names (secrets, SSH keys and known_hosts): they are
//! made in a scratch directory ([`prepare`]). It also resolves the `host` of an ipmi backend, which
//! for a name is a DNS query; texts with a `host` that is not an IP address are skipped
//! ([`names_a_host`]), so that fuzzing sends nothing to the network.

use crate::config::{parse_all, ConfigError};
use std::net::IpAddr;
use std::path::Path;
use std::sync::OnceLock;

/// The file name errors must name.
pub const FILE: &str = "fuzz.toml";

/// The secret every rewritten `*_env` names instead (`*_file = "secret"`): a password short
/// enough for every use (IPMI 1.5 takes 16 bytes, K_G 20).
const SECRET: &str = "fuzz-secret-pw";

/// Writes the files the examples name into `dir`, the scratch directory the configurations'
/// relative paths resolve against: `secret`, the SSH keys and known_hosts.
pub fn prepare(dir: &Path) {
    std::fs::create_dir_all(dir).expect("scratch directory");
    for (name, text) in [
        ("secret", SECRET),
        ("node-a.key", "not a key, but readable"),
        ("node-b.key", "not a key, but readable"),
        ("known_hosts", "10.0.0.5 ssh-ed25519 AAAA\n"),
    ] {
        std::fs::write(dir.join(name), text).expect("scratch file");
    }
}

/// Runs one input, with the scratch files in `dir` (see [`prepare`]).
pub fn run(dir: &Path, data: &[u8]) {
    if let Some(text) = text_of(data) {
        check(dir, &text);
    }
}

/// The configuration text an input stands for (see the input format above); `None` for an
/// empty input.
pub fn text_of(data: &[u8]) -> Option<String> {
    let (&form, rest) = data.split_first()?;
    Some(if form & 1 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let examples = examples();
        let base = &examples[usize::from(form >> 1) % examples.len()];
        mutate(base, rest)
    })
}

/// Loads `text` (relative paths in it name files in `dir`) and checks the outcome.
pub fn check(dir: &Path, text: &str) {
    if names_a_host(text) {
        return;
    }
    match parse_all(FILE, text, dir) {
        Ok(config) => {
            let _ = config.warnings();
        }
        Err(e) => check_error(text, &e),
    }
}

/// Whether the text sets a `host` (anywhere) that is not an IP address: the ipmi backend would
/// resolve it. Text that is not TOML is not loaded far enough to resolve anything.
pub fn names_a_host(text: &str) -> bool {
    fn walk(v: &toml::Value) -> bool {
        match v {
            toml::Value::Table(t) => t.iter().any(|(k, v)| {
                (k == "host" && v.as_str().is_some_and(|h| h.parse::<IpAddr>().is_err())) || walk(v)
            }),
            toml::Value::Array(a) => a.iter().any(walk),
            _ => false,
        }
    }
    toml::from_str::<toml::Value>(text).is_ok_and(|v| walk(&v))
}

/// An error must read `fuzz.toml:LINE:COL: message`, with the place inside the text (the
/// column counts bytes from 1; one past the end of a line is the line's end).
pub fn check_error(text: &str, e: &ConfigError) {
    let msg = &e.0;
    let place = msg
        .strip_prefix(FILE)
        .and_then(|m| m.strip_prefix(':'))
        .unwrap_or_else(|| panic!("error does not start with {FILE}: {msg:?}"));
    let mut parts = place.splitn(3, ':');
    let mut number = |what: &str| -> usize {
        parts
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("error names no {what}: {msg:?}, for {text:?}"))
    };
    let (line, col) = (number("line"), number("column"));
    let rest = parts.next().unwrap_or_default();
    assert!(
        rest.starts_with(' ') && rest.trim().len() > 1,
        "error says nothing after its place: {msg:?}, for {text:?}"
    );
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(
        (1..=lines.len()).contains(&line),
        "error at line {line} of {}: {msg:?}",
        lines.len()
    );
    assert!(
        (1..=lines[line - 1].len() + 1).contains(&col),
        "error at column {col} of a line of {} bytes: {msg:?}",
        lines[line - 1].len()
    );
}

/// The guide's pages that hold example configurations.
const GUIDE: &[&str] = &[
    include_str!("../README.md"),
    include_str!("../docs/getting-started.md"),
    include_str!("../docs/backend-sim.md"),
    include_str!("../docs/console.md"),
    include_str!("../docs/backend-metal.md"),
    include_str!("../docs/backend-redfish.md"),
    include_str!("../docs/backend-ssh-command.md"),
    include_str!("../docs/routing.md"),
    include_str!("../docs/backend-ipmi.md"),
    include_str!("../docs/backend-http.md"),
    include_str!("../docs/operations.md"),
    include_str!("../docs/deployment.md"),
];

/// The guide's example configurations (the `toml` code blocks of the README and its pages under
/// `docs/`), made loadable here: secrets from `*_env` read from the scratch directory instead,
/// absolute paths made relative to it, and the fragments that show one backend's table completed
/// into a `[[bmc]]` with a user.
pub fn examples() -> &'static [String] {
    static EXAMPLES: OnceLock<Vec<String>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let mut out = Vec::new();
        let mut block: Option<String> = None;
        for line in GUIDE.iter().flat_map(|page| page.lines()) {
            match (&mut block, line.trim_start()) {
                (None, "```toml") => block = Some(String::new()),
                (Some(b), "```") => {
                    // A fragment that only adds to another example's backend table (it starts
                    // with a sub-table such as `[bmc.http.boot]`) cannot load on its own.
                    if !continues_a_table(b) {
                        out.push(loadable(b));
                    }
                    block = None;
                }
                (Some(b), _) => {
                    b.push_str(line);
                    b.push('\n');
                }
                (None, _) => {}
            }
        }
        assert!(out.len() >= 6, "the guide's example configurations");
        out
    })
}

fn loadable(block: &str) -> String {
    let mut text: String = block
        .lines()
        .map(env_to_file)
        .map(|l| l.replace("\"/etc/ipmi-to-metal/", "\""))
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    if text.contains("[[bmc]]") || text.contains("[[metal_discovery]]") {
        return text;
    }
    // A backend's table alone: `[bmc.KIND]`.
    let kind = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("[bmc.")?.strip_suffix(']'))
        .unwrap_or("sim")
        .to_string();
    format!(
        "[[bmc]]\nname = \"fragment\"\nlisten = \"127.0.0.1:6300\"\nbackend = \"{kind}\"\n\n{text}\n\
         [[bmc.users]]\nname = \"admin\"\npassword_file = \"secret\"\nprivilege = \"operator\"\n"
    )
}

/// Whether the first table header of `block` is a sub-table of a backend's table
/// (`[bmc.KIND.NAME]`), i.e. the block adds to a table shown elsewhere.
fn continues_a_table(block: &str) -> bool {
    block
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .and_then(|l| l.strip_prefix("[bmc."))
        .and_then(|l| l.split(']').next())
        .is_some_and(|name| name.split('.').count() > 1)
}

/// `password_env = "X"` becomes `password_file = "secret"` (any `*_env` key).
fn env_to_file(line: &str) -> String {
    match line.split_once("_env = ") {
        Some((key, _)) if !key.trim_start().starts_with('#') => format!("{key}_file = \"secret\""),
        _ => line.to_string(),
    }
}

/// Lines to insert: every table header, and keys with values of every kind the loader checks.
const LINES: &[&str] = &[
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
    "name = \"node9\"",
    "listen = \"127.0.0.1:6239\"",
    "backend = \"ipmi\"",
    "backend = \"ssh\"",
    "backend = \"command\"",
    "backend = \"metal\"",
    "host = \"10.0.0.9\"",
    "user = \"root\"",
    "password_file = \"secret\"",
    "password_env = \"IPMI_TO_METAL_FUZZ_UNSET\"",
    "password = \"twenty-one-bytes-long\"",
    "kg_file = \"secret\"",
    "token_file = \"secret\"",
    "key_file = \"node-b.key\"",
    "known_hosts = \"known_hosts\"",
    "device_id = \"6e2b7f4c-3c1a-4a5e-9d7e-000000000009\"",
    "project_id = \"0f0c3a4e-1111-4a5e-9d7e-000000000000\"",
    "tag = \"ipmi\"",
    "run = [\"/bin/true\"]",
    "status = [\"true\"]",
    "shell = true",
    "relay = [{ netfn = 0x06, cmds = [0x34], privilege = \"user\" }]",
    "relay = [{ netfn = 0x30, privilege = \"user\", force = true }]",
    "soft = [\"ssh\", \"metal\"]",
    "sensors = \"ssh\"",
    "soft_deadline_s = 90",
    "cipher_suites = [0, 1, 2, 3, 15, 16, 17]",
    "auth_types = [\"none\", \"straight\", \"md2\", \"md5\"]",
    "ipmi15 = false",
    "max_sessions = 255",
    "login_lockout = 86400",
    "timeout_ms = 9999",
    "deadline_ms = 10000",
    "state_dir = \"state\"",
    "sel_capacity = 65535",
    "privilege = \"callback\"",
    "enabled = false",
    "guid = \"01234567-89ab-4def-8123-456789abcdef\"",
    "mac = \"02:00:00:00:00:05\"",
    "allow_http = true",
    "api_url = \"http://127.0.0.1:1/metal/v1\"",
    "[admin]",
    "open = [\"healthz\", \"metrics\"]",
    "[audit]",
    "log = \"stdout\"",
];

/// Values to put after a line's `=`.
const VALUES: &[&str] = &[
    "\"\"",
    "0",
    "-1",
    "1",
    "255",
    "256",
    "65535",
    "65536",
    "86401",
    "4294967296",
    "18446744073709551615",
    "1e308",
    "nan",
    "true",
    "[]",
    "{}",
    "[0, 255, 256]",
    "\"none\"",
    "\"oem\"",
    "\"administrator\"",
    "\"secret\"",
    "\"/\"",
    "\"é\u{0}\"",
    "\"0123456789abcdefg\"",
    "\"127.0.0.1:0\"",
    "\"[::1]:623\"",
    "\"127.0.0.1:7000-6999\"",
    "\"127.0.0.1:1-65535\"",
    "[\"127.0.0.1:623\", \"127.0.0.1:623\"]",
    "\"ff:ff:ff:ff:ff:ff\"",
    "\"http://127.0.0.1:1/\"",
    "[\"metal\", \"ssh\", \"sim\"]",
    "\"lan\"",
    "\"unknown\"",
    "2024-01-01T00:00:00Z",
];

/// Applies line edits to `base`, three bytes `[op, a, b]` each: delete line `a`; duplicate line
/// `a` after line `b`; uncomment line `a` (a guide example's optional setting); give line `a`
/// value `b` of [`VALUES`]; insert line `b` of [`LINES`] before line `a`; swap lines `a` and
/// `b`; cut line `a` after `b` bytes; or append `[[bmc]]` copies of the whole example under
/// another name and address (`b` even) or the same (cross-BMC checks).
pub fn mutate(base: &str, edits: &[u8]) -> String {
    let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
    for e in edits.chunks_exact(3) {
        let (op, a, b) = (e[0] % 8, usize::from(e[1]), usize::from(e[2]));
        let n = lines.len().max(1);
        let (a, at_b) = (a % n, b % n);
        match op {
            0 if !lines.is_empty() => {
                lines.remove(a);
            }
            1 if !lines.is_empty() => {
                let l = lines[a].clone();
                lines.insert(at_b.min(lines.len()), l);
            }
            2 if !lines.is_empty() => {
                let l = &lines[a];
                if let Some(rest) = l.trim_start().strip_prefix('#') {
                    lines[a] = rest.trim_start().to_string();
                }
            }
            3 if !lines.is_empty() => {
                if let Some((key, _)) = lines[a].split_once('=') {
                    lines[a] = format!("{key}= {}", VALUES[b % VALUES.len()]);
                }
            }
            4 => lines.insert(a.min(lines.len()), LINES[b % LINES.len()].to_string()),
            5 if !lines.is_empty() => lines.swap(a, at_b),
            6 if !lines.is_empty() => {
                let l = &mut lines[a];
                let mut cut = b.min(l.len());
                while !l.is_char_boundary(cut) {
                    cut -= 1;
                }
                l.truncate(cut);
            }
            7 => {
                let copy = if b % 2 == 0 {
                    base.replace("name = \"", &format!("name = \"{b}"))
                        .replace("127.0.0.1:6", &format!("127.0.0.{}:6", b % 200 + 2))
                } else {
                    base.to_string()
                };
                lines.extend(copy.lines().map(str::to_string));
            }
            _ => {}
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}
