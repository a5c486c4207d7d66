//! Sensors, the SDR repository and DCMI power end to end against the sim: ipmitool (`-I
//! lanplus` and `-I lan`: `sdr list`, `sdr -v`, `sdr elist`, `sensor list`, `sensor get`,
//! `dcmi power reading`), FreeIPMI (`ipmi-sensors` with and without `--sdr-cache-recreate`,
//! `ipmimonitoring`, `ipmi-dcmi`), and Prometheus' ipmi_exporter scraping the shim as a remote
//! target (sensors, power, DCMI and the SEL's entry count); readings follow the machine's power
//! state. The metal backend's device state sensors
//! are read through the fake Metal API.

mod common;
use common::metal::*;
use common::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};

/// ipmitool with its arguments as given (a sensor name may hold spaces).
fn ipmitool_argv(bmc: &Bmc, iface: &str, args: &[&str]) -> Run {
    let port = bmc.port.to_string();
    let mut cmd = Command::new("timeout");
    cmd.arg("60").arg(require("ipmitool", "ipmitool"));
    cmd.args([
        "-I",
        iface,
        "-H",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        "admin",
        "-E",
    ]);
    cmd.args(["-N", "2", "-R", "3"]).args(args);
    cmd.env("IPMI_PASSWORD", ADMIN_PASSWORD);
    run(&mut cmd)
}

fn tool(bmc: &Bmc, iface: &str, args: &str) -> String {
    let args: Vec<&str> = args.split_whitespace().collect();
    ipmitool_argv(bmc, iface, &args).out()
}

/// The cells of each `|`-separated line, by the first cell (the sensor's name).
fn table(out: &str) -> BTreeMap<String, Vec<String>> {
    out.lines()
        .filter(|l| l.contains('|'))
        .map(|l| {
            let mut cells = l.split('|').map(|c| c.trim().to_string());
            let name = cells.next().unwrap_or_default();
            (name, cells.collect())
        })
        .collect()
}

/// The number a cell begins with.
fn number(cell: &str) -> f64 {
    cell.split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number in {cell:?}"))
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

#[test]
fn ipmitool_sdr_sensor_and_dcmi_over_lanplus_and_lan() {
    let bmc = Bmc::start();
    for iface in ["lanplus", "lan"] {
        let sdr = table(&tool(&bmc, iface, "sdr list"));
        let cpu = &sdr["CPU Temp"];
        assert!(cpu[0].ends_with("degrees C"), "{cpu:?}");
        assert!((30.0..80.0).contains(&number(&cpu[0])), "{cpu:?}");
        assert_eq!(cpu[1], "ok");
        assert!(sdr["Fan 1"][0].ends_with("RPM") && number(&sdr["Fan 1"][0]) > 2000.0);
        assert_eq!(sdr["12V"][0], "12 Volts");
        assert_eq!(sdr["3.3VSB"][0], "3.30 Volts");
        let watts = &sdr["System Power"][0];
        assert!(watts.ends_with("Watts") && number(watts) > 100.0, "{watts}");
        assert_eq!(sdr["PSU1 Status"], ["0x01", "ok"]);
        assert_eq!(sdr.len(), 15, "{sdr:?}");
        let all = table(&tool(&bmc, iface, "sdr list all"));
        assert_eq!(all["Builtin FRU"][0], "Log FRU @00h 07.1");
        assert!(all["node1"][0].contains("MC @ 20h"), "{all:?}");

        let elist = table(&tool(&bmc, iface, "sdr elist"));
        assert_eq!(elist["CPU Temp"][..3], ["01h", "ok", "3.1"]);
        assert_eq!(elist["PSU1 Status"][3], "Presence detected");
        assert_eq!(elist["ACPI State"][3], "S0/G0: working");

        let verbose = tool(&bmc, iface, "sdr -v");
        assert!(
            verbose.contains("Sensor ID              : CPU Temp (0x1)"),
            "{verbose}"
        );
        assert!(
            verbose.contains(" Upper critical        : 95.000"),
            "{verbose}"
        );
        assert!(
            verbose.contains(" Lower critical        : 10.800"),
            "{verbose}"
        );
        assert!(
            verbose.contains(" Positive Hysteresis   : 2.000"),
            "{verbose}"
        );
        assert!(verbose.contains("Sensor Type (Discrete): Power Supply (0x08)"));

        // name | reading | unit | status | lnr | lc | lnc | unc | uc | unr
        let sensors = table(&tool(&bmc, iface, "sensor list"));
        assert_eq!(
            sensors["12V"][1..],
            ["Volts", "ok", "na", "10.800", "11.400", "12.600", "13.200", "na"]
        );
        assert_eq!(sensors["CPU Temp"][6..], ["85.000", "95.000", "105.000"]);

        let get = ipmitool_argv(&bmc, iface, &["sensor", "get", "CPU Temp"]).out();
        assert_eq!(field(&get, "Sensor ID"), "CPU Temp (0x1)");
        assert_eq!(field(&get, "Status"), "ok");
        assert_eq!(field(&get, "Upper Critical"), "95.000");
        assert_eq!(field(&get, "Negative Hysteresis"), "2.000");
        assert!(
            field(&get, "Sensor Reading").ends_with("degrees C"),
            "{get}"
        );

        let dcmi = tool(&bmc, iface, "dcmi power reading");
        let now = number(field(&dcmi, "Instantaneous power reading"));
        let min = number(field(&dcmi, "Minimum during sampling period"));
        let max = number(field(&dcmi, "Maximum during sampling period"));
        assert!(now > 100.0 && min <= now && now <= max, "{dcmi}");
        assert_eq!(field(&dcmi, "Power reading state is"), "activated");
        // DCMI 1.5 capabilities: power management available; a SEL of 1024 entries that does
        // not roll over.
        let caps = tool(&bmc, iface, "raw 0x2c 0x01 0xdc 0x01");
        assert_eq!(caps.trim(), "dc 01 05 02 00 01 00");
        let sel = tool(&bmc, iface, "raw 0x2c 0x01 0xdc 0x02");
        assert_eq!(sel.trim(), "dc 01 05 02 00 04 00 00 00");
        let discover = tool(&bmc, iface, "dcmi discover");
        assert!(discover.contains("1024 SEL entries"), "{discover}");
        assert!(
            discover.contains("SEL automatic rollover is not present"),
            "{discover}"
        );
    }

    // Power off: within the readings' cache period the fans stop, the main rails lose power
    // (no reading), the draw falls to standby, and DCMI follows.
    admin(&bmc, "chassis power off");
    assert!(eventually(10, || {
        let sdr = table(&tool(&bmc, "lanplus", "sdr list"));
        sdr["Fan 1"][0] == "0 RPM" && number(&sdr["System Power"][0]) < 10.0
    }));
    let sdr = table(&tool(&bmc, "lanplus", "sdr list"));
    assert_eq!(sdr["12V"], ["no reading", "ns"]);
    assert_eq!(sdr["3.3VSB"][0], "3.30 Volts");
    assert_eq!(
        table(&tool(&bmc, "lan", "sdr elist"))["ACPI State"][3],
        "S5/G2: soft-off"
    );
    let dcmi = tool(&bmc, "lanplus", "dcmi power reading");
    assert!(
        number(field(&dcmi, "Instantaneous power reading")) < 10.0,
        "{dcmi}"
    );
}

/// A FreeIPMI tool against the BMC as the administrator.
fn freeipmi_ok(bmc: &Bmc, tool: &str, args: &[&str]) -> Run {
    let r = freeipmi(bmc, tool, "admin", ADMIN_PASSWORD, args);
    assert!(r.ok, "{tool} {args:?}:\n{}", r.all());
    r
}

#[test]
fn freeipmi_sensors_cache_monitoring_and_dcmi() {
    let bmc = Bmc::start();
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_str().unwrap();
    for driver in ["LAN", "LAN_2_0"] {
        let cache = ["--sdr-cache-directory", dir, "-D", driver];
        // The first run builds the cache; the second uses it, without reading the SDRs again.
        let first = freeipmi_ok(&bmc, "ipmi-sensors", &cache);
        let second = freeipmi_ok(&bmc, "ipmi-sensors", &cache);
        assert!(!second.stderr.contains("Caching SDR"), "{}", second.all());
        assert_eq!(
            table(&first.stdout).keys().collect::<Vec<_>>(),
            table(&second.stdout).keys().collect::<Vec<_>>()
        );
        let mut args = cache.to_vec();
        args.extend(["--sdr-cache-recreate", "--output-sensor-thresholds"]);
        let rows = table(&freeipmi_ok(&bmc, "ipmi-sensors", &args).stdout);
        // ID | Name | Type | Reading | Units | Lower NR | Lower C | Lower NC | Upper NC | Upper C
        // | Upper NR | Event
        let by_name: BTreeMap<&str, &Vec<String>> = rows
            .iter()
            .filter(|(id, _)| id.as_str() != "ID")
            .map(|(_, r)| (r[0].as_str(), r))
            .collect();
        let cpu = by_name["CPU Temp"];
        assert_eq!((cpu[1].as_str(), cpu[3].as_str()), ("Temperature", "C"));
        assert!((30.0..80.0).contains(&number(&cpu[2])), "{cpu:?}");
        assert_eq!(cpu[8..], ["95.00", "105.00", "'OK'"]);
        assert_eq!(by_name["12V"][5..9], ["10.80", "11.40", "12.60", "13.20"]);
        assert_eq!(by_name["Fan 2"][3], "RPM");
        assert_eq!(by_name["System Power"][3], "W");
        assert_eq!(by_name["PSU1 Status"][10], "'Presence detected'");
        assert_eq!(by_name.len(), 15);
    }

    let mon = freeipmi_ok(
        &bmc,
        "ipmimonitoring",
        &[
            "--sdr-cache-directory",
            dir,
            "--sdr-cache-recreate",
            "--comma-separated-output",
            "--no-header-output",
        ],
    )
    .stdout;
    // ID,Name,Type,State,Reading,Units,Event
    let lines: BTreeMap<&str, Vec<&str>> = mon
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[1], cells)
        })
        .collect();
    assert_eq!(lines["CPU Temp"][3..4], ["Nominal"]);
    assert_eq!(lines["Fan 1"][5], "RPM");
    assert!(number(lines["Fan 1"][4]) > 2000.0);
    assert_eq!(lines["ACPI State"][6], "'S0/G0'");

    let dcmi = freeipmi_ok(&bmc, "ipmi-dcmi", &["--get-system-power-statistics"]).stdout;
    assert!(number(field(&dcmi, "Current Power")) > 100.0, "{dcmi}");
    assert_eq!(field(&dcmi, "Power Measurement"), "Active");
}

/// A running prometheus-ipmi-exporter.
struct Exporter {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Exporter {
    /// Starts the exporter with a module `shim` for the BMC's administrator.
    fn start() -> Exporter {
        let exe = require("prometheus-ipmi-exporter", "prometheus-ipmi-exporter");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("ipmi.yml");
        std::fs::write(
            &config,
            format!(
                "modules:\n  shim:\n    user: admin\n    pass: \"{ADMIN_PASSWORD}\"\n    driver: LAN_2_0\n    privilege: user\n    timeout: 10000\n    collectors: [bmc, ipmi, chassis, dcmi, sel]\n"
            ),
        )
        .unwrap();
        let port = test_support::free_tcp_port();
        let child = Command::new(exe)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("exporter.log")).unwrap())
            .spawn()
            .expect("start the exporter");
        let e = Exporter {
            child,
            port,
            _dir: dir,
        };
        assert!(
            eventually(10, || std::net::TcpStream::connect(("127.0.0.1", port))
                .is_ok()),
            "the exporter does not listen"
        );
        e
    }

    /// Scrapes `/ipmi` for the BMC; its samples by metric name and labels.
    fn scrape(&self, bmc: &Bmc) -> BTreeMap<String, f64> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        write!(
            s,
            "GET /ipmi?target=127.0.0.1:{}&module=shim HTTP/1.0\r\nHost: localhost\r\n\r\n",
            bmc.port
        )
        .unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        let (head, metrics) = body.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(head.starts_with("HTTP/1.0 200"), "{head}");
        metrics
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').expect("a sample line");
                (series.to_string(), value.parse::<f64>().expect("a number"))
            })
            .collect()
    }
}

#[test]
fn prometheus_ipmi_exporter_scrapes_the_shim() {
    let bmc = Bmc::start();
    let exporter = Exporter::start();
    let m = exporter.scrape(&bmc);
    for collector in ["bmc", "ipmi", "chassis", "dcmi", "sel"] {
        assert_eq!(
            m[&format!("ipmi_up{{collector=\"{collector}\"}}")],
            1.0,
            "{m:?}"
        );
    }
    let cpu = m["ipmi_temperature_celsius{id=\"1\",name=\"CPU Temp\"}"];
    assert!((30.0..80.0).contains(&cpu), "{cpu}");
    assert_eq!(m["ipmi_temperature_state{id=\"1\",name=\"CPU Temp\"}"], 0.0);
    assert!(m["ipmi_fan_speed_rpm{id=\"4\",name=\"Fan 1\"}"] > 2000.0);
    assert_eq!(m["ipmi_voltage_volts{id=\"8\",name=\"12V\"}"], 12.0);
    assert!(m["ipmi_power_watts{id=\"12\",name=\"System Power\"}"] > 100.0);
    assert!(m["ipmi_dcmi_power_consumption_watts"] > 100.0);
    assert_eq!(m["ipmi_chassis_power_state"], 1.0);
    assert_eq!(
        m["ipmi_sensor_state{id=\"13\",name=\"PSU1 Status\",type=\"Power Supply\"}"],
        0.0
    );
    // The SEL collector: no entries yet, 1024 of 16 bytes free.
    assert_eq!(m["ipmi_sel_logs_count"], 0.0, "{m:?}");
    assert_eq!(m["ipmi_sel_free_space_bytes"], 16384.0);
    // Powered off: the next scrapes show it, and the SEL holds the action.
    admin(&bmc, "chassis power off");
    assert!(eventually(15, || {
        let m = exporter.scrape(&bmc);
        m["ipmi_chassis_power_state"] == 0.0
            && m["ipmi_sel_logs_count"] >= 1.0
            && m["ipmi_fan_speed_rpm{id=\"4\",name=\"Fan 1\"}"] == 0.0
            && m["ipmi_dcmi_power_consumption_watts"] < 10.0
            && m["ipmi_power_watts{id=\"12\",name=\"System Power\"}"] < 10.0
    }));
}

#[test]
fn metal_device_state_as_sensors() {
    let fake = FakeMetal::start(vec![device(1, "active", &[])]);
    let port = free_port();
    let section = format!(
        "[bmc.metal]\napi_url = \"{}\"\nallow_http = true\ndevice_id = \"{}\"\ntoken_env = \"TEST_METAL_TOKEN\"\ncache_ms = 200\n",
        fake.url(),
        device_id(1)
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "metal", &section));
    let elist = table(&tool(&bmc, "lanplus", "sdr elist"));
    assert_eq!(elist["Power State"][3], "S0/G0: working", "{elist:?}");
    assert_eq!(
        elist["Device State"][3], "Transition to Running",
        "{elist:?}"
    );
    admin(&bmc, "chassis power off");
    assert!(eventually(15, || {
        let e = table(&tool(&bmc, "lanplus", "sdr elist"));
        e["Device State"][3] == "Transition to Power Off"
            && e["Power State"][3] == "S5/G2: soft-off"
    }));
    // No power sensor: no DCMI power reading.
    let r = ipmitool_argv(&bmc, "lanplus", &["dcmi", "power", "reading"]);
    assert!(!r.ok, "{}", r.all());
    fake.check_spec();
}
