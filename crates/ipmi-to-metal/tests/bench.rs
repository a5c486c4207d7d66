//! `ipmi-to-metal bench` against three implementations (ipmi-to-metal on the sim, OpenIPMI's
//! `ipmi_sim`, a pyghmi BMC), and its answers and completion codes compared with ipmitool's.

mod common;
use common::*;
use std::process::{Command, Stdio};
use test_support::{IpmiSim, SIM_PASSWORD};

/// What one `bench` row and its sample answer say.
#[derive(Debug)]
struct Row {
    ok: u64,
    ccode_errors: u64,
    failed: u64,
    logins: u64,
    answer: String,
}

/// Runs `ipmi-to-metal bench` with the password in IPMI_PASSWORD and reads its one row.
fn bench(port: u16, password: &str, args: &[&str]) -> Row {
    let mut cmd = Command::new("timeout");
    cmd.arg("60")
        .arg(env!("CARGO_BIN_EXE_ipmi-to-metal"))
        .args(["bench", "-q", "-t", &format!("t=127.0.0.1:{port}")])
        .args(args)
        .env("IPMI_PASSWORD", password);
    let out = run(&mut cmd).out();
    let row = out
        .lines()
        .find(|l| l.starts_with("t "))
        .unwrap_or_else(|| panic!("no result row in:\n{out}"));
    let f: Vec<&str> = row.split_whitespace().collect();
    let n = |i: usize| f[i].parse::<u64>().unwrap_or_else(|_| panic!("{row}"));
    let answer = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("answer: "))
        .unwrap_or_default()
        .to_string();
    Row {
        ok: n(2),
        ccode_errors: n(3),
        failed: n(4),
        logins: n(9),
        answer,
    }
}

/// What one open-loop (`--rate`) row says.
#[derive(Debug)]
struct OpenRow {
    asked: f64,
    achieved: f64,
    scheduled: u64,
    ok: u64,
    ccode_errors: u64,
    failed: u64,
    late: u64,
    /// p50, p90, p99, p99.9, max, in ms.
    latencies: [f64; 5],
    send_lag_p99: f64,
    logins: u64,
}

/// Runs `ipmi-to-metal bench --rate ...` against the BMCs on `ports` and reads its one row.
fn open_bench(ports: &[u16], args: &[&str]) -> OpenRow {
    let mut cmd = Command::new("timeout");
    cmd.arg("60")
        .arg(env!("CARGO_BIN_EXE_ipmi-to-metal"))
        .args(["bench", "-q"]);
    for p in ports {
        cmd.args(["-t", &format!("t=127.0.0.1:{p}")]);
    }
    cmd.args(args).env("IPMI_PASSWORD", ADMIN_PASSWORD);
    let out = run(&mut cmd).out();
    let header = out
        .lines()
        .find(|l| l.starts_with("target "))
        .unwrap_or_else(|| panic!("no header in:\n{out}"));
    assert!(
        header.contains("p99.9 ms") && header.contains("late"),
        "{header}"
    );
    let row = out
        .lines()
        .find(|l| l.starts_with("t "))
        .unwrap_or_else(|| panic!("no result row in:\n{out}"));
    let f: Vec<&str> = row.split_whitespace().collect();
    let n = |i: usize| f[i].parse::<u64>().unwrap_or_else(|_| panic!("{row}"));
    let x = |i: usize| f[i].parse::<f64>().unwrap_or_else(|_| panic!("{row}"));
    OpenRow {
        asked: x(1),
        achieved: x(2),
        scheduled: n(3),
        ok: n(4),
        ccode_errors: n(5),
        failed: n(6),
        late: n(7),
        latencies: [x(8), x(9), x(10), x(11), x(12)],
        send_lag_p99: x(13),
        logins: n(14),
    }
}

/// The pid of the `ipmi-to-metal serve` started for `bmc` (found by its configuration path).
fn server_pid(bmc: &Bmc) -> u32 {
    let config = bmc.dir.path().join("bmc.toml");
    let config = config.to_str().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(config))
        })
        .expect("the server's process")
}

#[test]
fn open_loop_bench_keeps_its_schedule_and_measures_from_intended_send_times() {
    let a = Bmc::start();
    let b = Bmc::start();
    let r = open_bench(&[a.port, b.port], &["--rate", "400", "-d", "2"]);
    // 400/s for 2 s is 800 requests, all sent and answered, over 8 sessions (the default; at
    // least one per target), each logged in once before the schedule starts.
    assert_eq!(r.asked, 400.0, "{r:?}");
    assert_eq!(r.scheduled, 800, "{r:?}");
    assert_eq!((r.ok, r.ccode_errors, r.failed), (800, 0, 0), "{r:?}");
    assert_eq!(r.logins, 8, "{r:?}");
    // The achieved rate is the asked one: the schedule does not wait for the answers.
    assert!(
        r.achieved > 0.9 * r.asked && r.achieved <= 1.01 * r.asked,
        "{r:?}"
    );
    let [p50, p90, p99, p999, max] = r.latencies;
    assert!(p50 > 0.0, "latencies measured: {r:?}");
    assert!(
        p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max,
        "{r:?}"
    );
    assert!(r.late < r.scheduled / 2, "{r:?}");
    // Each answer comes after its request went out, so the send lag stays below the latency.
    assert!(r.send_lag_p99 <= p99, "{r:?}");

    // The server stalls for 400 ms in the middle of the run (SIGSTOP): every request due
    // meanwhile waits, and its latency counts from when it should have gone out, so about a
    // fifth of them are slow, not only the one in flight on each session (which is all a
    // closed loop would see: coordinated omission).
    let pid = server_pid(&a).to_string();
    let stall = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(800));
        let stop = Command::new("kill").args(["-STOP", &pid]).status();
        std::thread::sleep(std::time::Duration::from_millis(400));
        let cont = Command::new("kill").args(["-CONT", &pid]).status();
        assert!(stop.is_ok_and(|s| s.success()) && cont.is_ok_and(|s| s.success()));
    });
    let r = open_bench(&[a.port], &["--rate", "400", "-d", "2"]);
    stall.join().unwrap();
    assert_eq!((r.ok, r.failed), (800, 0), "{r:?}");
    let [_, p90, _, _, max] = r.latencies;
    assert!(p90 >= 50.0 && max >= 300.0, "the stall shows: {r:?}");
    assert!(
        r.late >= 100 && r.send_lag_p99 >= 100.0,
        "requests due during the stall went out late: {r:?}"
    );

    // A BMC that is not there: the first login fails, then each scheduled request fails with
    // its own login, none is counted as answered, and the run still ends.
    let r = open_bench(
        &[free_port()],
        &[
            "--rate",
            "20",
            "-d",
            "1",
            "-s",
            "1",
            "--retries",
            "0",
            "--timeout-ms",
            "100",
        ],
    );
    assert_eq!((r.scheduled, r.ok, r.logins), (20, 0, 0), "{r:?}");
    assert_eq!(r.failed, 21, "{r:?}");

    // The open loop measures requests in sessions, not logins.
    let out = run(Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
        .args(["bench", "-q", "-t", &format!("127.0.0.1:{}", a.port)])
        .args(["--rate", "10", "--mode", "logins"])
        .env("IPMI_PASSWORD", ADMIN_PASSWORD));
    assert!(
        !out.ok && out.all().contains("--rate measures requests"),
        "{}",
        out.all()
    );
}

/// The data bytes of an `ipmitool raw` answer, as bench prints them.
fn raw_bytes(out: &str) -> String {
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn bench_agrees_with_ipmitool_on_answers_and_completion_codes() {
    let bmc = Bmc::start();
    let r = bench(
        bmc.port,
        ADMIN_PASSWORD,
        &["-s", "2", "-n", "200", "--request", "0x06 0x01"],
    );
    assert!(r.ok >= 200 && r.failed == 0 && r.ccode_errors == 0, "{r:?}");
    assert_eq!(r.logins, 2, "{r:?}");
    let ipmitool_says = raw_bytes(&admin(&bmc, "raw 0x06 0x01"));
    assert_eq!(r.answer, format!("ccode=0x00 data={ipmitool_says}"));

    // IPMI 1.5 sessions and whole logins.
    let r = bench(
        bmc.port,
        ADMIN_PASSWORD,
        &["-I", "lan", "-s", "2", "-n", "50"],
    );
    assert!(r.ok >= 50 && r.failed == 0, "{r:?}");
    let r = bench(
        bmc.port,
        ADMIN_PASSWORD,
        &["--mode", "logins", "-s", "2", "-n", "30"],
    );
    assert!(r.logins >= 30 && r.failed == 0, "{r:?}");

    // A user-level session asking for power off: every answer 0xD4, as ipmitool sees it, and
    // the machine stays on.
    let r = bench(
        bmc.port,
        VIEWER_PASSWORD,
        &[
            "-U",
            "viewer",
            "-L",
            "user",
            "-n",
            "20",
            "--request",
            "0x00 0x02 0x00",
        ],
    );
    assert_eq!((r.ok, r.failed), (0, 0), "{r:?}");
    assert!(r.ccode_errors >= 20, "{r:?}");
    assert!(
        r.answer.starts_with("ccode=0xD4") || r.answer.starts_with("ccode=0xd4"),
        "{r:?}"
    );
    let viewer = ipmitool(
        &bmc,
        "lanplus",
        &["-L", "USER"],
        "viewer",
        VIEWER_PASSWORD,
        "raw 0x00 0x02 0x00",
    );
    assert!(viewer.all().contains("rsp=0xd4"), "{}", viewer.all());
    assert_eq!(
        admin(&bmc, "chassis power status").trim(),
        "Chassis Power is on"
    );

    // A wrong password: failures counted, nothing answered.
    let r = bench(
        bmc.port,
        "wrong-password",
        &["-d", "1", "--retries", "0", "--timeout-ms", "200"],
    );
    assert_eq!(r.ok, 0, "{r:?}");
    assert!(r.failed > 0, "{r:?}");
}

/// A pyghmi BMC (bench/pyghmi_bmc.py) on a free port.
fn pyghmi_bmc(port: u16) -> Killed {
    let python = require("python3", "python3");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/pyghmi_bmc.py");
    let child = Command::new(python)
        .arg(script)
        .arg(port.to_string())
        .env("IPMI_PASSWORD", SIM_PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the pyghmi BMC");
    let bmc = Killed(child);
    // Up once ipmitool gets an answer from it.
    let up = eventually(20, || {
        ipmitool_at(
            port,
            "lanplus",
            &["-C", "3"],
            "admin",
            SIM_PASSWORD,
            "chassis power status",
        )
        .stdout
        .contains("Chassis Power is on")
    });
    assert!(
        up,
        "the pyghmi BMC did not come up (is pyghmi installed? .ci/run installs it)"
    );
    bmc
}

#[test]
fn bench_measures_ipmi_sim_and_a_pyghmi_bmc() {
    let sim = IpmiSim::start();
    let port = sim.addr.port();
    for args in [&["-C", "3"][..], &["-I", "lan"]] {
        let mut a = vec!["-s", "2", "-n", "100"];
        a.extend_from_slice(args);
        let r = bench(port, SIM_PASSWORD, &a);
        assert!(r.ok >= 100 && r.failed == 0, "ipmi_sim {args:?}: {r:?}");
    }
    let ipmitool_says =
        ipmitool_at(port, "lanplus", &[], "admin", SIM_PASSWORD, "raw 0x06 0x01").out();
    let r = bench(
        port,
        SIM_PASSWORD,
        &["-C", "3", "-n", "5", "--request", "0x06 0x01"],
    );
    assert_eq!(
        r.answer,
        format!("ccode=0x00 data={}", raw_bytes(&ipmitool_says))
    );

    let py_port = free_port();
    let _py = pyghmi_bmc(py_port);
    let r = bench(py_port, SIM_PASSWORD, &["-C", "3", "-s", "2", "-n", "100"]);
    assert!(r.ok >= 100 && r.failed == 0, "pyghmi: {r:?}");
}

/// The floor `bench/cpu-per-request.sh` measures against: `echo-floor` sends every datagram
/// back to its sender, a burst included (it reads until the socket is empty), on loopback.
#[test]
fn echo_floor_sends_every_datagram_back() {
    let port = test_support::free_port();
    let _server = Killed(
        Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
            .args(["echo-floor", "--listen", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("echo-floor starts"),
    );
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .unwrap();
    client.connect(("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 1500];
    // Until it listens: a datagram that finds no socket comes back as an error on this
    // connected socket, at the next send or receive.
    let up = eventually(10, || {
        client.send(b"ping").is_ok() && matches!(client.recv(&mut buf), Ok(4))
    });
    assert!(up, "echo-floor never answered on port {port}");
    let burst: Vec<Vec<u8>> = (0u8..20)
        .map(|i| vec![i; 1 + usize::from(i) * 50])
        .collect();
    for d in &burst {
        client.send(d).unwrap();
    }
    let mut back = Vec::new();
    while let Ok(n) = client.recv(&mut buf) {
        back.push(buf[..n].to_vec());
    }
    assert_eq!(back, burst);
}
