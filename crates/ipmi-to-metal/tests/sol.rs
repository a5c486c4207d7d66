//! Serial over LAN with the real clients in a real terminal (tmux): ipmitool `sol activate`
//! and FreeIPMI `ipmiconsole` on the sim's console, one instance at a time, deactivation by
//! another session, `sol info` and `sol set`, the SOL privilege, and the console log.

mod common;

use common::tty::Tty;
use common::*;

/// `ipmitool ... sol activate` as a shell command line for a terminal (the password comes from
/// the environment, `-E`); `timeout --foreground` leaves it the terminal's foreground.
fn sol_activate(bmc: &Bmc, user: &str, extra: &str) -> String {
    let tool = require("ipmitool", "ipmitool");
    format!(
        "timeout --foreground 600 {} -I lanplus -H 127.0.0.1 -p {} -U {user} -E {extra} sol activate",
        tool.display(),
        bmc.port
    )
}

/// A terminal running ipmitool's SOL as the administrator, once it is operational.
fn admin_console(bmc: &Bmc, name: &str) -> Tty {
    let tty = Tty::start(
        bmc.dir.path(),
        name,
        &sol_activate(bmc, "admin", ""),
        &[("IPMI_PASSWORD", ADMIN_PASSWORD)],
    );
    tty.wait_for("[SOL Session operational", 20);
    tty
}

#[test]
fn ipmitool_console_boot_shell_takeover_and_escape() {
    let bmc = Bmc::start();
    let tty = admin_console(&bmc, "first");
    // The sim's boot text appears after a reset, then its login prompt.
    admin(&bmc, "power reset");
    tty.wait_for("Linux version 6.1.0-sim", 20);
    tty.wait_for("node1 login: ", 20);
    tty.line("root");
    tty.wait_for("Password: ", 10);
    tty.line("not-echoed");
    tty.wait_for("root@node1:~# ", 10);
    // The answer comes from the far side: a text that was never typed.
    tty.line("uname -a");
    let s = tty.wait_for("Linux node1 6.1.0-sim #1 SMP", 10);
    assert!(
        !s.contains("not-echoed"),
        "the password is not echoed:\n{s}"
    );
    assert!(
        s.contains("root@node1:~# uname -a"),
        "typed text echoed by the sim:\n{s}"
    );

    // A second activation is refused while the first runs.
    let second = admin_run(&bmc, "sol activate");
    assert!(
        second
            .all()
            .contains("SOL payload already active on another session"),
        "{}",
        second.all()
    );
    // Deactivate Payload from another session ends the first, which says so.
    admin(&bmc, "sol deactivate");
    tty.wait_for("SOL session closed by BMC", 10);
    tty.wait_for("[exited 1]", 10);

    // A new activation works, and `~.` ends it cleanly.
    let again = admin_console(&bmc, "again");
    again.line("echo back-again-$((1))");
    again.wait_for("\nback-again-$((1))", 10);
    again.line("");
    again.type_text("~.");
    again.wait_for("[terminated ipmitool]", 10);
    again.wait_for("[exited 0]", 10);
    // It deactivated on its way out: SOL is free again.
    let third = admin_console(&bmc, "third");
    third.line("hostname");
    third.wait_for("\nnode1\n", 10);
}
