//! Discovery by tag end to end: the real binary lists a fake Metal project (over several pages),
//! serves one BMC per tagged device on addresses from a pool, follows devices added and removed
//! while it runs, keeps each device on its address across a restart, and `list` shows them.

mod common;
use common::metal::*;
use common::*;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;

fn state(bmc: &Bmc) -> BTreeMap<String, SocketAddr> {
    let path = bmc.dir.path().join("bmc.toml.metal.devices.json");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn power_status_at(port: u16) -> String {
    ipmitool_at(
        port,
        "lanplus",
        &[],
        "admin",
        ADMIN_PASSWORD,
        "chassis power status",
    )
    .stdout
    .trim()
    .to_string()
}

#[test]
fn tagged_devices_get_bmcs_that_follow_the_project() {
    // 7 tagged devices (two pages of 5), 2 untagged, 1 tagged in another project.
    let mut devices: Vec<_> = (1..=7).map(|n| device(n, "active", &["ipmi"])).collect();
    devices.push(device(8, "active", &["web"]));
    devices.push(device(9, "active", &[]));
    let mut other = device(10, "active", &["ipmi"]);
    other.project_id = "0f0c3a4e-2222-4a5e-9d7e-000000000000".into();
    devices.push(other);
    let fake = FakeMetal::start(devices);
    let pool: Vec<String> = (0..12)
        .map(|_| format!("\"127.0.0.1:{}\"", free_port()))
        .collect();
    let port = free_port();
    let config = format!(
        "{}\n[[metal_discovery]]\nname = \"metal\"\napi_url = \"{}\"\nallow_http = true\nproject_id = \"{PROJECT}\"\ntag = \"ipmi\"\ntoken_env = \"TEST_METAL_TOKEN\"\nlisten = [{}]\nrefresh_s = 1\nper_page = 5\n[[metal_discovery.users]]\nname = \"admin\"\npassword_file = \"admin.pass\"\nprivilege = \"administrator\"\n",
        standard_config(port, ""),
        fake.url(),
        pool.join(", ")
    );
    let bmc = Bmc::start_config(port, &config);
    assert!(
        eventually(20, || state(&bmc).len() == 7),
        "{:?}\n{}",
        state(&bmc),
        bmc.server_log()
    );
    let assigned = state(&bmc);
    assert!(!assigned.contains_key(&device_id(8)) && !assigned.contains_key(&device_id(10)));
    for (dev, addr) in &assigned {
        assert!(
            eventually(10, || answers_ping(addr.port())),
            "{dev} at {addr}"
        );
    }
    let one = assigned[&device_id(3)].port();
    assert_eq!(power_status_at(one), "Chassis Power is on");
    let fru = ipmitool_at(one, "lanplus", &[], "admin", ADMIN_PASSWORD, "fru print 0").out();
    assert!(
        fru.contains("Product Asset Tag     : metal-node-3"),
        "{fru}"
    );

    // Added while running.
    fake.fake.add_device(device(11, "inactive", &["ipmi"]));
    assert!(
        eventually(20, || state(&bmc).contains_key(&device_id(11))),
        "{}",
        bmc.server_log()
    );
    let new = state(&bmc)[&device_id(11)].port();
    assert!(eventually(10, || power_status_at(new) == "Chassis Power is off"));
    // Removed while running, and in the same refresh another device with its host name added:
    // the old BMC stops answering, the new device gets a BMC of its own.
    let mut twin = device(12, "active", &["ipmi"]);
    twin.hostname = "metal-node-2".into();
    fake.fake.remove_device(&device_id(2));
    fake.fake.add_device(twin);
    assert!(eventually(20, || state(&bmc).contains_key(&device_id(12))));
    let twin_port = state(&bmc)[&device_id(12)].port();
    assert!(
        eventually(10, || answers_ping(twin_port)),
        "{}",
        bmc.server_log()
    );
    let fru = ipmitool_at(
        twin_port,
        "lanplus",
        &[],
        "admin",
        ADMIN_PASSWORD,
        "fru print 0",
    )
    .out();
    assert!(fru.contains(&device_id(12)), "{fru}");
    let gone = assigned[&device_id(2)].port();
    assert!(
        eventually(20, || !answers_ping(gone)),
        "{}",
        bmc.server_log()
    );
    assert!(
        bmc.server_log().contains("device gone"),
        "{}",
        bmc.server_log()
    );

    // `list` shows every BMC with its device, address and backend.
    let out = run(Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
        .args(["list", "--config"])
        .arg(bmc.dir.path().join("bmc.toml"))
        .env("TEST_VIEWER_PASSWORD", VIEWER_PASSWORD)
        .env("TEST_METAL_TOKEN", METAL_TOKEN))
    .out();
    assert!(out.contains("node1 "), "{out}");
    for n in [1u32, 3, 11] {
        let addr = state(&bmc)[&device_id(n)];
        let line = out
            .lines()
            .find(|l| l.contains(&device_id(n)))
            .unwrap_or_else(|| panic!("device {n} missing:\n{out}"));
        assert!(line.starts_with(&format!("metal-node-{n} ")), "{line}");
        assert!(
            line.contains(&addr.to_string()) && line.contains("metal (discovery metal"),
            "{line}"
        );
    }
    assert!(!out.contains(&device_id(2)), "{out}");

    // After a restart every device is on the same address.
    let before = state(&bmc);
    let bmc = bmc.restart();
    for n in [1u32, 3, 11] {
        let addr = before[&device_id(n)];
        assert!(
            eventually(20, || answers_ping(addr.port())),
            "device {n} at {addr}"
        );
    }
    assert_eq!(state(&bmc), before);
    assert_eq!(
        power_status_at(before[&device_id(1)].port()),
        "Chassis Power is on"
    );
    fake.check_spec();
}

/// Issue 19, defect 7: devices without a free address are said once per listing (one summary
/// line naming a few, not a warning per device and listing) and counted in
/// `discovery_devices{state="unserved"}`.
#[test]
fn devices_left_without_an_address_are_one_line_per_listing_and_a_metric() {
    let fake = FakeMetal::start((1..=6).map(|n| device(n, "active", &["ipmi"])).collect());
    let pool: Vec<String> = (0..2)
        .map(|_| format!("\"127.0.0.1:{}\"", free_port()))
        .collect();
    let (port, admin_port) = (free_port(), test_support::free_tcp_port());
    let config = format!(
        "{}\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken_file = \"admin.pass\"\nopen = [\"metrics\"]\n\n[[metal_discovery]]\nname = \"metal\"\napi_url = \"{}\"\nallow_http = true\nproject_id = \"{PROJECT}\"\ntag = \"ipmi\"\ntoken_env = \"TEST_METAL_TOKEN\"\nlisten = [{}]\nrefresh_s = 1\n[[metal_discovery.users]]\nname = \"admin\"\npassword_file = \"admin.pass\"\nprivilege = \"administrator\"\n",
        standard_config(port, ""),
        fake.url(),
        pool.join(", ")
    );
    let bmc = Bmc::start_config(port, &config);
    let summaries = || {
        bmc.server_log()
            .matches("discovery listing applied: some devices are not served")
            .count()
    };
    assert!(eventually(20, || summaries() >= 3), "{}", bmc.server_log());
    let log = bmc.server_log();
    // Two served; the four others only ever in the listings' summary lines (at most five
    // named in each), never a line each per listing.
    assert_eq!(state(&bmc).len(), 2);
    assert!(
        log.contains("no_free_address=4") && log.contains("started=2"),
        "{log}"
    );
    let ids: Vec<String> = (1..=6).map(device_id).collect();
    for line in log
        .lines()
        .filter(|l| ids.iter().any(|id| l.contains(id.as_str())))
    {
        assert!(
            line.contains("discovery listing applied") || line.contains("device discovered"),
            "{line}"
        );
    }
    let metrics = common::admin::http(admin_port, "GET", "/metrics", None, "").1;
    assert!(
        metrics.contains("discovery_devices{discovery=\"metal\",state=\"unserved\"} 4"),
        "{metrics}"
    );
}
