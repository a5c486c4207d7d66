//! Serial over LAN with pyghmi's console client (`pyghmi.ipmi.console.Console`, the console
//! of confluent and of pyghmi-based tooling), driven by tests/pyghmi_console.py: it is strict
//! where ipmitool is not (only authenticated packets, session sequence numbers that never go
//! back, the SOL port it talks to, a keepalive that checks which session owns SOL).

mod common;

use common::tty::admin_console;
use common::*;
use std::process::Command;

#[test]
fn pyghmi_console_boot_text_shell_keepalive_and_close() {
    let python = require_python_module("pyghmi.ipmi.console");
    let bmc = Bmc::start();
    let mut driver = Lines::spawn(
        Command::new("timeout")
            .arg("300")
            .arg(&python)
            .arg(PYGHMI_CONSOLE)
            .args(["127.0.0.1", &bmc.port.to_string(), "session"])
            .env("BMC_PASSWORD", ADMIN_PASSWORD),
    );
    driver.wait_line("established", 60);
    // pyghmi holds SOL: another client is refused.
    assert_sol_taken(&bmc);
    admin(&bmc, "power reset");
    let r = driver.finish(240);
    assert!(
        r.ok,
        "the pyghmi driver failed:\n{}\nstderr:\n{}\nserver log:\n{}",
        r.stdout,
        r.stderr,
        bmc.server_log()
    );
    let text = pyghmi_transcript(&r.stdout);
    for step in [
        "ok: 'Linux version 6.1.0-sim'",
        "ok: 'root@node1:~# '",
        "ok: 'Linux node1 6.1.0-sim #1 SMP'",
        "ok: a SOL keepalive check",
        "closed",
    ] {
        assert!(r.stdout.contains(step), "{step:?} in:\n{}", r.stdout);
    }
    // The answer came from the far side; what was typed came back as the sim echoes it, and
    // the password did not.
    assert!(text.contains("root@node1:~# uname -a"), "{text}");
    assert!(!text.contains("not-echoed"), "{text}");
    // pyghmi deactivated SOL on its way out, in its own session: free for the next client.
    assert!(
        eventually(10, || bmc
            .server_log()
            .contains("deactivated by its session")),
        "{}",
        bmc.server_log()
    );
    let tty = admin_console(&bmc, "after-pyghmi");
    tty.line("hostname");
    tty.wait_for("\nnode1\n", 10);
}
