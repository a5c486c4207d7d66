//! The ssh backend against a real sshd (throwaway keys, loopback port), the command backend with
//! small scripts, and a mixed BMC routing hard power to the fake Metal API and soft off to sshd.
//! Every command the tests configure is a harmless stand-in that leaves a marker file.

mod common;
use common::metal::*;
use common::*;
use std::process::Command;
use std::time::Duration;
use test_support::{IpmiSim, Sshd};

/// A `[bmc.ssh]` table for `sshd` with stand-in commands; `extra` is appended.
fn ssh_section(sshd: &Sshd, known_hosts: &std::path::Path, extra: &str) -> String {
    let m = sshd.markers().display().to_string();
    format!(
        "[bmc.ssh]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\nkey_file = \"{}\"\nknown_hosts = \"{}\"\nconnect_timeout_ms = 2000\ncommand_timeout_ms = 5000\nsoft_off = \"touch {m}/soft_off\"\ncycle = \"touch {m}/cycle\"\noff = \"touch {m}/off\"\nreset = \"touch {m}/reset\"\ndiag = \"touch {m}/diag\"\n{extra}\n",
        sshd.port,
        sshd.key_file().display(),
        known_hosts.display()
    )
}

fn ssh_bmc(sshd: &Sshd, known_hosts: &std::path::Path, extra: &str) -> Bmc {
    let port = free_port();
    Bmc::start_config(
        port,
        &config_with_backend(port, "ssh", &ssh_section(sshd, known_hosts, extra)),
    )
}

fn patient(bmc: &Bmc, args: &str) -> Run {
    ipmitool(bmc, "lanplus", &["-N", "4"], "admin", ADMIN_PASSWORD, args)
}

#[test]
fn ssh_runs_each_verb_on_the_host_and_status_follows_reachability() {
    let sshd = Sshd::start();
    let bmc = ssh_bmc(&sshd, &sshd.known_hosts(), "");
    assert_eq!(
        patient(&bmc, "chassis power status").out().trim(),
        "Chassis Power is on"
    );
    for (verb, marker) in [
        ("soft", "soft_off"),
        ("diag", "diag"),
        ("reset", "reset"),
        ("cycle", "cycle"),
        ("off", "off"),
    ] {
        patient(&bmc, &format!("chassis power {verb}")).out();
        assert!(sshd.marked(marker), "{verb}: {}", bmc.server_log());
    }
    // A running host is on already; no command for that.
    patient(&bmc, "chassis power on").out();
    let log = bmc.server_log();
    assert!(log.contains("power action over SSH"), "{log}");
    assert!(log.contains("action=soft who=user=\"admin\""), "{log}");
    // The host stops answering: off (the default for an unreachable host), in time.
    let port = sshd.port;
    let dir = sshd.stop();
    let t = std::time::Instant::now();
    assert_eq!(
        patient(&bmc, "chassis power status").out().trim(),
        "Chassis Power is off"
    );
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    // Back: on again.
    let _sshd = Sshd::start_at(port, Some(dir));
    assert!(eventually(10, || patient(&bmc, "chassis power status")
        .stdout
        .trim()
        == "Chassis Power is on"));
}

#[test]
fn a_changed_host_key_is_refused_with_a_clear_log_line() {
    let sshd = Sshd::start();
    let bmc = ssh_bmc(&sshd, &sshd.wrong_known_hosts(), "");
    let r = patient(&bmc, "chassis power soft");
    assert!(r.all().contains("Unspecified error"), "{}", r.all());
    assert!(
        !sshd.marked("soft_off"),
        "nothing ran on a host whose key changed"
    );
    let log = bmc.server_log();
    assert!(
        log.contains("host key of the host is unknown or has changed"),
        "{log}"
    );
}

#[test]
fn an_unreachable_host_gets_a_completion_code_in_time() {
    let sshd = Sshd::start();
    let known = sshd.known_hosts();
    let closed = test_support::free_tcp_port();
    let port = free_port();
    let section = ssh_section(&sshd, &known, "unreachable = \"unknown\"").replace(
        &format!("port = {}", sshd.port),
        &format!("port = {closed}"),
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "ssh", &section));
    let t = std::time::Instant::now();
    let r = patient(&bmc, "chassis power status");
    assert!(r.all().contains("Timeout"), "{}", r.all());
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    assert!(
        bmc.server_log().contains("host unreachable over SSH"),
        "{}",
        bmc.server_log()
    );
    // A soft off that could not reach the host is not reported done.
    let soft = patient(&bmc, "chassis power soft");
    assert!(soft.all().contains("Timeout"), "{}", soft.all());
}

#[test]
fn a_shutdown_that_cuts_the_connection_counts_as_done() {
    let sshd = Sshd::start();
    let m = sshd.markers().display().to_string();
    let port = free_port();
    // The stand-in kills its own SSH session, as a reboot would. A reboot cuts the connection
    // some time after the command started, not within microseconds of it: without the pause the
    // kill can beat the started marker through sshd's buffers (seen under load), and the test
    // would measure that race rather than the backend.
    let section = ssh_section(&sshd, &sshd.known_hosts(), "").replace(
        &format!("cycle = \"touch {m}/cycle\""),
        &format!("cycle = \"touch {m}/cycle; sleep 0.3; kill -9 $PPID\""),
    );
    assert!(section.contains("kill -9"));
    let bmc = Bmc::start_config(port, &config_with_backend(port, "ssh", &section));
    let r = patient(&bmc, "chassis power cycle");
    assert!(
        r.all().contains("Cycle"),
        "{}\n{}",
        r.all(),
        bmc.server_log()
    );
    assert!(sshd.marked("cycle"));
    assert!(
        bmc.server_log()
            .contains("connection closed by the shutdown"),
        "{}",
        bmc.server_log()
    );
    // The next command connects afresh.
    patient(&bmc, "chassis power diag").out();
    assert!(sshd.marked("diag"));
}

#[test]
fn host_local_ipmitool_reaches_the_hosts_bmc() {
    let sshd = Sshd::start();
    let sim = IpmiSim::start();
    let pass = sshd.markers().join("bmc.pass");
    std::fs::write(&pass, test_support::SIM_PASSWORD).unwrap();
    let local = format!(
        "local_ipmitool = \"-I lanplus -C 3 -H 127.0.0.1 -p {} -U admin -f {}\"",
        sim.addr.port(),
        pass.display()
    );
    let bmc = ssh_bmc(&sshd, &sshd.known_hosts(), &local);
    assert_eq!(
        patient(&bmc, "chassis power status").out().trim(),
        "Chassis Power is on"
    );
    patient(&bmc, "chassis power off").out();
    assert_eq!(sim.power(), "0");
    assert_eq!(
        patient(&bmc, "chassis power status").out().trim(),
        "Chassis Power is off"
    );
    patient(&bmc, "chassis bootdev pxe").out();
    assert_eq!(sim.boot(), "pxe");
}

/// A BMC with the command backend; `section` is its `[bmc.command]` table.
fn command_bmc(section: &str) -> Bmc {
    let port = free_port();
    Bmc::start_config(port, &config_with_backend(port, "command", section))
}

#[test]
fn command_backend_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let script = dir.path().join("pdu.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n# A stand-in PDU: state in a file; every call logged with its environment.\necho \"$IPMI_BMC $IPMI_OPERATION $IPMI_USER $IPMI_BOOT_DEVICE $1\" >> {d}/calls\ncase \"$1\" in\nstatus) cat {d}/state 2>/dev/null || echo on;;\non) echo on > {d}/state;;\noff) echo off > {d}/state;;\ncycle) exit 3;;\nreset) echo 'relay stuck' >&2; exit 1;;\ndiag) sleep 60; touch {d}/after_sleep;;\nsoft) head -c 5000000 /dev/zero; echo off > {d}/state;;\nboot) ;;\nesac\n"
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    let bmc = command_bmc(&format!(
        "[bmc.command]\nrun = [\"{}\"]\ntimeout_ms = 1000\n",
        script.display()
    ));
    assert_eq!(
        patient(&bmc, "chassis power status").out().trim(),
        "Chassis Power is on"
    );
    patient(&bmc, "chassis power off").out();
    assert_eq!(
        patient(&bmc, "chassis power status").out().trim(),
        "Chassis Power is off"
    );
    let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
    assert!(calls.contains("node1 off admin  off"), "{calls}");
    // Exit 3: not possible in the present state (0xD5).
    let cycle = patient(&bmc, "chassis power cycle");
    assert!(
        cycle.all().contains("not supported in present state"),
        "{}",
        cycle.all()
    );
    // Exit 1: a failure (0xFF), its stderr in the log.
    let reset = patient(&bmc, "chassis power reset");
    assert!(reset.all().contains("Unspecified error"), "{}", reset.all());
    assert!(
        bmc.server_log().contains("relay stuck"),
        "{}",
        bmc.server_log()
    );
    // Hung: killed at its timeout (0xC3), and its children with it.
    let t = std::time::Instant::now();
    let diag = patient(&bmc, "chassis power diag");
    assert!(diag.all().contains("Timeout"), "{}", diag.all());
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert!(bmc.server_log().contains("program killed at its timeout"));
    // Huge output: read, bounded, and the operation still succeeds.
    patient(&bmc, "chassis power on").out();
    patient(&bmc, "chassis power soft").out();
    assert_eq!(
        patient(&bmc, "chassis power status").out().trim(),
        "Chassis Power is off"
    );
    // Boot device in the environment.
    patient(&bmc, "chassis bootdev pxe").out();
    let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
    assert!(calls.contains("node1 boot admin pxe boot"), "{calls}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !dir.path().join("after_sleep").exists(),
        "the hung program was killed"
    );
}

#[test]
fn mixed_bmc_hard_power_by_metal_soft_by_ssh_then_hard_after_the_deadline() {
    let fake = FakeMetal::start(vec![device(21, "active", &[])]);
    let sshd = Sshd::start();
    let port = free_port();
    let section = format!(
        "[bmc.metal]\napi_url = \"{}\"\nallow_http = true\ndevice_id = \"{}\"\ntoken_env = \"TEST_METAL_TOKEN\"\ncache_ms = 200\n{}[bmc.routes]\nsoft = [\"ssh\", \"metal\"]\ndiag = \"ssh\"\nsensors = \"ssh\"\nsoft_deadline_s = 2\n",
        fake.url(),
        device_id(21),
        ssh_section(&sshd, &sshd.known_hosts(), "")
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "metal", &section));
    // check-config prints the routing table.
    let out = common::run(
        Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
            .arg("check-config")
            .arg(bmc.dir.path().join("bmc.toml"))
            .env("TEST_VIEWER_PASSWORD", VIEWER_PASSWORD)
            .env("TEST_METAL_TOKEN", METAL_TOKEN),
    )
    .out();
    assert!(
        out.contains(
            "route soft          ssh -> metal (hard off by the next if not off within 2s)"
        ),
        "{out}"
    );
    assert!(out.contains("route off           metal"), "{out}");
    assert!(out.contains("route diag          ssh"), "{out}");
    // Diag goes to the host; hard power to the API.
    patient(&bmc, "chassis power diag").out();
    assert!(sshd.marked("diag"));
    assert!(fake.device(21).actions.is_empty());
    // A power action after the soft off (here: on, a no-op on a running machine) calls the
    // fallback off: nothing is powered off hard behind the operator's back.
    patient(&bmc, "chassis power soft").out();
    patient(&bmc, "chassis power on").out();
    std::thread::sleep(Duration::from_millis(3500));
    assert!(fake.device(21).actions.is_empty(), "{:?}", fake.device(21));
    assert!(
        bmc.server_log()
            .contains("the soft-off fallback stands down"),
        "{}",
        bmc.server_log()
    );
    std::fs::remove_file(sshd.markers().join("soft_off")).unwrap();
    // Soft: the graceful command runs on the host; the stand-in does not shut it down, so after
    // the deadline the API powers it off hard.
    patient(&bmc, "chassis power soft").out();
    assert!(sshd.marked("soft_off"));
    assert_eq!(
        fake.device(21).state,
        "active",
        "not yet: the graceful way has its deadline"
    );
    assert!(
        eventually(10, || fake.device(21).actions == ["power_off"]),
        "{}",
        bmc.server_log()
    );
    assert!(bmc
        .server_log()
        .contains("still on after the soft-off deadline: powering off hard"));
    assert!(eventually(10, || patient(&bmc, "chassis power status")
        .stdout
        .trim()
        == "Chassis Power is off"));
    patient(&bmc, "chassis power on").out();
    assert_eq!(fake.device(21).actions, ["power_off", "power_on"]);
    fake.check_spec();
}
