//! Discovery split over several processes: two real servers with `shard = "0/2"` and `"1/2"`
//! over one project of 100 fake devices serve each device exactly once, and going to three
//! shards (listed with `list`, as each of the three would serve) moves about a third of them and
//! nothing else. `shard = "auto"` takes the index from the pod name and the count from
//! IPMI_TO_METAL_SHARDS.

mod common;
use common::metal::*;
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;

const DEVICES: u32 = 100;

/// `n` distinct free loopback ports (held open together while they are picked).
fn distinct_ports(n: usize) -> Vec<u16> {
    let held: Vec<UdpSocket> = (0..n)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect()
}

/// A configuration with the standard BMC on `port` and one discovery of the fake's project in
/// shard `shard`, its addresses from `pool`.
fn sharded_config(port: u16, fake: &FakeMetal, pool: &[u16], shard: &str) -> String {
    let pool: Vec<String> = pool.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect();
    format!(
        "{}\n[[metal_discovery]]\nname = \"metal\"\napi_url = \"{}\"\nallow_http = true\nproject_id = \"{PROJECT}\"\ntag = \"ipmi\"\ntoken_env = \"TEST_METAL_TOKEN\"\nlisten = [{}]\nrefresh_s = 1\nshard = \"{shard}\"\n[[metal_discovery.users]]\nname = \"admin\"\npassword_file = \"admin.pass\"\nprivilege = \"administrator\"\n",
        standard_config(port, ""),
        fake.url(),
        pool.join(", ")
    )
}

/// The discovery's state file: device id to address.
fn assigned(bmc: &Bmc) -> BTreeMap<String, SocketAddr> {
    let path = bmc.dir.path().join("bmc.toml.metal.devices.json");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The devices `list` shows for a configuration file (as its process would serve them), with
/// `env` set.
fn listed(config: &Path, env: &[(&str, &str)]) -> BTreeSet<String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"));
    cmd.args(["list", "--config"])
        .arg(config)
        .env("TEST_VIEWER_PASSWORD", VIEWER_PASSWORD)
        .env("TEST_METAL_TOKEN", METAL_TOKEN)
        .env_remove("STATE_DIRECTORY")
        .env_remove("POD_NAME")
        .env_remove("IPMI_TO_METAL_SHARDS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd).out();
    out.lines()
        .filter(|l| l.contains("metal (discovery metal"))
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .collect()
}

#[test]
fn shards_serve_each_device_once_and_a_new_shard_takes_about_a_third() {
    let devices: Vec<_> = (1..=DEVICES)
        .map(|n| device(n, "active", &["ipmi"]))
        .collect();
    let all: BTreeSet<String> = (1..=DEVICES).map(device_id).collect();
    let fake = FakeMetal::start(devices);
    let ports = distinct_ports(2 * DEVICES as usize + 2);
    let (pools, own) = ports.split_at(2 * DEVICES as usize);
    let (pool0, pool1) = pools.split_at(DEVICES as usize);
    let shard0 = Bmc::start_config(own[0], &sharded_config(own[0], &fake, pool0, "0/2"));
    let shard1 = Bmc::start_config(own[1], &sharded_config(own[1], &fake, pool1, "1/2"));

    // Each process serves its own devices, and together every device exactly once.
    let settled = eventually(60, || {
        assigned(&shard0).len() + assigned(&shard1).len() == DEVICES as usize
    });
    let (a0, a1) = (assigned(&shard0), assigned(&shard1));
    assert!(
        settled,
        "{} + {} devices assigned\n{}\n{}",
        a0.len(),
        a1.len(),
        shard0.server_log(),
        shard1.server_log()
    );
    let s0: BTreeSet<String> = a0.keys().cloned().collect();
    let s1: BTreeSet<String> = a1.keys().cloned().collect();
    assert!(s0.is_disjoint(&s1), "{:?}", s0.intersection(&s1));
    assert_eq!(&s0 | &s1, all);
    assert!(
        (30..=70).contains(&s0.len()),
        "an uneven split: {} and {}",
        s0.len(),
        s1.len()
    );
    for (assigned, pool) in [(&a0, pool0), (&a1, pool1)] {
        for (dev, addr) in assigned {
            assert!(
                pool.contains(&addr.port()),
                "{dev} at {addr}: not its shard's pool"
            );
            assert!(
                eventually(10, || answers_ping(addr.port())),
                "{dev} at {addr} does not answer"
            );
        }
    }
    for (bmc, n) in [(&shard0, s0.len()), (&shard1, s1.len())] {
        let log = bmc.server_log();
        assert_eq!(log.matches("device discovered").count(), n, "{log}");
    }
    let one = a0.values().next().unwrap().port();
    let status = ipmitool_at(
        one,
        "lanplus",
        &[],
        "admin",
        ADMIN_PASSWORD,
        "chassis power status",
    );
    assert_eq!(status.out().trim(), "Chassis Power is on");

    // `list` shows what each shard serves.
    let config0 = shard0.dir.path().join("bmc.toml");
    let config1 = shard1.dir.path().join("bmc.toml");
    assert_eq!(listed(&config0, &[]), s0);
    assert_eq!(listed(&config1, &[]), s1);

    // Three shards: each device in exactly one; the third takes about a third, from both of
    // the others, and no device moves between the first two.
    let three: Vec<BTreeSet<String>> = (0..3)
        .map(|i| {
            let text = std::fs::read_to_string(&config0)
                .unwrap()
                .replace("shard = \"0/2\"", &format!("shard = \"{i}/3\""));
            let path = shard0.dir.path().join(format!("three-{i}.toml"));
            std::fs::write(&path, text).unwrap();
            listed(&path, &[])
        })
        .collect();
    assert_eq!(&(&three[0] | &three[1]) | &three[2], all);
    assert_eq!(three.iter().map(BTreeSet::len).sum::<usize>(), all.len());
    assert!(three[0].is_subset(&s0), "{:?}", &three[0] - &s0);
    assert!(three[1].is_subset(&s1), "{:?}", &three[1] - &s1);
    let moved = three[2].len();
    assert!(
        (25..=42).contains(&moved),
        "{moved} of {DEVICES} devices moved to the new shard"
    );
    assert!(!three[2].is_disjoint(&s0) && !three[2].is_disjoint(&s1));

    // "auto": the ordinal of the pod name, the count from the environment.
    let auto = std::fs::read_to_string(&config1)
        .unwrap()
        .replace("shard = \"1/2\"", "shard = \"auto\"");
    let auto_path = shard1.dir.path().join("auto.toml");
    std::fs::write(&auto_path, auto).unwrap();
    let pod = [
        ("POD_NAME", "ipmi-to-metal-1"),
        ("IPMI_TO_METAL_SHARDS", "2"),
    ];
    assert_eq!(listed(&auto_path, &pod), s1);
    let check = run(Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
        .arg("check-config")
        .arg(&auto_path)
        .env("TEST_VIEWER_PASSWORD", VIEWER_PASSWORD)
        .env("TEST_METAL_TOKEN", METAL_TOKEN)
        .env("POD_NAME", "ipmi-to-metal-1")
        .env("IPMI_TO_METAL_SHARDS", "2"))
    .out();
    assert!(check.contains("shard 1/2"), "{check}");
    // Without the count, "auto" is a configuration error at the shard key.
    let missing = run(Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
        .arg("check-config")
        .arg(&auto_path)
        .env("TEST_VIEWER_PASSWORD", VIEWER_PASSWORD)
        .env("TEST_METAL_TOKEN", METAL_TOKEN)
        .env("POD_NAME", "ipmi-to-metal-1")
        .env_remove("IPMI_TO_METAL_SHARDS"));
    assert!(!missing.ok);
    assert!(
        missing.stderr.contains("auto.toml:") && missing.stderr.contains("IPMI_TO_METAL_SHARDS"),
        "{}",
        missing.stderr
    );
    fake.check_spec();
}
