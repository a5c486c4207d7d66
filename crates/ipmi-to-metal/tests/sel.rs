//! The System Event Log end to end: ipmitool (`-I lanplus` and `-I lan`) and FreeIPMI's
//! `ipmi-sel` against the real binary on the sim, each record's sensor named from the SDR
//! repository's event-only records; records that survive `kill -9`; a full SEL.

mod common;
use common::*;
use std::process::Command;

/// The lines of `sel elist` (or `sel list`) over `iface`, as the administrator.
fn sel_lines(bmc: &Bmc, iface: &str, what: &str) -> Vec<String> {
    ipmitool(
        bmc,
        iface,
        &[],
        "admin",
        ADMIN_PASSWORD,
        &format!("sel {what}"),
    )
    .out()
    .lines()
    .map(str::to_string)
    .collect()
}

/// Whether `wanted` appear in `lines` in this order (other lines may come between).
fn in_order(lines: &[String], wanted: &[&str]) -> bool {
    let mut rest = lines.iter();
    wanted.iter().all(|w| rest.any(|l| l.contains(w)))
}

fn power_status(bmc: &Bmc) -> String {
    admin(bmc, "chassis power status").trim().to_string()
}

/// `ipmitool -Z sel time ARGS`: times in UTC; a time to set is one argument.
fn sel_time(bmc: &Bmc, args: &[&str]) -> Run {
    let tool = require("ipmitool", "ipmitool");
    let port = bmc.port.to_string();
    let mut cmd = Command::new("timeout");
    cmd.arg("60").arg(tool);
    cmd.args(["-I", "lanplus", "-H", "127.0.0.1", "-p", &port]);
    cmd.args([
        "-U", "admin", "-E", "-N", "1", "-R", "2", "-Z", "sel", "time",
    ]);
    cmd.args(args).env("IPMI_PASSWORD", ADMIN_PASSWORD);
    cmd.env("LC_ALL", "C");
    run(&mut cmd)
}

/// The power and boot actions, in order, as `ipmitool sel elist` describes their records: the
/// sensor type, then the name the SDR repository's event-only record gives the sensor.
const ACTIONS: &[&str] = &[
    "Power Unit Power Control | Power off/down | Asserted",
    "System Boot Initiated Boot Request | User requested PXE boot | Asserted",
    "System Boot Initiated Boot Request | Initiated by power up | Asserted",
    "Slot / Connector Chassis Identify | Identify Status | Asserted",
    "Button Power Button | Power Button pressed | Asserted",
    "System ACPI Power State Host Power | S5/G2: soft-off | Asserted",
];

/// Off, PXE, on, identify, soft off; the last is seen taking effect.
fn take_the_actions(bmc: &Bmc) {
    assert!(admin(bmc, "chassis power off").contains("Down/Off"));
    assert!(admin(bmc, "chassis bootdev pxe").contains("pxe"));
    assert!(admin(bmc, "chassis power on").contains("Up/On"));
    assert!(eventually(10, || power_status(bmc) == "Chassis Power is on"));
    assert!(admin(bmc, "chassis identify 5").contains("5 seconds"));
    assert!(admin(bmc, "chassis power soft").contains("Soft"));
    assert!(eventually(10, || power_status(bmc) == "Chassis Power is off"));
}

#[test]
fn sel_lists_the_power_actions_in_order_over_lanplus_and_lan() {
    let bmc = Bmc::start();
    let info = admin(&bmc, "sel info");
    assert!(info.contains("Entries          : 0"), "{info}");
    assert!(
        info.contains("'Delete' 'Reserve' 'Get Alloc Info'"),
        "{info}"
    );
    assert!(info.contains("# of Alloc Units : 1024"), "{info}");
    take_the_actions(&bmc);
    for iface in ["lanplus", "lan"] {
        let elist = sel_lines(&bmc, iface, "elist");
        assert!(in_order(&elist, ACTIONS), "{iface}:\n{}", elist.join("\n"));
        let list = sel_lines(&bmc, iface, "list");
        assert_eq!(list.len(), elist.len(), "{iface}");
        assert!(list[0].starts_with("   1 | "), "{}", list[0]);
        let info = ipmitool(&bmc, iface, &[], "admin", ADMIN_PASSWORD, "sel info").out();
        assert!(
            info.contains(&format!("Entries          : {}", list.len())),
            "{iface}: {info}"
        );
        assert!(info.contains("Overflow         : false"), "{info}");
    }
    // The records carry the user's ID; the log line names the user and address.
    let log = bmc.server_log();
    assert!(
        log.lines().any(|l| l.contains("SEL entry added")
            && l.contains("record=1")
            && l.contains("Power off/down")
            && l.contains("user=\"admin\" from 127.0.0.1")),
        "{log}"
    );
    let raw = admin(&bmc, "raw 0x0a 0x43 0 0 1 0 0 0xff");
    assert!(
        raw.split_whitespace().collect::<Vec<_>>()[2..]
            .ends_with(&["20", "00", "04", "09", "e0", "6f", "20", "ff", "02"]),
        "generator BMC, EvM rev 4, Power Unit, off, user 2: {raw}"
    );
}

#[test]
fn sel_add_delete_clear_and_time_with_ipmitool() {
    let bmc = Bmc::start();
    let events = bmc.dir.path().join("events.txt");
    std::fs::write(
        &events,
        "0x04 0x09 0x01 0x6f 0x01 0xff 0xff # power cycle\n0x04 0x1d 0x02 0x6f 0x01 0xff 0xff\n",
    )
    .unwrap();
    admin(&bmc, &format!("sel add {}", events.display()));
    let list = sel_lines(&bmc, "lanplus", "list");
    assert_eq!(list.len(), 2, "{list:?}");
    // Sensor 01h is no sensor of the repository: named by its number.
    assert!(
        list[0].contains("Power Unit #0x01 | Power cycle"),
        "{list:?}"
    );
    assert!(list[1].contains("Initiated by hard reset"), "{list:?}");
    // Deleting needs an operator; a user may read but not delete or clear.
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
    assert_eq!(viewer("sel list").out().lines().count(), 2);
    assert!(viewer("sel delete 1")
        .all()
        .contains("Insufficient privilege"));
    assert!(viewer("sel clear").all().contains("Insufficient privilege"));
    assert!(admin(&bmc, "sel delete 1").contains("Deleted entry 1"));
    let r = admin_run(&bmc, "sel delete 1");
    assert!(
        !r.ok
            && r.all()
                .contains("Requested sensor, data, or record not found")
    );
    let list = sel_lines(&bmc, "lanplus", "list");
    assert_eq!(list.len(), 1);
    assert!(list[0].starts_with("   2 | "), "{list:?}");
    // Clear: what remains is the record that it was cleared.
    assert!(admin(&bmc, "sel clear").contains("Clearing SEL"));
    let list = sel_lines(&bmc, "lanplus", "elist");
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(
        list[0].contains("Event Logging Disabled Event Log | Log area reset/cleared | Asserted"),
        "{list:?}"
    );
    let info = admin(&bmc, "sel info");
    assert!(info.contains("Last Del Time    : "), "{info}");
    assert!(!info.contains("Last Del Time    : Not Available"), "{info}");
    // The SEL clock: set, read back, and stamping what follows.
    let before = sel_time(&bmc, &["get"]).out();
    assert!(before.contains(':') && before.contains('/'), "{before}");
    let set = sel_time(&bmc, &["set", "01/02/30 03:04:05"]).out();
    assert!(set.contains("01/02/30 03:04:0"), "{set}");
    assert!(sel_time(&bmc, &["get"]).out().contains("01/02/30 03:04"));
    admin(&bmc, "chassis power off");
    let last = sel_lines(&bmc, "lanplus", "list").pop().unwrap();
    assert!(last.contains("01/02/30 | 03:04"), "{last}");
}

#[test]
fn freeipmi_ipmi_sel_lists_and_clears() {
    let bmc = Bmc::start();
    take_the_actions(&bmc);
    // With its SDR cache (built from the repository's event-only records), ipmi-sel names each
    // record's sensor; without one, by number.
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = cache_dir.path().to_str().unwrap();
    for driver in ["LAN", "LAN_2_0"] {
        let out = freeipmi(
            &bmc,
            "ipmi-sel",
            "admin",
            ADMIN_PASSWORD,
            &["--sdr-cache-directory", cache, "-D", driver],
        )
        .out();
        let lines: Vec<String> = out.lines().map(str::to_string).collect();
        let cells =
            |l: &String| -> Vec<String> { l.split('|').map(|c| c.trim().to_string()).collect() };
        let named: Vec<String> = lines[1..]
            .iter()
            .map(|l| {
                let c = cells(l);
                format!("{} | {} | {}", c[3], c[4], c[5])
            })
            .collect();
        assert!(
            in_order(
                &named,
                &[
                    "Power Control | Power Unit | Power Off/Power Down",
                    "Boot Request | System Boot Initiated | User requested PXE boot",
                    "Boot Request | System Boot Initiated | Initiated by power up",
                    "Chassis Identify | Slot/Connector | Identify Status",
                    "Power Button | Button/Switch | Power Button pressed",
                    "Host Power | System ACPI Power State | S5/G2",
                ]
            ),
            "{driver}:\n{out}"
        );
        let bare = freeipmi(
            &bmc,
            "ipmi-sel",
            "admin",
            ADMIN_PASSWORD,
            &["--ignore-sdr-cache", "-D", driver],
        )
        .out();
        assert!(bare.contains("Sensor #224"), "{bare}");
    }
    let info = freeipmi(&bmc, "ipmi-sel", "admin", ADMIN_PASSWORD, &["--info"]).out();
    assert!(
        info.contains("Delete SEL Command                     : supported"),
        "{info}"
    );
    assert!(
        info.contains("Number of possible allocation units    : 1024"),
        "{info}"
    );
    let clear = freeipmi(&bmc, "ipmi-sel", "admin", ADMIN_PASSWORD, &["--clear"]);
    assert!(clear.ok, "{}", clear.all());
    let out = freeipmi(
        &bmc,
        "ipmi-sel",
        "admin",
        ADMIN_PASSWORD,
        &["--sdr-cache-directory", cache],
    )
    .out();
    assert_eq!(
        out.lines().count(),
        2,
        "a header and the clear's record:\n{out}"
    );
    assert!(out.contains("Event Log"), "{out}");
    assert!(out.contains("Log Area Reset/Cleared"), "{out}");
}

#[test]
fn power_actions_survive_kill_9_and_restart() {
    let bmc = Bmc::start();
    take_the_actions(&bmc);
    let before = sel_lines(&bmc, "lanplus", "elist");
    assert!(in_order(&before, ACTIONS), "{}", before.join("\n"));
    assert!(bmc.dir.path().join("bmc.toml.state/sel.redb").exists());
    // Acknowledged, then killed at once: nothing may depend on a clean shutdown.
    assert!(admin(&bmc, "chassis power on").contains("Up/On"));
    let bmc = bmc.kill9_and_restart();
    let after = sel_lines(&bmc, "lanplus", "elist");
    assert_eq!(
        after[..before.len()],
        before[..],
        "the same records, IDs and times"
    );
    assert!(
        after[before.len()..]
            .iter()
            .any(|l| l.contains("Initiated by power up")),
        "the last action before the kill:\n{}",
        after.join("\n")
    );
    // Record IDs go on from where they were.
    admin(&bmc, "chassis power off");
    let last = sel_lines(&bmc, "lanplus", "list").pop().unwrap();
    let id: u16 = u16::from_str_radix(last.split('|').next().unwrap().trim(), 16).unwrap();
    assert_eq!(usize::from(id), after.len() + 1, "{last}");
}

#[test]
fn a_full_sel_refuses_adds_with_out_of_space_and_sets_overflow() {
    let port = free_port();
    let config = format!(
        "state_dir = \"state\"\nsel_capacity = 4\n{}",
        standard_config(port, "")
    );
    let bmc = Bmc::start_config(port, &config);
    assert!(bmc.dir.path().join("state/sel.redb").exists());
    let add = "raw 0x0a 0x44 0 0 0x02 0 0 0 0 0x41 0 0x04 0x09 0x01 0x6f 0x00 0xff 0xff";
    for id in 1..=4 {
        assert_eq!(admin(&bmc, add).trim(), format!("0{id} 00"));
    }
    let full = admin_run(&bmc, add);
    assert!(
        !full.ok && full.all().contains("rsp=0xc4"),
        "{}",
        full.all()
    );
    // An action still happens; its record is dropped like any event.
    assert!(admin(&bmc, "chassis power off").contains("Down/Off"));
    let info = admin(&bmc, "sel info");
    for want in [
        "Entries          : 4",
        "Free Space       : 0 bytes",
        "Percent Used     : 100%",
        "Overflow         : true",
        "# Free Units     : 0",
    ] {
        assert!(info.contains(want), "{want}: {info}");
    }
    assert!(bmc.server_log().contains("SEL full: event dropped"));
    assert!(admin(&bmc, "sel clear").contains("Clearing SEL"));
    let info = admin(&bmc, "sel info");
    assert!(info.contains("Entries          : 1"), "{info}");
    assert!(info.contains("Overflow         : false"), "{info}");
}

#[test]
fn check_config_shows_where_the_sel_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("site.toml");
    std::fs::write(
        &path,
        standard_config(6998, "").replace("_file = \"admin.pass\"", " = \"x\""),
    )
    .unwrap();
    let check = |state_directory: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"));
        cmd.arg("check-config").arg(&path);
        cmd.env("TEST_VIEWER_PASSWORD", "v");
        match state_directory {
            Some(d) => cmd.env("STATE_DIRECTORY", d),
            None => cmd.env_remove("STATE_DIRECTORY"),
        };
        run(&mut cmd).out()
    };
    let beside = format!(
        "state: SEL in {}/site.toml.state/sel.redb (1024 records per BMC)",
        dir.path().display()
    );
    assert!(check(None).contains(&beside), "{}", check(None));
    assert!(check(Some("/var/lib/itm:/other")).contains("state: SEL in /var/lib/itm/sel.redb"));
    std::fs::write(
        &path,
        format!(
            "sel_capacity = 0\n{}",
            std::fs::read_to_string(&path).unwrap()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"));
    let bad = run(cmd
        .arg("check-config")
        .arg(&path)
        .env("TEST_VIEWER_PASSWORD", "v"));
    assert!(
        !bad.ok
            && bad
                .stderr
                .contains(":1:16: sel_capacity must be 1 to 65534 records"),
        "{}",
        bad.stderr
    );
}
