//! Serial over LAN from each backend's console source, through ipmitool in a real terminal:
//! the command backend's console program, the ssh backend's command on the host with a PTY
//! (through sshd), and the metal backend's SOS console (through an sshd standing in for the SOS
//! host, found from the device's facility through the fake Metal API); the console log across a
//! restart of the source.

mod common;

use common::tty::admin_console;
use common::*;

/// A console program for the command source: says it is ready, then answers each line typed
/// (ended by CR, as a terminal sends it) in capitals. Python, so that nothing buffers.
const ECHO_CONSOLE: &str = r#"import os
os.write(1, b"command console ready\r\n")
buf = b""
while True:
    b = os.read(0, 1024)
    if not b:
        break
    buf += b
    while b"\r" in buf:
        line, buf = buf.split(b"\r", 1)
        os.write(1, b"GOT: " + line.upper() + b"\r\n")
"#;

#[test]
fn command_source_console_through_sol() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("console.py");
    std::fs::write(&script, ECHO_CONSOLE).unwrap();
    let section = format!(
        "[bmc.command]\nstatus = [\"echo\", \"on\"]\nconsole = [\"python3\", \"-u\", \"{}\"]\n\n[bmc.console]\nreplay_kib = 1\n",
        script.display()
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "command", &section));
    let tty = admin_console(&bmc, "command");
    // What the program printed before anyone attached comes first (replay), then the answers.
    tty.wait_for("command console ready", 10);
    tty.line("hello sol");
    tty.wait_for("GOT: HELLO SOL", 10);
}

#[test]
fn console_log_marks_a_source_restart_and_keeps_both_runs() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("runs");
    // Each run of the source prints its number and ends a moment later.
    let script = format!(
        "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}; echo \"source run $n\"; sleep 0.3",
        c = count.display()
    );
    let section = format!(
        "[bmc.command]\nshell = true\nstatus = [\"echo on\"]\nconsole = [{script:?}]\n\n[bmc.console]\nlog = \"node1-console.log\"\n"
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "command", &section));
    let log = bmc.dir.path().join("node1-console.log");
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        eventually(15, || text().contains("source run 2")),
        "{}",
        text()
    );
    let t = text();
    let (one, lost, two) = (
        t.find("source run 1").unwrap(),
        t.find("console lost: the console closed")
            .expect("the gap is marked"),
        t.find("source run 2").unwrap(),
    );
    assert!(one < lost && lost < two, "{t}");
}

/// A `[bmc.ssh]` table for `sshd` whose console command says it is up (leaving a marker) and
/// answers each line.
fn ssh_console_section(sshd: &test_support::Sshd, known_hosts: &std::path::Path) -> String {
    let marker = sshd.markers().join("console");
    format!(
        "[bmc.ssh]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\nkey_file = \"{}\"\nknown_hosts = \"{}\"\nconsole = \"touch {}; echo ssh console up; while read l; do echo \\\"host says: $l\\\"; done\"\n",
        sshd.port,
        sshd.key_file().display(),
        known_hosts.display(),
        marker.display()
    )
}

#[test]
fn ssh_source_runs_the_console_command_with_a_pty_and_checks_the_host_key() {
    let sshd = test_support::Sshd::start();
    let port = free_port();
    let section = format!(
        "{}\n[bmc.console]\nreplay_kib = 1\n",
        ssh_console_section(&sshd, &sshd.known_hosts())
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "ssh", &section));
    let tty = admin_console(&bmc, "ssh");
    tty.wait_for("ssh console up", 20);
    tty.line("hello host");
    tty.wait_for("host says: hello host", 10);
    assert!(sshd.marked("console"));
    drop(tty);
    drop(bmc);

    // A host whose key is not the known one: ssh refuses, the console command never runs.
    let sshd = test_support::Sshd::start();
    let port = free_port();
    let section = format!(
        "{}\n[bmc.console]\nlog = \"c.log\"\n",
        ssh_console_section(&sshd, &sshd.wrong_known_hosts())
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "ssh", &section));
    let log = bmc.dir.path().join("c.log");
    assert!(
        eventually(10, || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains("Host key verification failed"))),
        "{:?}",
        std::fs::read_to_string(&log)
    );
    assert!(!sshd.marked("console"));
}

#[test]
fn metal_source_is_the_sos_console_of_the_devices_facility() {
    use common::metal::{device, device_id, FakeMetal};
    let sshd = test_support::Sshd::start();
    // The stand-in SOS host is this machine: the device's facility names it. (The user is root:
    // a device id cannot be a local account.)
    let mut d = device(1, "active", &[]);
    d.facility = "localhost".into();
    let fake = FakeMetal::start(vec![d]);
    let known = sshd.known_hosts();
    let known_localhost = known.with_file_name("known_hosts_localhost");
    std::fs::write(
        &known_localhost,
        std::fs::read_to_string(&known)
            .unwrap()
            .replace("[127.0.0.1]", "[localhost]"),
    )
    .unwrap();
    let port = free_port();
    let section = format!(
        "[bmc.metal]\napi_url = \"{}\"\nallow_http = true\ndevice_id = \"{}\"\ntoken_env = \"TEST_METAL_TOKEN\"\nsos_key_file = \"{}\"\nsos_known_hosts = \"{}\"\nsos_host = \"{{facility}}\"\nsos_port = {}\nsos_user = \"root\"\n",
        fake.url(),
        device_id(1),
        sshd.key_file().display(),
        known_localhost.display(),
        sshd.port
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "metal", &section));
    let tty = admin_console(&bmc, "sos");
    // A shell on the stand-in's PTY: an answer that was never typed.
    tty.line("echo sos-$((6*7))");
    tty.wait_for("sos-42", 20);
    assert!(
        bmc.server_log()
            .contains(r#"console over SOS host="localhost" user="root""#),
        "{}",
        bmc.server_log()
    );
}

#[test]
fn ipmi_source_relays_the_sol_of_ipmi_sim() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    // The machine's serial port: a TCP server the simulator connects to.
    let serial = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sim = test_support::IpmiSim::start_with_sol(serial.local_addr().unwrap());
    serial.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut port_side = loop {
        match serial.accept() {
            Ok((s, _)) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("ipmi_sim did not connect to its serial port: {e}"),
        }
    };
    port_side.set_nonblocking(false).unwrap();
    port_side
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let port = free_port();
    let section = format!(
        "[bmc.ipmi]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"admin\"\npassword_env = \"TEST_SIM_PASSWORD\"\nsol = true\n\n[bmc.console]\nlog = \"c.log\"\n",
        sim.addr.port()
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "ipmi", &section));
    assert!(
        eventually(15, || bmc
            .server_log()
            .contains("SOL of the BMC behind activated")),
        "{}",
        bmc.server_log()
    );
    // Printed on the serial port while nobody is attached to the shim: in the log.
    port_side.write_all(b"machine says hello\r\n").unwrap();
    let log = bmc.dir.path().join("c.log");
    assert!(
        eventually(10, || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains("machine says hello"))),
        "{}",
        bmc.server_log()
    );
    // Through SOL both ways.
    let tty = admin_console(&bmc, "ipmi");
    port_side.write_all(b"login from the real BMC: ").unwrap();
    tty.wait_for("login from the real BMC: ", 10);
    tty.line("typed-through-two-sols");
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let until = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&got).contains("typed-through-two-sols\r") {
        assert!(
            Instant::now() < until,
            "the serial port got {:?}",
            String::from_utf8_lossy(&got)
        );
        if let Ok(n) = port_side.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
}
