//! Issue 19, defect 6: the SOL privilege with real ipmitool consoles in tmux. With
//! `[bmc.console] privilege = "user"` a `user` account may watch a console nobody holds, but
//! it cannot take an administrator's over: Deactivate Payload from another session needs at
//! least the privilege of the session that runs SOL. An administrator may end a user's
//! console, and the audit says who ended whose session, with each session's privilege.

mod common;
use common::admin::*;
use common::tty::{admin_console, sol_activate, Tty};
use common::*;

#[test]
fn a_user_account_cannot_take_over_an_administrators_console() {
    let s = Served::start("[bmc.console]\nprivilege = \"user\"\n", "");
    let as_ = |user: &str, password: &str, level: &str, args: &str| {
        ipmitool(&s.bmc, "lanplus", &["-L", level], user, password, args)
    };
    let tty = admin_console(&s.bmc, "admin");
    // The viewer (user) and the operator may neither end nor take the administrator's SOL.
    for (user, password, level) in [
        ("viewer", VIEWER_PASSWORD, "USER"),
        ("operator", OPERATOR_PASSWORD, "OPERATOR"),
    ] {
        let kick = as_(user, password, level, "sol deactivate");
        assert!(
            !kick.ok && kick.all().contains("Insufficient privilege level"),
            "{user}: {}",
            kick.all()
        );
        let take = as_(user, password, level, "sol activate");
        assert!(
            take.all().contains("already active on another session"),
            "{user}: {}",
            take.all()
        );
    }
    // The administrator's console still runs: the sim's login prompt echoes what is typed.
    tty.line("still-here");
    tty.wait_for("Password: ", 10);
    assert!(
        !tty.screen().contains("SOL session closed by BMC"),
        "{}",
        tty.screen()
    );
    tty.type_text("~.");
    tty.wait_for("[exited 0]", 10);

    // The viewer may watch a console nobody holds; the administrator may end it.
    let viewer = Tty::start(
        s.bmc.dir.path(),
        "viewer",
        &sol_activate(&s.bmc, "viewer", "-L USER"),
        &[("IPMI_PASSWORD", VIEWER_PASSWORD)],
    );
    viewer.wait_for("[SOL Session operational", 20);
    admin(&s.bmc, "sol deactivate");
    viewer.wait_for("SOL session closed by BMC", 10);

    let records = s.audit();
    let sol: Vec<_> = records
        .iter()
        .filter(|r| r["command"].as_str().unwrap_or("").contains("Payload"))
        .collect();
    let brief: Vec<(&str, &str, &str)> = sol
        .iter()
        .map(|r| {
            (
                r["command"].as_str().unwrap(),
                r["user"].as_str().unwrap(),
                r["privilege"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        brief,
        [
            ("Activate Payload", "admin", "administrator"),
            ("Deactivate Payload", "admin", "administrator"),
            ("Activate Payload", "viewer", "user"),
            ("Deactivate Payload", "admin", "administrator"),
        ],
        "{records:#?}"
    );
    let ended = sol[3]["call"].as_str().unwrap();
    assert!(
        ended.contains("deactivated by another session")
            && ended.contains("the SOL session of user \"viewer\" from 127.0.0.1:")
            && ended.contains("at user privilege ended"),
        "{ended}"
    );
    assert!(
        sol[1]["call"]
            .as_str()
            .unwrap()
            .contains("deactivated by its session"),
        "{records:#?}"
    );
}
