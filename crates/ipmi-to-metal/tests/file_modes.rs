//! The files the process writes, with the real binary (issue 19, defect 11 and what the review
//! found beside it): the SEL database, the audit log and the console log are private to the user
//! (0600) whatever the umask (0 here) and the state directory's mode (0755 here), an existing
//! audit log left 0644 is made private, and neither the audit log nor a console log is written
//! through a symbolic link planted at its name.

mod common;

use common::admin::*;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// The most permissive umask, for the server this test process starts.
fn no_umask() {
    // SAFETY: umask only sets the process's file mode creation mask.
    unsafe { libc::umask(0) };
}

#[test]
fn every_file_the_server_writes_is_private_whatever_the_umask() {
    no_umask();
    let dir = tempfile::tempdir().unwrap();
    // A state directory open to all, and an audit log left world-readable by another program.
    let state = dir.path().join("bmc.toml.state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    let audit = dir.path().join("audit.jsonl");
    std::fs::write(&audit, "").unwrap();
    std::fs::set_permissions(&audit, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = Served::start_with_console_log(dir, "consoles/node1.log");
    // A reset: console output, a SEL record, audit records.
    admin(&s.bmc, "chassis power reset");
    let console = s.bmc.dir.path().join("consoles/node1.log");
    assert!(
        eventually(20, || console.exists()),
        "{}",
        s.bmc.server_log()
    );
    assert!(!admin(&s.bmc, "sel list").trim().is_empty());
    assert_eq!(s.audit().len(), 2);
    for (file, want) in [
        (state.join("sel.redb"), 0o600),
        (audit, 0o600),
        (console.clone(), 0o600),
        (s.bmc.dir.path().join("consoles"), 0o700),
    ] {
        assert_eq!(mode(&file), want, "{}", file.display());
    }
}

#[test]
fn no_log_is_written_through_a_symbolic_link() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    std::fs::write(&target, "").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("audit.jsonl")).unwrap();
    // The audit log: the server does not start, and says why.
    let config = dir.path().join("bmc.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[audit]\nlog = \"audit.jsonl\"\n",
            standard_config(free_port(), "")
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("admin.pass"), "x\n").unwrap();
    let out = Command::new("timeout")
        .arg("20")
        .arg(env!("CARGO_BIN_EXE_ipmi-to-metal"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("TEST_VIEWER_PASSWORD", VIEWER_PASSWORD)
        .env_remove("STATE_DIRECTORY")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot open the audit log") && stderr.contains("symbolic links"),
        "{stderr}"
    );
    // A console log: not kept, and said so; the link's target untouched.
    std::fs::remove_file(dir.path().join("audit.jsonl")).unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("node1-console.log")).unwrap();
    let s = Served::start_with_console_log(dir, "node1-console.log");
    let failing = s.console_log_failing_after_reset();
    assert!(
        failing["error"]
            .as_str()
            .unwrap()
            .contains("Too many levels of symbolic links"),
        "{failing}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"");
}
