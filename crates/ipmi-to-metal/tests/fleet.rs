//! Many BMCs from one configuration in one process, started with a low soft limit on open
//! files: the server raises its own limit (up to the hard one), says so, and every BMC answers.
//! (bench/fleet-scale.sh runs the same at 10,000 BMCs and measures time and memory.)

use std::collections::BTreeSet;
use std::io::Write;
use std::net::UdpSocket;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BMCS: usize = 300;
const SOFT_LIMIT: u64 = 64;

/// Get Device ID in an IPMI 1.5 packet outside any session (answered 0xD4 by the BMC model).
const PROBE: [u8; 21] = [
    0x06, 0x00, 0xff, 0x07, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0x20, 0x18, 0xc8, 0x81, 0x04, 0x01,
    0x7a,
];

#[test]
fn a_fleet_started_under_a_low_open_file_limit_raises_it_and_every_bmc_answers() {
    let (_, hard) = limits();
    // Never skipped: a machine whose hard limit cannot hold the fleet fails here, saying so.
    assert!(
        hard >= BMCS as u64 + 256,
        "the hard open-file limit ({hard}) is below what the test needs ({}): raise it (ulimit -Hn)",
        BMCS + 256
    );
    serve_fleet_under(SOFT_LIMIT, hard);
}

/// Each BMC may hold two open files, its socket and its console log (once its console has
/// printed): a soft limit with room for the sockets but not the logs is raised too (it was not,
/// and the server failed to start).
#[test]
fn the_open_file_limit_counts_each_bmcs_console_log_too() {
    let (_, hard) = limits();
    let soft = BMCS as u64 + 256 + 44;
    assert!(
        hard >= 2 * BMCS as u64 + 256,
        "the hard open-file limit ({hard}) is below what the test needs"
    );
    serve_fleet_under(soft, hard);
}

/// Serves [`BMCS`] sim BMCs started under the soft open-file limit `soft`: every one answers,
/// and the log says the limit was raised from `soft`. One fleet at a time: two tests' hundreds
/// of free ports, each picked alone, would collide.
fn serve_fleet_under(soft: u64, hard: u64) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut ports = BTreeSet::new();
    while ports.len() < BMCS {
        ports.insert(test_support::free_port());
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fleet.toml");
    let mut f = std::fs::File::create(&config).unwrap();
    for (i, port) in ports.iter().enumerate() {
        write!(
            f,
            "[[bmc]]\nname = \"sim-{i}\"\nlisten = \"127.0.0.1:{port}\"\nbackend = \"sim\"\n[[bmc.users]]\nname = \"admin\"\npassword = \"fleet-password\"\nprivilege = \"administrator\"\n\n"
        )
        .unwrap();
    }
    drop(f);
    let log = dir.path().join("serve.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"));
    cmd.args(["serve", "--config"])
        .arg(&config)
        .env("IPMI_TO_METAL_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    // SAFETY: only setrlimit, async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut waiting = ports.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 512];
    while !waiting.is_empty() && Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the server exited ({status}): {}",
                std::fs::read_to_string(&log).unwrap()
            );
        }
        for port in waiting.iter().take(64) {
            sock.send_to(&PROBE, ("127.0.0.1", *port)).unwrap();
        }
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            assert!(n > 20, "a short answer from {from}");
            assert_eq!(buf[20], 0xd4, "Get Device ID outside a session: 0xD4");
            waiting.remove(&from.port());
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        waiting.is_empty(),
        "{} BMCs never answered: {text}",
        waiting.len()
    );
    let raised = text
        .lines()
        .find(|l| l.contains("open-file limit raised"))
        .unwrap_or_else(|| panic!("no line says the limit was raised: {text}"));
    assert!(raised.contains(&format!("from={soft}")), "{raised}");
}

fn limits() -> (u64, u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct we pass.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    (lim.rlim_cur, lim.rlim_max)
}
