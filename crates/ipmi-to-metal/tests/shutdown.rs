//! Graceful shutdown: SIGTERM during a slow backend call (a command backend whose program sleeps
//! 2 s) stops new sessions at once, answers that call, lets its client close its session, and
//! exits 0 as soon as that is done; a
//! second SIGTERM during a longer call exits at once (its program killed with it); SIGINT on an
//! idle server exits 0.

mod common;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// A BMC whose `power on` runs `script` (a shell script); power status is always on.
fn command_bmc(script: &str) -> Bmc {
    let port = free_port();
    let section = format!(
        "[bmc.command]\nshell = true\ntimeout_ms = 9000\nstatus = [\"echo on\"]\non = [{}]\n",
        toml_string(script)
    );
    Bmc::start_config(port, &config_with_backend(port, "command", &section))
}

fn toml_string(s: &str) -> String {
    format!("{:?}", s)
}

/// `chassis power on` in a thread of its own, with one patient try (4 s).
fn power_on_in_background(port: u16) -> std::thread::JoinHandle<Run> {
    std::thread::spawn(move || {
        ipmitool_at(
            port,
            "lanplus",
            &["-N", "4", "-R", "1"],
            "admin",
            ADMIN_PASSWORD,
            "chassis power on",
        )
    })
}

/// Whether a process is still running (not gone, not a zombie left to be reaped).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn marker(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}

#[test]
fn sigterm_answers_the_call_in_flight_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let mut bmc = command_bmc(&format!("touch {d}/started; sleep 2; touch {d}/done"));
    let port = bmc.port;
    let call = power_on_in_background(port);
    assert!(
        eventually(10, || marker(dir.path(), "started")),
        "{}",
        bmc.server_log()
    );
    let signalled = Instant::now();
    bmc.signal("TERM");
    // Draining: still running, but no longer taking new sessions.
    assert!(
        bmc.wait_exit(0.3).is_none(),
        "exited before its call was answered"
    );
    assert!(!answers_ping(port), "still answering pings after SIGTERM");
    // A login attempt during the shutdown: unanswered while the call is in flight, refused
    // after. ipmitool keeps trying for a long time, so it runs aside, cut off after 4 s.
    let late = std::thread::spawn(move || {
        let mut cmd = std::process::Command::new("timeout");
        cmd.arg("4")
            .arg(require("ipmitool", "ipmitool"))
            .args(["-I", "lanplus", "-H", "127.0.0.1", "-p", &port.to_string()])
            .args([
                "-U", "admin", "-E", "-N", "1", "-R", "0", "chassis", "power", "status",
            ])
            .env("IPMI_PASSWORD", ADMIN_PASSWORD);
        run(&mut cmd)
    });
    let answer = call.join().unwrap();
    assert!(marker(dir.path(), "done"), "the program did not finish");
    assert!(answer.ok, "the call in flight failed: {}", answer.all());
    assert!(
        answer.stdout.contains("Chassis Power Control: Up/On"),
        "{}",
        answer.all()
    );
    // Its client could still close its session: no waiting for an answer that never comes.
    assert!(
        !answer.stderr.contains("Close Session command failed"),
        "{}",
        answer.all()
    );
    let status = bmc
        .wait_exit(15.0)
        .expect("still running 15 s after SIGTERM");
    assert_eq!(status.code(), Some(0), "{status:?}\n{}", bmc.server_log());
    // It ended when the call was answered, not at the drain's deadline (11 s).
    assert!(
        signalled.elapsed() < Duration::from_secs(6),
        "{:?}",
        signalled.elapsed()
    );
    let late = late.join().unwrap();
    assert!(
        !late.ok,
        "a new session during the shutdown: {}",
        late.all()
    );
    let log = bmc.server_log();
    assert!(log.contains("SIGTERM: shutting down"), "{log}");
    let summary = log.lines().find(|l| l.contains("shut down")).unwrap_or("");
    assert!(
        summary.contains("in_flight=1")
            && summary.contains("unanswered=0")
            && summary.contains("sessions_left_open=0"),
        "{log}"
    );
}

#[test]
fn a_second_sigterm_exits_at_once_and_kills_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let mut bmc = command_bmc(&format!(
        "echo $$ > {d}/pid; touch {d}/started; sleep 8; touch {d}/done"
    ));
    let call = power_on_in_background(bmc.port);
    assert!(
        eventually(10, || marker(dir.path(), "started")),
        "{}",
        bmc.server_log()
    );
    let pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
    let pid = pid.trim();
    bmc.signal("TERM");
    assert!(
        bmc.wait_exit(0.5).is_none(),
        "the first SIGTERM did not wait for the call"
    );
    let second = Instant::now();
    bmc.signal("TERM");
    let status = bmc
        .wait_exit(2.0)
        .expect("still running after a second SIGTERM");
    assert!(
        second.elapsed() < Duration::from_secs(1),
        "{:?}",
        second.elapsed()
    );
    assert_eq!(status.code(), Some(143), "{status:?}");
    assert!(
        eventually(2, || !running(pid)),
        "the backend's program {pid} outlived the server"
    );
    assert!(!marker(dir.path(), "done"));
    let log = bmc.server_log();
    assert!(log.contains("SIGTERM again: exiting at once"), "{log}");
    // The client gets no answer (the server is gone); it fails rather than hang.
    assert!(!call.join().unwrap().ok);
}

#[test]
fn sigint_on_an_idle_server_exits_0() {
    let mut bmc = Bmc::start();
    assert_eq!(
        admin(&bmc, "chassis power status").trim(),
        "Chassis Power is on"
    );
    bmc.signal("INT");
    let status = bmc.wait_exit(3.0).expect("still running 3 s after SIGINT");
    assert_eq!(status.code(), Some(0), "{}", bmc.server_log());
    let log = bmc.server_log();
    assert!(log.contains("SIGINT: shutting down"), "{log}");
    assert!(log.contains("in_flight=0"), "{log}");
}
