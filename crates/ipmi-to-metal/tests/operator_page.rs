//! The operator's page in a real browser: Debian's chromium driven by Playwright (PyPI
//! `playwright`, pointed at `/usr/bin/chromium`: no browser download), over three sim BMCs that
//! no IPMI client has asked anything. `tests/operator_page.py` does the browsing; this starts
//! the server, runs it, and checks from outside what the page did: the power cycle reached the
//! machine, and the audit log has it with the page's user. The screenshots go to
//! `target/screenshots/` (kept by CI as artifacts).

mod common;

use common::admin::*;
use common::*;
use std::process::Command;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/operator_page.py");

/// `target/screenshots/` of the workspace.
fn screenshots() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

/// The standard BMC's `[[bmc]]` table under another name, on a free port.
fn another(name: &str) -> String {
    let table = standard_config(free_port(), "");
    let table = table.split("[[bmc]]").nth(1).unwrap();
    format!(
        "[[bmc]]{}",
        table.replace("name = \"node1\"", &format!("name = \"{name}\""))
    )
}

#[test]
fn the_operator_page_in_chromium_with_playwright() {
    let python = require("python3", "python3");
    let probe = run(Command::new(&python).args(["-c", "import playwright"]));
    assert!(
        probe.ok,
        "python3 cannot import playwright: `python3 -m pip install playwright` (.ci/run does); this test does not skip itself\n{}",
        probe.stderr
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing (apt-get install chromium); this test does not skip itself"
    );
    let more = format!("{}\n{}", another("node2"), another("node3"));
    let s = Served::start_admin(
        "",
        &more,
        "viewer_token_file = \"viewer.token\"\nconsole_input = true\n[admin.refresh_ms]\nsim = 1000\n",
    );
    let shots = screenshots();
    let out = run(Command::new("timeout")
        .arg("300")
        .arg(&python)
        .arg(SCRIPT)
        .env("PAGE_URL", format!("http://127.0.0.1:{}/", s.admin_port))
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .env("VIEWER_TOKEN", VIEWER_TOKEN)
        .env("BMCS", "node1,node2,node3")
        .env("SCREENSHOTS", &shots));
    assert!(
        out.ok,
        "the page failed:\n{}\n{}\nserver log:\n{}",
        out.stdout,
        out.stderr,
        s.bmc.server_log()
    );
    assert!(out.stdout.contains("all checks passed"), "{}", out.stdout);
    for shot in [
        "fleet-1280x800.png",
        "details-1280x800.png",
        "fleet-390x844.png",
        "details-390x844.png",
    ] {
        let len = std::fs::metadata(shots.join(shot)).map_or(0, |m| m.len());
        assert!(len > 5000, "{shot}: {len} bytes");
    }

    // Seen from outside: the machine was cycled and reset by the page's user, audited.
    let actions: Vec<(String, String)> = s
        .audit()
        .iter()
        .filter(|r| r["bmc"] == "node1" && r["user"] == "admin-api")
        .map(|r| {
            (
                r["call"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for call in ["power cycle", "power reset", "keyboard taken"] {
        assert!(
            actions.iter().any(|(c, o)| c == call && o == "done"),
            "{call}: {actions:?}"
        );
    }
    let sel = admin(&s.bmc, "sel elist");
    assert!(sel.contains("Power cycle"), "{sel}");
    assert!(sel.contains("Initiated by hard reset"), "{sel}");
    let log = s.bmc.server_log();
    assert!(!log.contains("panicked"), "{log}");
}
