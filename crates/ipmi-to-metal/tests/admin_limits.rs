//! The admin HTTP server against clients that hold what they can of it (issue 19, defect 1):
//! slowhttptest's Slowloris (1,100 connections that each send half a header, then a line
//! now and then) against a server whose soft `RLIMIT_NOFILE` is 1024, and connections that send
//! long headers that never end. The rest of the process must go on: `/healthz` answers, an IPMI
//! client gets its answer, a SIGHUP reload is carried out, the process's descriptors and memory
//! stay bounded.

mod common;

use common::admin::*;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The server's soft limit on open files: the common default.
const SOFT_NOFILE: u64 = 1024;
/// The Slowloris connections: more than the server's soft limit, as in the issue's proof (today's
/// server held them all, and had no descriptor left for `/healthz` or a reload).
const SLOW_CONNECTIONS: usize = 1100;
/// What the server keeps for the rest of the process (`SPARE_FILES` in runtime/process.rs).
const RESERVED: usize = 256;

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// `GET /healthz` (open) with a deadline for the whole exchange: the answer, or why not.
fn healthz_within(port: u16, secs: u64) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    s.set_read_timeout(Some(Duration::from_secs(secs))).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("no answer in {secs} s: {e}")),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// slowhttptest in Slowloris mode: `connections` connections to `url`, opened 500 a second,
/// each sending a partial request and then a header line every 5 s, for 60 s; its own probe
/// (a whole request) says whether the service is still available. It gets descriptors enough
/// for them (its own limit, not the server's). Its report goes to `report`.
fn slowloris(url: &str, connections: usize, report: &std::path::Path) -> Killed {
    let tool = require("slowhttptest", "slowhttptest");
    let child = Command::new(require("prlimit", "util-linux"))
        .arg("--nofile=8192:8192")
        .arg("--")
        .arg(tool)
        .args(["-H", "-c", &connections.to_string(), "-r", "500", "-i", "5"])
        .args(["-l", "60", "-p", "10", "-u", url])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(report).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("start slowhttptest");
    Killed(child)
}

/// slowhttptest's report without its terminal escapes.
fn report_text(report: &std::path::Path) -> String {
    test_support::console_text::plain(&std::fs::read_to_string(report).unwrap_or_default())
}

/// The last value slowhttptest reported for `field` (`connected`, `closed`, `pending`...).
fn last_count(report: &str, field: &str) -> usize {
    report
        .lines()
        .rev()
        .filter_map(|l| l.trim().strip_prefix(&format!("{field}:")))
        .find_map(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn eleven_hundred_slow_connections_leave_healthz_ipmi_and_reload_working() {
    let limits = Rlimits {
        nofile: Some(SOFT_NOFILE),
        ..Rlimits::default()
    };
    let served = Served::start_custom("", "", DEFAULT_AUDIT, limits);
    let pid = served.bmc.pid();
    let url = format!("http://127.0.0.1:{}/healthz", served.admin_port);
    let report = served.bmc.dir.path().join("slowhttptest.txt");
    let _attack = slowloris(&url, SLOW_CONNECTIONS, &report);
    // Every one of its connections made (the server holds them, or closed some to make room).
    assert!(
        eventually(30, || {
            let r = report_text(&report);
            last_count(&r, "connected") + last_count(&r, "closed") >= SLOW_CONNECTIONS
                && last_count(&r, "pending") == 0
        }),
        "slowhttptest did not make its connections:\n{}",
        report_text(&report)
    );

    let health = healthz_within(served.admin_port, 10);
    assert!(
        matches!(&health, Ok(text) if text.starts_with("HTTP/1.1 200") && text.ends_with("ok: 1 BMCs served\n")),
        "/healthz under Slowloris: {health:?}\nserver log:\n{}",
        served.bmc.server_log()
    );
    let power = admin_run(&served.bmc, "chassis power status");
    assert!(
        power.ok && power.stdout.contains("Chassis Power is on"),
        "ipmitool under Slowloris: {}",
        power.all()
    );
    // A reload opens the configuration and its secrets again.
    let before = served.bmc.server_log().matches(" outcome=\"").count();
    served.bmc.signal("HUP");
    assert!(
        eventually(20, || served
            .bmc
            .server_log()
            .matches(" outcome=\"")
            .count()
            > before),
        "no reload outcome:\n{}",
        served.bmc.server_log()
    );
    let log = served.bmc.server_log();
    assert!(
        log.contains("outcome=\"unchanged\"") && !log.contains("Too many open files"),
        "{log}"
    );
    let held = open_fds(pid);
    assert!(
        held <= SOFT_NOFILE as usize - RESERVED,
        "the server holds {held} descriptors of {SOFT_NOFILE}"
    );
    // slowhttptest's own probe found the service available throughout.
    let r = report_text(&report);
    assert!(
        r.contains("service available:   YES") && !r.contains("service available:   NO"),
        "{r}"
    );
}

#[test]
fn long_partial_headers_hold_a_bounded_amount_of_memory() {
    let served = Served::start("", "");
    let pid = served.bmc.pid();
    let before = rss_kib(pid);
    // 400 connections, each sending 256 KiB of one header that never ends.
    let line = format!("X-Long: {}", "a".repeat(1024));
    let mut held = Vec::new();
    for _ in 0..400 {
        let mut s = TcpStream::connect(("127.0.0.1", served.admin_port)).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for _ in 0..256 {
            // The server may close it (431) before it is all sent.
            if s.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
        held.push(s);
    }
    std::thread::sleep(Duration::from_secs(1));
    let after = rss_kib(pid);
    let grown = after.saturating_sub(before);
    assert!(
        grown < 32 * 1024,
        "RSS grew from {before} KiB to {after} KiB with 400 long partial headers"
    );
    let health = healthz_within(served.admin_port, 10);
    assert!(
        matches!(&health, Ok(t) if t.starts_with("HTTP/1.1 200")),
        "{health:?}"
    );
}

fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("Threads")
}

#[test]
fn a_burst_of_scrapes_is_rendered_on_one_thread_at_a_time() {
    // A fleet of 50 BMCs, so that a rendering takes a while.
    let more: String = (2..=50)
        .map(|i| {
            standard_config(free_port(), "")
                .replace("name = \"node1\"", &format!("name = \"node{i}\""))
        })
        .collect();
    let served = Served::start("", &more);
    let pid = served.bmc.pid();
    let before = threads(pid);
    let port = served.admin_port;
    let scrapes: Vec<_> = (0..200)
        .map(|_| {
            std::thread::spawn(move || {
                common::prometheus::http_get(port, "/metrics", Some(ADMIN_TOKEN)).0
            })
        })
        .collect();
    for s in scrapes {
        assert_eq!(s.join().unwrap(), 200);
    }
    // Blocking threads stay 10 s after their work: as many as ran at once.
    let after = threads(pid);
    assert!(
        after <= before + 2,
        "{before} threads before 200 scrapes at once, {after} after"
    );
}
