//! Serial over LAN with the real clients in a real terminal (tmux): ipmitool `sol activate`
//! and FreeIPMI `ipmiconsole` on the sim's console, one instance at a time, deactivation by
//! another session, `sol info` and `sol set`, the SOL privilege, and the console log.

mod common;

use common::tty::{admin_console, Tty};
use common::*;

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
    assert_sol_taken(&bmc);
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

/// `sol info 1` as (field, value) pairs.
fn sol_info(bmc: &Bmc) -> Vec<(String, String)> {
    admin(bmc, "sol info 1")
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn field<'a>(info: &'a [(String, String)], name: &str) -> &'a str {
    &info
        .iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name:?} in {info:?}"))
        .1
}

#[test]
fn sol_info_and_set_round_trip_and_the_sol_privilege() {
    let bmc = Bmc::start_with("[bmc.console]\nbit_rate = 57600\n");
    let info = sol_info(&bmc);
    for (name, want) in [
        ("Set in progress", "set-complete"),
        ("Enabled", "true"),
        ("Force Encryption", "true"),
        ("Force Authentication", "true"),
        ("Privilege Level", "OPERATOR"),
        ("Character Accumulate Level (ms)", "50"),
        ("Character Send Threshold", "200"),
        ("Retry Count", "7"),
        ("Retry Interval (ms)", "100"),
        ("Volatile Bit Rate (kbps)", "57.6"),
        ("Non-Volatile Bit Rate (kbps)", "57.6"),
        ("Payload Channel", "1 (0x01)"),
    ] {
        assert_eq!(field(&info, name), want, "{name}");
    }
    assert_eq!(field(&info, "Payload Port"), bmc.port.to_string());
    for set in [
        "retry-count 3",
        "retry-interval 20",
        "volatile-bit-rate 19.2",
        "non-volatile-bit-rate 115.2",
        "character-accumulate-level 4",
        "character-send-threshold 64",
        "force-encryption false",
        "privilege-level operator",
    ] {
        admin(&bmc, &format!("sol set {set} 1"));
    }

    let info = sol_info(&bmc);
    for (name, want) in [
        ("Retry Count", "3"),
        ("Retry Interval (ms)", "200"),
        ("Volatile Bit Rate (kbps)", "19.2"),
        ("Non-Volatile Bit Rate (kbps)", "115.2"),
        ("Character Accumulate Level (ms)", "20"),
        ("Character Send Threshold", "64"),
        ("Force Encryption", "false"),
        ("Privilege Level", "OPERATOR"),
        ("Set in progress", "set-complete"),
    ] {
        assert_eq!(field(&info, name), want, "{name}");
    }
    // The SOL privilege is the configuration's (`[bmc.console] privilege`): another one is
    // refused as read only, so that nothing set at run time is lost (or kept) at a restart.
    let lower = admin_run(&bmc, "sol set privilege-level user 1 noguard");
    assert!(
        !lower.ok && lower.all().contains("read-only"),
        "{}",
        lower.all()
    );
    assert_eq!(field(&sol_info(&bmc), "Privilege Level"), "OPERATOR");
    // SOL needs operator: the user-level account is refused, and may not change SOL.
    let viewer = |args: &str| {
        ipmitool(
            &bmc,
            "lanplus",
            &["-L", "USER"],
            "viewer",
            VIEWER_PASSWORD,
            args,
        )
    };
    let refused = viewer("sol activate");
    assert!(!refused.ok);
    assert!(
        refused.all().contains("Insufficient privilege level"),
        "{}",
        refused.all()
    );
    assert!(!viewer("sol set enabled false 1").ok);
    assert_eq!(field(&sol_info(&bmc), "Enabled"), "true");
    // Disabled, activation fails with 0x81.
    admin(&bmc, "sol set enabled false 1");
    let disabled = admin_run(&bmc, "sol activate");
    assert!(
        disabled.all().contains("SOL payload disabled"),
        "{}",
        disabled.all()
    );
    admin(&bmc, "sol set enabled true 1");
    let tty = admin_console(&bmc, "enabled");
    tty.line("");
    tty.wait_for("node1 login: ", 10);
}

#[test]
fn ipmiconsole_console_and_its_escape() {
    let port = low_free_port();
    let bmc = Bmc::start_config(port, &standard_config(port, ""));
    let tool = require("ipmiconsole", "freeipmi-tools");
    let conf = bmc.freeipmi_conf("admin", ADMIN_PASSWORD);
    let tty = Tty::start(
        bmc.dir.path(),
        "ipmiconsole",
        &format!(
            "timeout --foreground 600 {} --config-file {} -h 127.0.0.1:{}",
            tool.display(),
            conf.display(),
            bmc.port
        ),
        &[],
    );
    tty.wait_for("[SOL established]", 20);
    admin(&bmc, "power reset");
    tty.wait_for("Linux version 6.1.0-sim", 20);
    tty.wait_for("node1 login: ", 20);
    tty.line("root");
    tty.wait_for("Password: ", 10);
    tty.line("x");
    tty.wait_for("root@node1:~# ", 10);
    tty.line("uptime");
    tty.wait_for("load average:", 10);
    // ipmitool finds SOL taken while ipmiconsole has it.
    let second = admin_run(&bmc, "sol activate");
    assert!(second.all().contains("already active"), "{}", second.all());
    tty.type_text("&.");
    tty.wait_for("[exited 0]", 10);
    let tty = admin_console(&bmc, "after");
    tty.line("");
    tty.wait_for("root@node1:~# ", 10);
}

#[test]
fn console_log_keeps_output_nobody_watched_and_replays_it() {
    let bmc = Bmc::start_with("[bmc.console]\nlog = \"consoles/node1.log\"\nreplay_kib = 2\n");
    let log = bmc.dir.path().join("consoles/node1.log");
    // Nobody attached: the boot still goes to the log.
    admin(&bmc, "power reset");
    assert!(
        eventually(10, || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains("node1 login: "))),
        "{:?}",
        std::fs::read_to_string(&log)
    );
    // A new SOL session is sent the log's end first.
    let tty = admin_console(&bmc, "replay");
    tty.wait_for("Reached target Multi-User System", 10);
    tty.line("root");
    tty.wait_for("Password: ", 10);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Linux version 6.1.0-sim"), "{text}");
    assert!(eventually(10, || std::fs::read_to_string(&log)
        .is_ok_and(|l| l.contains("login: root"))));
}
