//! Serial over LAN with the real clients in a real terminal (tmux): ipmitool `sol activate`
//! and FreeIPMI `ipmiconsole` on the sim's console, one instance at a time, deactivation by
//! another session, `sol info` and `sol set`, the SOL privilege, and the console log.

mod common;

use common::tty::{admin_console, Tty};
use common::*;

#[test]
fn ipmitool_console_boot_shell_takeover_and_escape() {
    let bmc = Bmc::start();
    let tty = admin_console(&bmc, "first");
    // The sim's boot text appears after a reset, then its login prompt.
    admin(&bmc, "power reset");
    tty.wait_for("Linux version 6.1.0-sim", 20);
    tty.wait_for("node1 login: ", 20);
    tty.line("root");
    tty.wait_for("Password: ", 10);
    tty.line("not-echoed");
    tty.wait_for("root@node1:~# ", 10);
    // The answer comes from the far side: a text that was never typed.
    tty.line("uname -a");
    let s = tty.wait_for("Linux node1 6.1.0-sim #1 SMP", 10);
    assert!(
        !s.contains("not-echoed"),
        "the password is not echoed:\n{s}"
    );
    assert!(
        s.contains("root@node1:~# uname -a"),
        "typed text echoed by the sim:\n{s}"
    );

    // A second activation is refused while the first runs.
    let second = admin_run(&bmc, "sol activate");
    assert!(
        second
            .all()
            .contains("SOL payload already active on another session"),
        "{}",
        second.all()
    );
    // Deactivate Payload from another session ends the first, which says so.
    admin(&bmc, "sol deactivate");
    tty.wait_for("SOL session closed by BMC", 10);
    tty.wait_for("[exited 1]", 10);

    // A new activation works, and `~.` ends it cleanly.
    let again = admin_console(&bmc, "again");
    again.line("echo back-again-$((1))");
    again.wait_for("\nback-again-$((1))", 10);
    again.line("");
    again.type_text("~.");
    again.wait_for("[terminated ipmitool]", 10);
    again.wait_for("[exited 0]", 10);
    // It deactivated on its way out: SOL is free again.
    let third = admin_console(&bmc, "third");
    third.line("hostname");
    third.wait_for("\nnode1\n", 10);
}

/// `sol info 1` as (field, value) pairs.
fn sol_info(bmc: &Bmc) -> Vec<(String, String)> {
    admin(bmc, "sol info 1")
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn field<'a>(info: &'a [(String, String)], name: &str) -> &'a str {
    &info
        .iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name:?} in {info:?}"))
        .1
}

#[test]
fn sol_info_and_set_round_trip_and_the_sol_privilege() {
    let bmc = Bmc::start_with("[bmc.console]\nbit_rate = 57600\n");
    let info = sol_info(&bmc);
    for (name, want) in [
        ("Set in progress", "set-complete"),
        ("Enabled", "true"),
        ("Force Encryption", "true"),
        ("Force Authentication", "true"),
        ("Privilege Level", "USER"),
        ("Character Accumulate Level (ms)", "50"),
        ("Character Send Threshold", "200"),
        ("Retry Count", "7"),
        ("Retry Interval (ms)", "100"),
        ("Volatile Bit Rate (kbps)", "57.6"),
        ("Non-Volatile Bit Rate (kbps)", "57.6"),
        ("Payload Channel", "1 (0x01)"),
    ] {
        assert_eq!(field(&info, name), want, "{name}");
    }
    assert_eq!(field(&info, "Payload Port"), bmc.port.to_string());
    for set in [
        "retry-count 3",
        "retry-interval 20",
        "volatile-bit-rate 19.2",
        "non-volatile-bit-rate 115.2",
        "character-accumulate-level 4",
        "character-send-threshold 64",
        "force-encryption false",
        "privilege-level operator",
    ] {
        admin(&bmc, &format!("sol set {set} 1"));
    }
    let info = sol_info(&bmc);
    for (name, want) in [
        ("Retry Count", "3"),
        ("Retry Interval (ms)", "200"),
        ("Volatile Bit Rate (kbps)", "19.2"),
        ("Non-Volatile Bit Rate (kbps)", "115.2"),
        ("Character Accumulate Level (ms)", "20"),
        ("Character Send Threshold", "64"),
        ("Force Encryption", "false"),
        ("Privilege Level", "OPERATOR"),
        ("Set in progress", "set-complete"),
    ] {
        assert_eq!(field(&info, name), want, "{name}");
    }
    // SOL now needs operator: the user-level account is refused, and may not change SOL.
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
    let refused = viewer("sol activate");
    assert!(!refused.ok);
    assert!(
        refused.all().contains("Insufficient privilege level"),
        "{}",
        refused.all()
    );
    assert!(!viewer("sol set enabled false 1").ok);
    assert_eq!(field(&sol_info(&bmc), "Enabled"), "true");
    // Disabled, activation fails with 0x81.
    admin(&bmc, "sol set enabled false 1");
    let disabled = admin_run(&bmc, "sol activate");
    assert!(
        disabled.all().contains("SOL payload disabled"),
        "{}",
        disabled.all()
    );
    admin(&bmc, "sol set enabled true 1");
    let tty = admin_console(&bmc, "enabled");
    tty.line("");
    tty.wait_for("node1 login: ", 10);
}

/// A free UDP port below 32768: ipmiconsole refuses higher ones ("hostname invalid").
fn low_free_port() -> u16 {
    let seed = std::process::id() as u16;
    (0..2000u16)
        .map(|i| 20_000 + (seed.wrapping_add(i.wrapping_mul(7919))) % 12_000)
        .find(|p| std::net::UdpSocket::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port below 32768")
}

#[test]
fn ipmiconsole_console_and_its_escape() {
    let port = low_free_port();
    let bmc = Bmc::start_config(port, &standard_config(port, ""));
    let tool = require("ipmiconsole", "freeipmi-tools");
    let conf = bmc.freeipmi_conf("admin", ADMIN_PASSWORD);
    let tty = Tty::start(
        bmc.dir.path(),
        "ipmiconsole",
        &format!(
            "timeout --foreground 600 {} --config-file {} -h 127.0.0.1:{}",
            tool.display(),
            conf.display(),
            bmc.port
        ),
        &[],
    );
    tty.wait_for("[SOL established]", 20);
    admin(&bmc, "power reset");
    tty.wait_for("Linux version 6.1.0-sim", 20);
    tty.wait_for("node1 login: ", 20);
    tty.line("root");
    tty.wait_for("Password: ", 10);
    tty.line("x");
    tty.wait_for("root@node1:~# ", 10);
    tty.line("uptime");
    tty.wait_for("load average:", 10);
    // ipmitool finds SOL taken while ipmiconsole has it.
    let second = admin_run(&bmc, "sol activate");
    assert!(second.all().contains("already active"), "{}", second.all());
    tty.type_text("&.");
    tty.wait_for("[exited 0]", 10);
    let tty = admin_console(&bmc, "after");
    tty.line("");
    tty.wait_for("root@node1:~# ", 10);
}

#[test]
fn console_log_keeps_output_nobody_watched_and_replays_it() {
    let bmc = Bmc::start_with("[bmc.console]\nlog = \"consoles/node1.log\"\nreplay_kib = 2\n");
    let log = bmc.dir.path().join("consoles/node1.log");
    // Nobody attached: the boot still goes to the log.
    admin(&bmc, "power reset");
    assert!(
        eventually(10, || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains("node1 login: "))),
        "{:?}",
        std::fs::read_to_string(&log)
    );
    // A new SOL session is sent the log's end first.
    let tty = admin_console(&bmc, "replay");
    tty.wait_for("Reached target Multi-User System", 10);
    tty.line("root");
    tty.wait_for("Password: ", 10);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Linux version 6.1.0-sim"), "{text}");
    assert!(eventually(10, || std::fs::read_to_string(&log)
        .is_ok_and(|l| l.contains("login: root"))));
}

/// A UDP relay between a client and the BMC that, when told to, drops 5% of the datagrams in
/// each direction and holds another 5% back for 1 to 8 ms, so that the datagrams after them
/// overtake them (jitter below the BMC's retry interval, as on a real network: a copy sent again
/// must not overtake newer packets, which no client could tell from new output).
struct LossyRelay {
    lossy: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<(u64, u64)>>,
}

impl LossyRelay {
    /// Relays `front` (where the client sends) to the BMC at `bmc`.
    fn start(front: std::net::SocketAddr, bmc: std::net::SocketAddr) -> LossyRelay {
        use std::net::UdpSocket;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        use std::time::{Duration, Instant};
        let front = Arc::new(UdpSocket::bind(front).expect("bind the relay's front"));
        let back = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        back.connect(bmc).unwrap();
        let client: Arc<Mutex<Option<std::net::SocketAddr>>> = Arc::default();
        let lossy = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for to_bmc in [true, false] {
            let (front, back, client) = (front.clone(), back.clone(), client.clone());
            let (lossy, stop) = (lossy.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                let from = if to_bmc { &front } else { &back };
                from.set_read_timeout(Some(Duration::from_millis(1)))
                    .unwrap();
                let mut rng: u64 = if to_bmc {
                    0x9e37_79b9_7f4a_7c15
                } else {
                    0xd1b5_4a32_d192_ed03
                };
                let mut held: Vec<(Instant, Vec<u8>)> = Vec::new();
                let (mut dropped, mut delayed) = (0, 0);
                let mut buf = [0u8; 2048];
                let send = |b: &[u8]| {
                    if to_bmc {
                        let _ = back.send(b);
                    } else if let Some(c) = *client.lock().unwrap() {
                        let _ = front.send_to(b, c);
                    }
                };
                while !stop.load(Ordering::Relaxed) {
                    let now = Instant::now();
                    held.retain(|(due, p)| {
                        let go = *due <= now;
                        if go {
                            send(p);
                        }
                        !go
                    });
                    let Ok((n, src)) = from.recv_from(&mut buf) else {
                        continue;
                    };
                    if to_bmc {
                        *client.lock().unwrap() = Some(src);
                    }
                    // xorshift64*: reproducible, no dependency.
                    rng ^= rng >> 12;
                    rng ^= rng << 25;
                    rng ^= rng >> 27;
                    let r = rng.wrapping_mul(0x2545_f491_4f6c_dd1d) % 1000;
                    let on = lossy.load(Ordering::Relaxed);
                    if on && r < 50 {
                        dropped += 1;
                    } else if on && r < 100 {
                        delayed += 1;
                        let ms = 1 + r % 8;
                        held.push((
                            Instant::now() + Duration::from_millis(ms),
                            buf[..n].to_vec(),
                        ));
                    } else {
                        send(&buf[..n]);
                    }
                }
                (dropped, delayed)
            }));
        }
        LossyRelay {
            lossy,
            stop,
            threads,
        }
    }

    fn lossy(&self, on: bool) {
        self.lossy.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Stops the relay; the datagrams dropped and held back.
    fn stop(self) -> (u64, u64) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }
}

#[test]
fn a_mebibyte_of_console_output_through_loss_and_reordering_arrives_whole_and_in_order() {
    let bmc = Bmc::start();
    // Retransmit after 50 ms: above the relay's jitter, and the loss costs little time.
    admin(&bmc, "sol set retry-interval 5 1");
    // The relay listens on the BMC's port number on another loopback address: ipmitool insists
    // that SOL runs on the port it talks to, which the BMC reports as its own.
    let front: std::net::SocketAddr = format!("127.0.0.2:{}", bmc.port).parse().unwrap();
    let relay = LossyRelay::start(front, format!("127.0.0.1:{}", bmc.port).parse().unwrap());
    let out = bmc.dir.path().join("sol-out.txt");
    let tool = require("ipmitool", "ipmitool");
    let tty = Tty::start(
        bmc.dir.path(),
        "loss",
        &format!(
            "timeout --foreground 600 {} -I lanplus -H 127.0.0.2 -p {} -U admin -E -R 8 sol activate > {}",
            tool.display(),
            bmc.port,
            out.display()
        ),
        &[("IPMI_PASSWORD", ADMIN_PASSWORD)],
    );
    let read = || String::from_utf8_lossy(&std::fs::read(&out).unwrap_or_default()).into_owned();
    let wait = |what: &str, secs| {
        assert!(
            eventually(secs, || read().contains(what)),
            "no {what:?} in:\n{}",
            read()
        );
    };
    // Its stdout is a file, which it flushes only with console output: the log tells.
    assert!(
        eventually(20, || bmc.server_log().contains("SOL activated")),
        "{}",
        tty.screen()
    );
    tty.line("");
    wait("node1 login: ", 10);
    tty.line("root");
    wait("Password: ", 10);
    tty.line("x");
    wait("root@node1:~# ", 10);
    let last = 150_000u32;
    tty.type_text(&format!("seq 1 {last}"));
    wait(&format!("seq 1 {last}"), 10);
    relay.lossy(true);
    tty.line("");
    wait(&format!("\r\n{last}\r\n"), 300);
    relay.lossy(false);
    let text = read();
    let start =
        text.find(&format!("seq 1 {last}\r\n")).unwrap() + format!("seq 1 {last}\r\n").len();
    let got: Vec<&str> = text[start..].split("\r\n").take(last as usize).collect();
    let bytes: usize = got.iter().map(|l| l.len() + 2).sum();
    assert!(bytes > 1 << 20, "a mebibyte: {bytes} bytes");
    for (i, line) in got.iter().enumerate() {
        if *line != (i + 1).to_string() {
            let around = got[i.saturating_sub(3)..(i + 4).min(got.len())].join("|");
            panic!(
                "line {} of the output is {line:?}: {around}; log:\n{}",
                i + 1,
                bmc.server_log()
                    .lines()
                    .filter(|l| !l.contains("datagram dropped"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    tty.line("");
    tty.type_text("~.");
    wait("[terminated ipmitool]", 10);
    let (dropped, delayed) = relay.stop();
    assert!(
        dropped > 100 && delayed > 100,
        "the relay dropped {dropped} and held back {delayed}"
    );
}
