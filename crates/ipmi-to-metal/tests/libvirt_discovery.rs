//! `[[libvirt_discovery]]` end to end: the real binary serves one BMC per domain of the system
//! libvirtd whose name matches the filter, each on its own address from the pool; a domain
//! undefined while it runs loses its BMC; a restart keeps every domain on its address; `list`
//! shows them. The domains never start (no CPU spent on guests).

mod common;
use common::*;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use test_support::libvirt::{Domain, DomainConfig, TEST_DOMAIN_PREFIX};

/// The discovery's state file: domain UUID to address.
fn state(bmc: &Bmc) -> BTreeMap<String, SocketAddr> {
    let path = bmc.dir.path().join("bmc.toml.lab.domains.json");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn at(port: u16, args: &str) -> Run {
    ipmitool_at(port, "lanplus", &[], "admin", ADMIN_PASSWORD, args)
}

fn domain(name: &str) -> Domain {
    Domain::define(&DomainConfig {
        name: name.into(),
        ..DomainConfig::default()
    })
}

#[test]
fn matching_domains_get_bmcs_that_follow_the_host() {
    let served: Vec<Domain> = ["lab-a", "lab-b", "lab-c"].iter().map(|n| domain(n)).collect();
    let other = domain("web-1");
    let pool: Vec<String> = (0..4)
        .map(|_| format!("\"127.0.0.1:{}\"", free_port()))
        .collect();
    let port = free_port();
    // Only this test process's lab domains: others' test domains live in the same libvirtd.
    let glob = format!("{TEST_DOMAIN_PREFIX}{}-*-lab-*", std::process::id());
    let config = format!(
        "{}\n[[libvirt_discovery]]\nname = \"lab\"\nnames = \"{glob}\"\nlisten = [{}]\nrefresh_s = 1\n[[libvirt_discovery.users]]\nname = \"admin\"\npassword_file = \"admin.pass\"\nprivilege = \"administrator\"\n",
        standard_config(port, ""),
        pool.join(", ")
    );
    let bmc = Bmc::start_config(port, &config);
    assert!(
        common::eventually(30, || state(&bmc).len() == 3),
        "{:?}\n{}",
        state(&bmc),
        bmc.server_log()
    );
    let assigned = state(&bmc);
    assert!(!assigned.contains_key(other.uuid()));
    for d in &served {
        let addr = assigned[d.uuid()];
        assert!(
            eventually(15, || at(addr.port(), "chassis power status")
                .stdout
                .contains("Chassis Power is off")),
            "{} at {addr}\n{}",
            d.name(),
            bmc.server_log()
        );
        let fru = at(addr.port(), "fru print 0").out();
        assert!(fru.contains(d.name()), "{fru}");
    }

    // `list` shows each with its domain UUID, address and backend.
    let out = run(Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
        .args(["list", "--config"])
        .arg(bmc.dir.path().join("bmc.toml"))
        .env("TEST_VIEWER_PASSWORD", VIEWER_PASSWORD))
    .out();
    for d in &served {
        let line = out
            .lines()
            .find(|l| l.contains(d.uuid()))
            .unwrap_or_else(|| panic!("{} missing:\n{out}", d.name()));
        assert!(line.starts_with(d.name()), "{line}");
        assert!(line.contains(&assigned[d.uuid()].to_string()), "{line}");
        assert!(line.contains("libvirt (discovery lab"), "{line}");
    }
    assert!(!out.contains(other.name()), "{out}");

    // Undefined while running: its BMC stops.
    let mut served = served;
    let gone = served.remove(1);
    let gone_port = assigned[gone.uuid()].port();
    drop(gone);
    assert!(
        eventually(20, || !answers_ping(gone_port)),
        "{}",
        bmc.server_log()
    );
    // Defined while running: it gets a BMC.
    let new = domain("lab-d");
    assert!(eventually(20, || state(&bmc).contains_key(new.uuid())));

    // A restart keeps every domain on its address.
    let before = state(&bmc);
    let bmc = bmc.restart();
    for d in served.iter().chain([&new]) {
        let addr = before[d.uuid()];
        assert!(
            eventually(20, || at(addr.port(), "chassis power status")
                .stdout
                .contains("Chassis Power is off")),
            "{} not back at {addr}\n{}",
            d.name(),
            bmc.server_log()
        );
        assert_eq!(state(&bmc)[d.uuid()], addr);
    }
}
