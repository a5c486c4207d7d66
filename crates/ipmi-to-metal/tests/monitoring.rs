//! The monitoring list of issue 13, the same commands and checks against each backend that
//! reports sensors: ipmitool `sdr list`, `sdr -v`, `sdr elist`, `sensor list`, `sensor get
//! "NAME"`, then actions taken through the shim, `sel info`, `sel list`, `sel elist` (the actions
//! in order, their sensors named), `sel time get`/`set`, `sel clear` and `dcmi power reading`.
//! The backends: the sim; ssh (a real sshd, the default hwmon command reading a fake tree);
//! ipmi (OpenIPMI's `ipmi_sim` with sensors, its SDR, sensor and SEL commands relayed whole,
//! the actions' records added to its SEL, DCMI power from its power sensor).

mod common;
use common::hwmon::{fake_hwmon, ssh_bmc};
use common::*;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::process::Command;
use test_support::{IpmiSim, Sshd};

/// What one backend's BMC should show.
struct Expected {
    /// A threshold sensor: its name, number, and reading as `sdr list` prints it.
    sensor: &'static str,
    number: u8,
    reading: &'static str,
    /// Its thresholds as `sensor list` prints them: lower non-recoverable, critical and
    /// non-critical, upper non-critical, critical and non-recoverable.
    thresholds: [&'static str; 6],
    /// A discrete sensor and the state `sdr elist` prints for it, if the backend has one.
    discrete: Option<(&'static str, &'static str)>,
    /// How many sensors `sdr list` lists.
    sensors: usize,
    /// The lines the actions leave in `sel elist`, in order (other lines may come between).
    actions: &'static [&'static str],
    /// Whether `sel time set` is served (else refused: the clock of a BMC behind is its own).
    sets_sel_time: bool,
    /// What `sel elist` holds after `sel clear`: the record of the clearing, or nothing.
    after_clear: Option<&'static str>,
    /// The power DCMI reports now, in watts.
    watts: RangeInclusive<f64>,
}

/// ipmitool over lanplus as the administrator, arguments as given (a name may hold spaces).
fn tool(bmc: &Bmc, args: &[&str]) -> Run {
    let port = bmc.port.to_string();
    let mut cmd = Command::new("timeout");
    cmd.arg("60").arg(require("ipmitool", "ipmitool"));
    cmd.args(["-I", "lanplus", "-H", "127.0.0.1", "-p", &port]);
    cmd.args(["-U", "admin", "-E", "-N", "2", "-R", "3", "-Z"]);
    cmd.args(args).env("IPMI_PASSWORD", ADMIN_PASSWORD);
    cmd.env("LC_ALL", "C");
    run(&mut cmd)
}

fn out(bmc: &Bmc, args: &str) -> String {
    tool(bmc, &args.split_whitespace().collect::<Vec<_>>()).out()
}

/// The cells of each `|`-separated line, by the first cell.
fn table(out: &str) -> BTreeMap<String, Vec<String>> {
    out.lines()
        .filter(|l| l.contains('|'))
        .map(|l| {
            let mut cells = l.split('|').map(|c| c.trim().to_string());
            (cells.next().unwrap_or_default(), cells.collect())
        })
        .collect()
}

/// The value after `label :` in `key : value` output.
fn field<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == label).then(|| v.trim())
        })
        .unwrap_or_else(|| panic!("no {label:?} in:\n{out}"))
}

/// Whether `wanted` appear in `lines` in this order (other lines may come between).
fn in_order(lines: &str, wanted: &[&str]) -> bool {
    let mut rest = lines.lines();
    wanted.iter().all(|w| rest.any(|l| l.contains(w)))
}

/// The SEL's entry count as `sel info` gives it.
fn entries(bmc: &Bmc) -> usize {
    field(&out(bmc, "sel info"), "Entries").parse().unwrap()
}

/// Runs the whole list against `bmc`; `act` takes the actions whose records `e.actions` lists.
fn the_whole_list(bmc: &Bmc, e: &Expected, act: impl FnOnce(&Bmc)) {
    let sdr = table(&out(bmc, "sdr list"));
    assert_eq!(sdr[e.sensor], [e.reading, "ok"], "{sdr:?}");
    assert_eq!(sdr.len(), e.sensors, "{sdr:?}");
    let unit = e.reading.rsplit(' ').next().unwrap();

    let verbose = out(bmc, "sdr -v");
    let id = format!("Sensor ID              : {} ({:#x})", e.sensor, e.number);
    assert!(verbose.contains(&id), "{id}:\n{verbose}");
    if e.thresholds[4] != "na" {
        let uc = format!(" Upper critical        : {}", e.thresholds[4]);
        assert!(verbose.contains(&uc), "{uc}:\n{verbose}");
    }

    let elist = table(&out(bmc, "sdr elist"));
    let row = &elist[e.sensor];
    assert_eq!(row[0], format!("{:02X}h", e.number), "{row:?}");
    assert_eq!((row[1].as_str(), row[3].as_str()), ("ok", e.reading));
    if let Some((name, state)) = e.discrete {
        assert_eq!(elist[name][3], state, "{elist:?}");
    }

    // name | reading | unit | status | lnr | lc | lnc | unc | uc | unr
    let sensors = table(&out(bmc, "sensor list"));
    assert_eq!(sensors[e.sensor][1..3], [unit, "ok"], "{sensors:?}");
    assert_eq!(sensors[e.sensor][3..], e.thresholds, "{sensors:?}");

    let get = tool(bmc, &["sensor", "get", e.sensor]).out();
    assert_eq!(
        field(&get, "Sensor ID"),
        format!("{} ({:#x})", e.sensor, e.number)
    );
    assert_eq!(field(&get, "Status"), "ok");
    assert!(field(&get, "Sensor Reading").ends_with(unit), "{get}");

    let before = entries(bmc);
    act(bmc);
    // The records of the actions, in order, each sensor named; no "Error obtaining SDR info".
    assert!(
        eventually(10, || in_order(&out(bmc, "sel elist"), e.actions)),
        "{}",
        out(bmc, "sel elist")
    );
    let elist = tool(bmc, &["sel", "elist"]);
    assert!(!elist.stderr.contains("SDR"), "{}", elist.stderr);
    let list = out(bmc, "sel list");
    assert_eq!(entries(bmc), list.lines().count(), "{list}");
    assert!(entries(bmc) >= before + e.actions.len());
    assert_eq!(
        field(&out(bmc, "sel info"), "Overflow"),
        "false",
        "not full"
    );

    // A date, or (ipmi_sim's clock, from its start) "S+ hh:mm:ss" after initialization.
    let time = out(bmc, "sel time get");
    assert!(time.contains(':'), "{time}");
    let set = tool(bmc, &["sel", "time", "set", "01/02/30 03:04:05"]);
    if e.sets_sel_time {
        assert!(set.out().contains("01/02/30 03:04:0"));
        assert!(out(bmc, "sel time get").contains("01/02/30 03:04"));
    } else {
        assert!(
            !set.ok && set.all().contains("Invalid command"),
            "{}",
            set.all()
        );
    }

    assert!(out(bmc, "sel clear").contains("Clearing SEL"));
    let cleared = out(bmc, "sel elist");
    match e.after_clear {
        Some(line) => {
            assert_eq!(cleared.lines().count(), 1, "{cleared}");
            assert!(cleared.contains(line), "{cleared}");
        }
        None => assert_eq!(entries(bmc), 0, "{cleared}"),
    }

    let dcmi = out(bmc, "dcmi power reading");
    let watts: f64 = field(&dcmi, "Instantaneous power reading")
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("{dcmi}"));
    assert!(e.watts.contains(&watts), "{watts} W: {dcmi}");
    assert_eq!(field(&dcmi, "Power reading state is"), "activated");
}

fn admin_ok(bmc: &Bmc, args: &str) -> String {
    admin(bmc, args)
}

#[test]
fn the_whole_list_on_the_sim() {
    let bmc = Bmc::start();
    let e = Expected {
        sensor: "12V",
        number: 8,
        reading: "12 Volts",
        thresholds: ["na", "10.800", "11.400", "12.600", "13.200", "na"],
        discrete: Some(("PSU1 Status", "Presence detected")),
        sensors: 15,
        actions: &[
            "Power Unit Power Control | Power off/down | Asserted",
            "System Boot Initiated Boot Request | User requested PXE boot | Asserted",
            "System Boot Initiated Boot Request | Initiated by power up | Asserted",
            "Slot / Connector Chassis Identify | Identify Status | Asserted",
            "Button Power Button | Power Button pressed | Asserted",
            "System ACPI Power State Host Power | S5/G2: soft-off | Asserted",
            "System ACPI Power State Host Power | S0/G0: working | Asserted",
        ],
        sets_sel_time: true,
        after_clear: Some("Event Logging Disabled Event Log | Log area reset/cleared | Asserted"),
        watts: 100.0..=400.0,
    };
    the_whole_list(&bmc, &e, |bmc| {
        let status = |bmc: &Bmc| admin_ok(bmc, "chassis power status");
        admin_ok(bmc, "chassis power off");
        admin_ok(bmc, "chassis bootdev pxe");
        admin_ok(bmc, "chassis power on");
        assert!(eventually(10, || status(bmc).contains("on")));
        admin_ok(bmc, "chassis identify 5");
        admin_ok(bmc, "chassis power soft");
        assert!(eventually(10, || status(bmc).contains("off")));
        admin_ok(bmc, "chassis power on");
        assert!(eventually(10, || status(bmc).contains("on")));
    });
}

#[test]
fn the_whole_list_on_the_ssh_backend() {
    let sshd = Sshd::start();
    let tree = tempfile::tempdir().unwrap();
    fake_hwmon(tree.path());
    let bmc = ssh_bmc(&sshd, tree.path());
    let e = Expected {
        sensor: "nct6775 in1",
        number: 3,
        reading: "12.10 Volts",
        thresholds: ["na", "na", "10.800", "13.200", "na", "na"],
        discrete: None,
        sensors: 4,
        actions: &[
            "Power Unit Power Control | Power cycle | Asserted",
            "System Boot Initiated Boot Request | Initiated by hard reset | Asserted",
            "Slot / Connector Chassis Identify | Identify Status | Asserted",
            "Button Power Button | Power Button pressed | Asserted",
            "Power Unit Power Control | Power off/down | Asserted",
        ],
        sets_sel_time: true,
        after_clear: Some("Event Logging Disabled Event Log | Log area reset/cleared | Asserted"),
        watts: 62.0..=62.0,
    };
    the_whole_list(&bmc, &e, |bmc| {
        for (verb, marker) in [("cycle", "cycle"), ("reset", "reset")] {
            admin_ok(bmc, &format!("chassis power {verb}"));
            assert!(sshd.marked(marker), "{verb}");
        }
        admin_ok(bmc, "chassis identify 5");
        admin_ok(bmc, "chassis power soft");
        admin_ok(bmc, "chassis power off");
        assert!(sshd.marked("soft_off") && sshd.marked("off"));
    });
}

#[test]
fn the_whole_list_on_the_ipmi_backend() {
    let sim = IpmiSim::start();
    let port = free_port();
    let section = format!(
        "[bmc.ipmi]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"admin\"\npassword_env = \"TEST_SIM_PASSWORD\"\ntimeout_ms = 300\nretries = 2\n",
        sim.addr.port()
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "ipmi", &section));
    // The records ipmi_sim's SEL gets from the shim come from remote console software: no
    // sensor of the BMC behind's SDR names them.
    let e = Expected {
        sensor: "12V",
        number: 3,
        reading: "12.10 Volts",
        thresholds: ["na", "10.800", "11.400", "12.600", "13.200", "na"],
        discrete: Some(("PSU1 Status", "Presence detected")),
        sensors: 5,
        actions: &[
            "Power Unit #0xe0 | Power off/down | Asserted",
            "System Boot Initiated #0xe1 | User requested PXE boot | Asserted",
            "System Boot Initiated #0xe1 | Initiated by power up | Asserted",
            "Slot / Connector #0xe5 | Identify Status | Asserted",
        ],
        sets_sel_time: false,
        after_clear: None,
        watts: 246.0..=246.0,
    };
    the_whole_list(&bmc, &e, |bmc| {
        // The SEL read is the BMC behind's, with the record it had.
        assert!(out(bmc, "sel list").contains("Upper Non-critical going high"));
        admin_ok(bmc, "chassis power off");
        assert_eq!(sim.power(), "0");
        admin_ok(bmc, "chassis bootdev pxe");
        assert_eq!(sim.boot(), "pxe");
        admin_ok(bmc, "chassis power on");
        assert_eq!(sim.power(), "1");
        admin_ok(bmc, "chassis identify 5");
    });
    let log = bmc.server_log();
    assert!(log.contains("SEL entry added to the BMC behind"), "{log}");
    // DCMI's SEL attributes are the BMC behind's (ipmi_sim's SEL holds 1000 entries); its power
    // statistics come from the power sensor of its SDR, for FreeIPMI too.
    let sel = out(&bmc, "raw 0x2c 0x01 0xdc 0x02");
    assert_eq!(sel.trim(), "dc 01 05 02 e8 03 00 00 00");
    let dcmi = freeipmi(
        &bmc,
        "ipmi-dcmi",
        "admin",
        ADMIN_PASSWORD,
        &["--get-system-power-statistics"],
    )
    .out();
    assert!(
        dcmi.contains("Current Power                        : 246 Watts"),
        "{dcmi}"
    );
}
