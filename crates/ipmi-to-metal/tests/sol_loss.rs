//! Serial over LAN through a lossy network: a UDP relay in the test drops 5% of the datagrams
//! each way and reorders others. A mebibyte of console output reaches ipmitool whole and in
//! order; keys typed into FreeIPMI's ipmiconsole (and pyghmi's console) during the loss reach
//! the console program each exactly once and in order, although the BMC's acknowledgements are
//! lost and the clients send their packets again.

mod common;

use common::tty::Tty;
use common::*;

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

    /// Stops the relay; the datagrams dropped and held back, toward the BMC and toward the
    /// client.
    fn stop_each(self) -> [(u64, u64); 2] {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut counts = self.threads.into_iter().map(|t| t.join().unwrap());
        [counts.next().unwrap(), counts.next().unwrap()]
    }

    /// Stops the relay; the datagrams dropped and held back.
    fn stop(self) -> (u64, u64) {
        let [a, b] = self.stop_each();
        (a.0 + b.0, a.1 + b.1)
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

/// A console program for the command source that appends every byte it is given to the file
/// named by its argument, and echoes it back as a terminal would. Python, so that nothing
/// buffers.
const RECORDER: &str = r#"import os, sys
record = open(sys.argv[1], "ab", buffering=0)
os.write(1, b"recorder ready\r\n")
while True:
    b = os.read(0, 4096)
    if not b:
        break
    record.write(b)
    os.write(1, b)
"#;

/// A BMC on a port below 32768 (for ipmiconsole) whose console is [`RECORDER`] writing to
/// `typed.bin` in its directory, with the SOL module's debug lines in its log; and the file.
fn recording_bmc() -> (Bmc, std::path::PathBuf) {
    let port = low_free_port();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("recorder.py");
    std::fs::write(&script, RECORDER).unwrap();
    let record = dir.path().join("typed.bin");
    let section = format!(
        "[bmc.command]\nstatus = [\"echo\", \"on\"]\nconsole = [\"python3\", \"-u\", \"{}\", \"{}\"]\n",
        script.display(),
        record.display()
    );
    let bmc = Bmc::start_config_logging(
        port,
        &config_with_backend(port, "command", &section),
        "info,ipmi_proto::session::sol=debug",
    );
    // The script's directory lives as long as the test: leak it into the BMC's.
    std::mem::forget(dir);
    (bmc, record)
}

/// Waits until the console program has recorded `token` (polling, not sleeping a guess).
fn wait_recorded(record: &std::path::Path, token: &str, secs: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let got = std::fs::read(record).unwrap_or_default();
        if String::from_utf8_lossy(&got).contains(token) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{token:?} not recorded in {secs}s; recorded: {:?}",
            String::from_utf8_lossy(&got)
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// How many input packets the BMC saw again (their acknowledgement was lost) and acknowledged
/// without taking their characters again.
fn repeats(bmc: &Bmc) -> usize {
    bmc.server_log()
        .matches("SOL packet repeated: acknowledged again")
        .count()
}

/// ipmitool cannot be the client here. Its SOL input (ipmitool 1.8.19) is not retransmitted
/// as the specification asks: `processSolUserInput` (lib/ipmi_sol.c:1444-1448) sends the
/// characters again through `intf->send_sol`, which gives them a new packet sequence number
/// each time (`set_sol_packet_sequence_number`, src/plugins/lanplus/lanplus.c:2460), so a
/// packet whose acknowledgement was lost arrives as new characters; and
/// `ipmi_lanplus_send_payload` (lanplus.c:2312) takes any console output that arrives while it
/// waits for the acknowledgement as the end of the wait, so a lost packet is not sent again.
/// ipmiconsole sends the same packet again under the same number (libipmiconsole
/// `_sol_retransmission_timeout` → `_send_sol_packet_with_character_data(c, 0, 0, 1)`), as
/// does pyghmi (`Console._sendoutput` resends `self.lastpayload`).
#[test]
fn keys_typed_into_ipmiconsole_during_loss_arrive_once_and_in_order() {
    let (bmc, record) = recording_bmc();
    let front: std::net::SocketAddr = format!("127.0.0.2:{}", bmc.port).parse().unwrap();
    let relay = LossyRelay::start(front, format!("127.0.0.1:{}", bmc.port).parse().unwrap());
    let tool = require("ipmiconsole", "freeipmi-tools");
    let conf = bmc.freeipmi_conf("admin", ADMIN_PASSWORD);
    // Retransmissions after 200 ms (above the relay's jitter) keep the test short.
    let tty = Tty::start(
        bmc.dir.path(),
        "ipmiconsole-loss",
        &format!(
            "timeout --foreground 600 {} --config-file {} -h 127.0.0.2:{} --retransmission-timeout=200",
            tool.display(),
            conf.display(),
            bmc.port
        ),
        &[],
    );
    tty.wait_for("[SOL established]", 30);
    let mut typed = String::new();
    let mut type_text = |text: &str| {
        tty.type_text(text);
        typed.push_str(text);
    };
    type_text("before-loss.");
    wait_recorded(&record, "before-loss.", 20);
    relay.lossy(true);
    // One token at a time, each waited for: every token is a packet of its own, and with 5%
    // of the acknowledgements lost some of them arrive twice.
    for k in 0..200 {
        let token = format!("k{k:03}.");
        type_text(&token);
        wait_recorded(&record, &token, 60);
    }
    // Then a burst typed while packets are lost and sent again: ipmiconsole gathers the keys
    // typed while it waits for an acknowledgement into its next packet.
    for k in 0..100 {
        type_text(&format!("b{k:03}."));
    }
    wait_recorded(&record, "b099.", 120);
    relay.lossy(false);
    type_text("after-loss.");
    wait_recorded(&record, "after-loss.", 20);
    let got = String::from_utf8_lossy(&std::fs::read(&record).unwrap()).into_owned();
    assert_eq!(
        got,
        typed,
        "every key once and in order; server log:\n{}",
        bmc.server_log()
    );
    // The far side's echo came back through SOL too, each key once.
    let screen = tty.wait_for("after-loss.", 20);
    assert_eq!(screen.matches(typed.as_str()).count(), 1, "{screen}");
    tty.type_text("&.");
    tty.wait_for("[exited 0]", 20);
    // The loss did what it is there for: acknowledgements were lost and packets came again,
    // acknowledged again without their characters.
    let [(to_bmc, _), (to_client, _)] = relay.stop_each();
    let again = repeats(&bmc);
    eprintln!("dropped {to_bmc} toward the BMC and {to_client} toward ipmiconsole; {again} packets repeated");
    assert!(
        to_bmc > 5 && to_client > 5 && again > 0,
        "dropped {to_bmc} toward the BMC and {to_client} toward ipmiconsole; {again} packets repeated"
    );
}

#[test]
fn keys_typed_into_pyghmi_during_loss_arrive_once_and_in_order() {
    let python = require_python_module("pyghmi.ipmi.console");
    let (bmc, record) = recording_bmc();
    // pyghmi insists that SOL runs on the port it talks to: the relay takes the BMC's number.
    let front: std::net::SocketAddr = format!("127.0.0.2:{}", bmc.port).parse().unwrap();
    let relay = LossyRelay::start(front, format!("127.0.0.1:{}", bmc.port).parse().unwrap());
    let count = 200;
    let mut driver = Lines::spawn(
        std::process::Command::new("timeout")
            .arg("600")
            .arg(&python)
            .arg(PYGHMI_CONSOLE)
            .args(["127.0.0.2", &bmc.port.to_string(), "type"])
            .arg(count.to_string())
            .env("BMC_PASSWORD", ADMIN_PASSWORD),
    );
    driver.wait_line("established", 60);
    relay.lossy(true);
    driver.send_line("go");
    let r = driver.finish(500);
    relay.lossy(false);
    assert!(
        r.ok,
        "the pyghmi driver failed:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    // It saw its last key echoed and closed; the console program got every key once and in
    // order (pyghmi's own echo may show output the BMC sent again twice: see the driver).
    assert!(r.stdout.contains("\nclosed\n"), "{}", r.stdout);
    let typed: String = (0..count).map(|k| format!("p{k:03}.")).collect();
    let got = String::from_utf8_lossy(&std::fs::read(&record).unwrap()).into_owned();
    assert_eq!(got, typed, "every key once and in order");
    let [(to_bmc, _), (to_client, _)] = relay.stop_each();
    let again = repeats(&bmc);
    eprintln!(
        "dropped {to_bmc} toward the BMC and {to_client} toward pyghmi; {again} packets repeated"
    );
    assert!(
        to_bmc > 5 && to_client > 5 && again > 0,
        "dropped {to_bmc} toward the BMC and {to_client} toward pyghmi; {again} packets repeated"
    );
}
