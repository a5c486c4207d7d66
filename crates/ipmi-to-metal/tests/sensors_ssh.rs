//! The ssh backend's sensors end to end: the default hwmon command, pointed at a fake
//! /sys/class/hwmon tree in the test's directory, runs on the host through a real sshd; ipmitool
//! and FreeIPMI (`ipmi-sensors`, `ipmimonitoring`, `ipmi-dcmi`) read the readings in SDR units
//! with the hwmon limits as thresholds, and the power draw as DCMI's. A sensor
//! added on the host moves the SDR repository's timestamp (FreeIPMI's cache is out of date, and
//! rebuilt on request), and a host that stops answering turns the readings unavailable within
//! the cache period, and back once it answers again.

mod common;
use common::hwmon::{fake_hwmon, hwmon, ssh_bmc};
use common::*;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};
use test_support::Sshd;

fn ipmitool_lanplus(bmc: &Bmc, args: &[&str]) -> Run {
    let port = bmc.port.to_string();
    let mut cmd = Command::new("timeout");
    cmd.arg("60").arg(require("ipmitool", "ipmitool"));
    cmd.args([
        "-I",
        "lanplus",
        "-H",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        "admin",
        "-E",
    ]);
    cmd.args(["-N", "4", "-R", "3"]).args(args);
    cmd.env("IPMI_PASSWORD", ADMIN_PASSWORD);
    run(&mut cmd)
}

/// `ipmitool sdr list` or `sensor list` as cells by sensor name.
fn table(bmc: &Bmc, args: &[&str]) -> BTreeMap<String, Vec<String>> {
    ipmitool_lanplus(bmc, args)
        .out()
        .lines()
        .filter(|l| l.contains('|'))
        .map(|l| {
            let mut cells = l.split('|').map(|c| c.trim().to_string());
            (cells.next().unwrap_or_default(), cells.collect())
        })
        .collect()
}

#[test]
fn hwmon_sensors_over_ssh_in_sdr_units() {
    let sshd = Sshd::start();
    let tree = tempfile::tempdir().unwrap();
    fake_hwmon(tree.path());
    let bmc = ssh_bmc(&sshd, tree.path());
    let sdr = table(&bmc, &["sdr", "list"]);
    assert_eq!(sdr["coretemp temp1"], ["47 degrees C", "ok"], "{sdr:?}");
    assert_eq!(sdr["nct6775 fan1"], ["1200 RPM", "ok"]);
    assert_eq!(sdr["nct6775 in1"], ["12.10 Volts", "ok"]);
    assert_eq!(sdr["nct6775 power1"], ["62 Watts", "ok"]);
    assert_eq!(sdr.len(), 4, "{sdr:?}");
    // name | reading | unit | status | lnr | lc | lnc | unc | uc | unr
    let sensors = table(&bmc, &["sensor", "list"]);
    assert_eq!(sensors["coretemp temp1"][6..8], ["80.000", "95.000"]);
    assert_eq!(sensors["nct6775 fan1"][4], "300.000");
    assert_eq!(sensors["nct6775 in1"][5..7], ["10.800", "13.200"]);
    let dcmi = ipmitool_lanplus(&bmc, &["dcmi", "power", "reading"]).out();
    assert!(
        dcmi.contains("Instantaneous power reading:                    62 Watts"),
        "{dcmi}"
    );
    // FreeIPMI: ipmimonitoring's states and units, and the DCMI power statistics.
    let cache = tempfile::tempdir().unwrap();
    let mon = freeipmi(
        &bmc,
        "ipmimonitoring",
        "admin",
        ADMIN_PASSWORD,
        &[
            "--sdr-cache-directory",
            cache.path().to_str().unwrap(),
            "--comma-separated-output",
            "--no-header-output",
        ],
    )
    .out();
    // ID,Name,Type,State,Reading,Units,Event
    let rows: BTreeMap<&str, Vec<&str>> = mon
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[1], cells)
        })
        .collect();
    assert_eq!(
        rows["coretemp temp1"][3..6],
        ["Nominal", "47.00", "C"],
        "{mon}"
    );
    assert_eq!(rows["nct6775 fan1"][3..6], ["Nominal", "1200.00", "RPM"]);
    assert_eq!(rows["nct6775 in1"][3..6], ["Nominal", "12.10", "V"]);
    assert_eq!(rows["nct6775 power1"][3..6], ["Nominal", "62.00", "W"]);
    assert_eq!(rows.len(), 4, "{mon}");
    let dcmi = freeipmi(
        &bmc,
        "ipmi-dcmi",
        "admin",
        ADMIN_PASSWORD,
        &["--get-system-power-statistics"],
    )
    .out();
    assert!(
        dcmi.contains("Current Power                        : 62 Watts"),
        "{dcmi}"
    );
    assert!(
        dcmi.contains("Power Measurement                    : Active"),
        "{dcmi}"
    );
}

#[test]
fn a_sensor_added_on_the_host_outdates_freeipmis_cache() {
    let sshd = Sshd::start();
    let tree = tempfile::tempdir().unwrap();
    fake_hwmon(tree.path());
    let bmc = ssh_bmc(&sshd, tree.path());
    let cache = tempfile::tempdir().unwrap();
    let sensors = |extra: &[&str]| {
        let mut args = vec!["--sdr-cache-directory", cache.path().to_str().unwrap()];
        args.extend(extra);
        freeipmi(&bmc, "ipmi-sensors", "admin", ADMIN_PASSWORD, &args)
    };
    let first = sensors(&[]);
    assert!(
        first.ok && first.stdout.contains("coretemp temp1"),
        "{}",
        first.all()
    );
    assert!(sensors(&[]).ok, "the cache is current");
    hwmon(tree.path(), "hwmon0", "temp2_input", "51000");
    // Within the readings' cache period the repository has the new sensor, with a new
    // timestamp: FreeIPMI's cache is out of date until it is rebuilt.
    assert!(eventually(10, || {
        let r = sensors(&[]);
        !r.ok && r.all().contains("out of date")
    }));
    let rebuilt = sensors(&["--sdr-cache-recreate"]);
    assert!(rebuilt.ok, "{}", rebuilt.all());
    assert!(
        rebuilt.stdout.contains("coretemp temp2"),
        "{}",
        rebuilt.stdout
    );
    assert!(sensors(&[]).ok);
}

#[test]
fn readings_turn_unavailable_while_the_host_is_down_and_come_back() {
    let sshd = Sshd::start();
    let tree = tempfile::tempdir().unwrap();
    fake_hwmon(tree.path());
    let bmc = ssh_bmc(&sshd, tree.path());
    let reading = |bmc: &Bmc| table(bmc, &["sdr", "list"])["coretemp temp1"].clone();
    assert_eq!(reading(&bmc), ["47 degrees C", "ok"]);
    let port = sshd.port;
    let dir = sshd.stop();
    let down = Instant::now();
    assert!(eventually(15, || reading(&bmc) == ["no reading", "ns"]));
    // Within the cache period (2 s), plus the failing fetch and ipmitool's own time.
    assert!(
        down.elapsed() < Duration::from_secs(8),
        "{:?}",
        down.elapsed()
    );
    // The repository still lists the sensors: the set did not change.
    assert_eq!(table(&bmc, &["sdr", "list"]).len(), 4);
    let log = bmc.server_log();
    assert!(log.contains("sensor readings unavailable"), "{log}");
    let _sshd = Sshd::start_at(port, Some(dir));
    hwmon(tree.path(), "hwmon0", "temp1_input", "49000");
    assert!(eventually(20, || reading(&bmc) == ["49 degrees C", "ok"]));
    assert!(bmc.server_log().contains("sensor readings available again"));
}
