//! The ipmi backend end to end: ipmitool and FreeIPMI drive the real binary, which relays to
//! OpenIPMI's `ipmi_sim` as the real BMC behind; power and boot device are checked on the
//! simulator itself.

mod common;
use common::*;
use std::time::Duration;
use test_support::IpmiSim;

/// The standard users, with the ipmi backend towards `sim`; `ipmi_extra` goes into `[bmc.ipmi]`.
fn proxied_config(port: u16, sim: &IpmiSim, ipmi_extra: &str) -> String {
    config_with_backend(
        port,
        "ipmi",
        &format!(
            "[bmc.ipmi]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"admin\"\npassword_env = \"TEST_SIM_PASSWORD\"\ntimeout_ms = 300\nretries = 2\n{ipmi_extra}\n",
            sim.addr.port()
        ),
    )
}

fn start_proxy(sim: &IpmiSim, ipmi_extra: &str) -> Bmc {
    let port = free_port();
    Bmc::start_config(port, &proxied_config(port, sim, ipmi_extra))
}

#[test]
fn ipmitool_power_and_boot_reach_ipmi_sim() {
    let sim = IpmiSim::start();
    for interface in ["lanplus", "lan"] {
        let bmc = start_proxy(&sim, &format!("interface = \"{interface}\""));
        let status = admin(&bmc, "chassis power status");
        assert_eq!(status.trim(), "Chassis Power is on", "{interface}");
        assert!(admin(&bmc, "chassis power off").contains("Down/Off"));
        assert_eq!(sim.power(), "0", "{interface}: {}", sim.actions());
        assert_eq!(
            admin(&bmc, "chassis power status").trim(),
            "Chassis Power is off"
        );
        // The IPMI 1.5 client side works the same.
        let out = ipmitool(
            &bmc,
            "lan",
            &[],
            "admin",
            ADMIN_PASSWORD,
            "chassis power on",
        )
        .out();
        assert!(out.contains("Up/On"), "{out}");
        assert_eq!(sim.power(), "1");
        // Boot flags are relayed whole: the simulator sets the device, and reads it back.
        admin(&bmc, "chassis bootdev pxe");
        assert_eq!(sim.boot(), "pxe", "{}", sim.actions());
        let flags = admin(&bmc, "chassis bootparam get 5");
        assert!(flags.contains("Force PXE"), "{flags}");
        // Ironic's raw form, persistent + EFI, hard disk.
        admin(&bmc, "raw 0x00 0x08 0x05 0xe0 0x08 0x00 0x00 0x00");
        assert_eq!(sim.boot(), "default", "{}", sim.actions());
        let log = bmc.server_log();
        assert!(log.contains("logged in to the BMC behind"), "{log}");
        assert!(log.contains("command relayed to the BMC behind"), "{log}");
        assert!(!log.contains(test_support::SIM_PASSWORD), "{log}");
    }
}

#[test]
fn fru_sel_sensor_and_guid_are_the_real_bmcs() {
    let sim = IpmiSim::start();
    let bmc = start_proxy(&sim, "");
    let fru = admin(&bmc, "fru print 0");
    assert!(fru.contains("Product Manufacturer  : Sim Co"), "{fru}");
    assert!(fru.contains("Product Serial        : SN123"), "{fru}");
    let sel = admin(&bmc, "sel list");
    assert!(sel.contains("Upper Non-critical going high"), "{sel}");
    let reading = admin(&bmc, "raw 0x04 0x2d 0x01");
    assert!(reading.trim().starts_with("30"), "{reading}");
    let sdr = admin(&bmc, "sdr list");
    assert!(
        sdr.contains("CPU Temp         | 48 degrees C      | ok"),
        "{sdr}"
    );
    assert!(
        sdr.contains("System Power     | 246 Watts         | ok"),
        "{sdr}"
    );
    // FreeIPMI reads the SDR repository and the sensor through the shim, over 1.5 and 2.0.
    for driver in ["LAN", "LAN_2_0"] {
        let cache = bmc.dir.path().join(format!("sdr-{driver}"));
        std::fs::create_dir(&cache).unwrap();
        let sensors = freeipmi(
            &bmc,
            "ipmi-sensors",
            "admin",
            ADMIN_PASSWORD,
            &[
                "-D",
                driver,
                "--sdr-cache-directory",
                cache.to_str().unwrap(),
            ],
        )
        .out();
        // The columns are as wide as the longest cell: compare cells.
        let rows: Vec<Vec<&str>> = sensors
            .lines()
            .map(|l| l.split('|').map(str::trim).collect())
            .collect();
        assert!(
            rows.iter()
                .any(|r| r[1..] == ["CPU Temp", "Temperature", "48.00", "C", "'OK'"]),
            "{driver}: {sensors}"
        );
        assert!(
            rows.iter()
                .any(|r| r[1..] == ["12V", "Voltage", "12.10", "V", "'OK'"]),
            "{driver}: {sensors}"
        );
    }
    let guid = admin(&bmc, "mc guid");
    assert!(
        guid.contains("a1234567-89ab-cdef-a123-456789abcdef")
            || guid.contains("efcdab89-6745-23a1-efcd-ab89674523a1"),
        "{guid}"
    );
}

#[test]
fn the_allow_list_decides_what_each_privilege_may_relay() {
    let sim = IpmiSim::start();
    let bmc = start_proxy(&sim, "");
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
    let operator = |args: &str| {
        ipmitool(
            &bmc,
            "lanplus",
            &["-L", "OPERATOR"],
            "operator",
            OPERATOR_PASSWORD,
            args,
        )
    };
    // A user-level session reads the SEL and FRU, but may not clear the SEL or set boot flags,
    // although the account downstream is an administrator.
    assert!(viewer("sel list").out().contains("Upper Non-critical"));
    let clear = viewer("sel clear");
    assert!(
        clear.all().contains("Insufficient privilege"),
        "{}",
        clear.all()
    );
    assert!(
        admin(&bmc, "sel list").contains("Upper Non-critical"),
        "not cleared by a user"
    );
    let boot = viewer("chassis bootdev pxe");
    assert!(
        boot.all().contains("Insufficient privilege"),
        "{}",
        boot.all()
    );
    assert_ne!(sim.boot(), "pxe");
    assert!(operator("sel clear").all().contains("Clearing SEL"));
    // Commands outside the list are not relayed: Set SEL Time (0x0a 0x49) is answered 0xC1.
    let set_time = admin_run(&bmc, "raw 0x0a 0x49 0 0 0 0");
    assert!(set_time.all().contains("rsp=0xc1"), "{}", set_time.all());

    // A narrower list: FRU only, for administrators.
    let bmc = start_proxy(
        &sim,
        "relay = [{ netfn = 0x0a, cmds = [0x10, 0x11], privilege = \"administrator\" }]",
    );
    let denied = ipmitool(
        &bmc,
        "lanplus",
        &["-L", "USER"],
        "viewer",
        VIEWER_PASSWORD,
        "fru print 0",
    );
    assert!(!denied.all().contains("Sim Co"), "{}", denied.all());
    assert!(admin(&bmc, "fru print 0").contains("Sim Co"));
    // The SEL is not relayed: the shim serves its own (empty), not the sim's entries.
    let sel = admin_run(&bmc, "sel list");
    assert!(!sel.all().contains("Upper Non-critical"), "{}", sel.all());
    assert!(admin(&bmc, "sel info").contains("Entries          : 0"));
}

#[test]
fn a_relay_rule_cannot_grant_less_than_appendix_g() {
    // The rule says "user" for Get and Set LAN Configuration Parameters; appendix G gives them
    // to operators and administrators, and the session behind is an administrator's.
    let sim = IpmiSim::start();
    let bmc = start_proxy(
        &sim,
        "relay = [{ netfn = 0x0c, cmds = [0x01, 0x02], privilege = \"user\" }]",
    );
    let as_user = |user: &str, password: &str, level: &str, args: &str| {
        ipmitool(&bmc, "lanplus", &["-L", level], user, password, args)
    };
    let get = "raw 0x0c 0x02 0x01 0x00 0x00 0x00";
    let set = "raw 0x0c 0x01 0x01 0x00 0x00";
    let denied = |r: Run| {
        assert!(r.all().contains("rsp=0xd4"), "{}", r.all());
    };
    denied(as_user("viewer", VIEWER_PASSWORD, "USER", get));
    denied(as_user("viewer", VIEWER_PASSWORD, "USER", set));
    let relayed_before = bmc.server_log().matches("command relayed").count();
    let r = as_user("operator", OPERATOR_PASSWORD, "OPERATOR", get);
    assert!(r.ok, "{}", r.all());
    denied(as_user("operator", OPERATOR_PASSWORD, "OPERATOR", set));
    let r = admin_run(&bmc, set);
    assert!(!r.all().contains("rsp=0xd4"), "{}", r.all());
    assert_eq!(
        bmc.server_log().matches("command relayed").count(),
        relayed_before + 2,
        "the operator's read and the administrator's write went behind:\n{}",
        bmc.server_log()
    );
}

#[test]
fn freeipmi_drives_ipmi_sim_through_the_shim() {
    let sim = IpmiSim::start();
    let bmc = start_proxy(&sim, "");
    // FreeIPMI's default IPMI 1.5, then 2.0, as MAAS does it at operator level.
    let off = freeipmi(
        &bmc,
        "ipmipower",
        "operator",
        OPERATOR_PASSWORD,
        &["--off", "-l", "OPERATOR"],
    )
    .out();
    assert!(off.contains("ok"), "{off}");
    assert_eq!(sim.power(), "0");
    let stat = freeipmi(
        &bmc,
        "ipmipower",
        "operator",
        OPERATOR_PASSWORD,
        &[
            "--stat",
            "-D",
            "LAN_2_0",
            "-l",
            "OPERATOR",
            "-W",
            "opensesspriv",
        ],
    )
    .out();
    assert!(stat.contains("off"), "{stat}");
    let sel = freeipmi(
        &bmc,
        "ipmi-sel",
        "admin",
        ADMIN_PASSWORD,
        &["-D", "LAN_2_0", "--ignore-sdr-cache"],
    )
    .out();
    assert!(sel.contains("Upper Non-critical"), "{sel}");
}

#[test]
fn a_slow_or_stopped_bmc_behind_gets_a_completion_code_in_time_and_the_proxy_logs_in_again() {
    let port = test_support::free_port();
    let sim = IpmiSim::start_at(port, None);
    let bmc = start_proxy(&sim, "deadline_ms = 1500");
    let status = |bmc: &Bmc| {
        ipmitool(
            bmc,
            "lanplus",
            &["-N", "3"],
            "admin",
            ADMIN_PASSWORD,
            "chassis status",
        )
    };
    assert!(status(&bmc).out().contains("System Power         : on"));
    // Frozen: the client gets 0xC3 (timeout) after the backend's deadline, not silence.
    sim.pause();
    let slow = status(&bmc);
    assert!(slow.all().contains("Timeout"), "{}", slow.all());
    assert!(slow.elapsed < Duration::from_secs(3), "{:?}", slow.elapsed);
    sim.resume();
    let again = status(&bmc);
    assert!(
        again.all().contains("System Power         : on"),
        "{}\n{}",
        again.all(),
        bmc.server_log()
    );
    // Stopped: the same, and once it is back the proxy logs in again by itself.
    let dir = sim.stop();
    let down = status(&bmc);
    assert!(down.all().contains("Timeout"), "{}", down.all());
    assert!(down.elapsed < Duration::from_secs(3), "{:?}", down.elapsed);
    let log = bmc.server_log();
    assert!(log.contains("backend operation failed"), "{log}");
    let _sim = IpmiSim::start_at(port, Some(dir));
    assert!(status(&bmc).out().contains("System Power         : on"));
}

/// A proxy (ipmi backend) towards another ipmi-to-metal whose sessions expire after 1 s idle.
fn proxy_to_expiring_bmc(keepalive_ms: u64) -> (Bmc, Bmc) {
    let downstream = Bmc::start_with("session_timeout = 1");
    let port = free_port();
    let config = config_with_backend(
        port,
        "ipmi",
        &format!(
            "[bmc.ipmi]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"admin\"\npassword_file = \"admin.pass\"\ntimeout_ms = 1000\nretries = 1\nkeepalive_ms = {keepalive_ms}\n",
            downstream.port
        ),
    );
    (Bmc::start_config(port, &config), downstream)
}

fn logins(bmc: &Bmc) -> usize {
    bmc.server_log().matches("session opened").count()
}

#[test]
fn keepalive_holds_the_session_to_the_bmc_behind_open() {
    let (proxy, downstream) = proxy_to_expiring_bmc(300);
    assert_eq!(
        admin(&proxy, "chassis power status").trim(),
        "Chassis Power is on"
    );
    assert_eq!(logins(&downstream), 1, "{}", downstream.server_log());
    std::thread::sleep(Duration::from_millis(3000));
    let again = admin_run(&proxy, "chassis power status");
    assert_eq!(again.out().trim(), "Chassis Power is on");
    assert_eq!(
        logins(&downstream),
        1,
        "kept alive: {}",
        downstream.server_log()
    );

    // Without keep-alive the session expires; the next request finds it dead (one retry
    // timeout) and logs in again.
    let (proxy, downstream) = proxy_to_expiring_bmc(0);
    assert_eq!(
        admin(&proxy, "chassis power status").trim(),
        "Chassis Power is on"
    );
    std::thread::sleep(Duration::from_millis(3000));
    let again = admin_run(&proxy, "chassis power status");
    assert_eq!(again.out().trim(), "Chassis Power is on");
    assert_eq!(logins(&downstream), 2, "{}", downstream.server_log());
}

/// A relay list without the SDR and sensor commands: the shim's own repository describes the
/// analog sensors of the BMC behind (read from its SDRs and readings), with their thresholds.
#[test]
fn without_the_sdr_relayed_the_sensors_are_mapped() {
    let sim = IpmiSim::start();
    let bmc = start_proxy(
        &sim,
        "relay = [{ netfn = 0x0a, cmds = [0x10, 0x11], privilege = \"user\" }]",
    );
    let sdr = admin(&bmc, "sdr list");
    for line in [
        "CPU Temp         | 48 degrees C      | ok",
        "Fan 1            | 4800 RPM          | ok",
        "12V              | 12.10 Volts       | ok",
        "System Power     | 246 Watts         | ok",
    ] {
        assert!(sdr.contains(line), "{line}:\n{sdr}");
    }
    // The discrete power supply is not mapped: only analog sensors are.
    assert!(!sdr.contains("PSU1 Status"), "{sdr}");
    let sensors = admin(&bmc, "sensor list");
    let volts = sensors.lines().find(|l| l.starts_with("12V")).unwrap();
    let cells: Vec<&str> = volts.split('|').map(str::trim).collect();
    assert_eq!(
        cells[4..],
        ["na", "10.800", "11.400", "12.600", "13.200", "na"],
        "{sensors}"
    );
    let log = bmc.server_log();
    assert!(!log.contains("sensor readings unavailable"), "{log}");
}
