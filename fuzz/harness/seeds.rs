//! Seed inputs: full logins of the real clients in every mode (recorded against the harness's
//! fixed-RNG server, so that they replay), and inputs made from captured ipmitool and FreeIPMI
//! exchanges (`fuzz/tools/capture.sh`), whose in-session messages are decrypted here with keys
//! derived from the capture's password and RAKP values.

use super::client_login as cl;
use super::cmd_bodies::{parsers, COMMANDS, WIRE};
use super::fixtures::{answer, server, ADMIN};
use super::input::push_op;
use super::real::{Mode, Real, MODES};
use super::server_datagrams::join;
use super::server_in_session as sis;
use ipmi_proto::crypto::aes_cbc;
use ipmi_proto::crypto::rakp::{derive_key, Exchange};
use ipmi_proto::session::{Action, CipherSuite, ClientEvent};
use ipmi_proto::types::{CompletionCode, NetFn};
use ipmi_proto::wire::ipmi20::{self, PayloadType};
use ipmi_proto::wire::rakp::{OpenSessionResponse, Rakp1, Rakp2};
use ipmi_proto::wire::{ipmi15, message, rmcp};
use std::time::Instant;

/// A captured exchange: its name and its datagrams in order, `true` for those from the client.
pub type Capture = (String, Vec<(bool, Vec<u8>)>);

/// A named seed input.
pub type Seed = (String, Vec<u8>);

/// Reads a capture file of `fuzz/tools/udp_relay.py`: records of a direction byte (0 from the
/// client), a little-endian u16 length, and the datagram. A truncated last record is left out.
pub fn parse_capture(bytes: &[u8]) -> Vec<(bool, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let [dir, lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi]));
        let Some(d) = tail.get(..len) else { break };
        out.push((*dir == 0, d.to_vec()));
        rest = &tail[len..];
    }
    out
}

/// The mode a capture used, from its name (as `capture.sh` names them).
pub fn capture_mode(name: &str) -> Mode {
    if name.contains("c17") {
        Mode::Suite(17)
    } else if name.contains("lan20") || name.contains("lanplus") {
        Mode::Suite(3)
    } else {
        Mode::V15
    }
}

fn mode_index(mode: Mode) -> u8 {
    MODES.iter().position(|m| *m == mode).unwrap_or(0) as u8
}

/// The datagrams a real client sends in `mode` against [`server`]: login, Get Chassis Status,
/// Get Device ID, Close Session. Answered as [`super::server_datagrams::run`] answers, so the
/// recording replays there.
pub fn record_session(mode: Mode) -> Vec<Vec<u8>> {
    let mut server = server();
    let now = Instant::now();
    let peer = super::fixtures::peers()[0];
    let mut client = Real::new(mode, ADMIN.0, ADMIN.1);
    let mut sent = Vec::new();
    let mut out = Some(client.start());
    let mut requests = vec![(NetFn::CHASSIS, 0x01), (NetFn::APP, 0x01)].into_iter();
    while let Some(datagram) = out.take() {
        sent.push(datagram.clone());
        let back = match server.handle(now, peer, &datagram) {
            Action::Reply(bytes) => Some(bytes),
            Action::Dispatch(req) => {
                let (ccode, body) = answer(&req);
                server.seal(now, &req.context, ccode, &body)
            }
            Action::Drop(why) => panic!("{mode:?} recording: dropped: {why}"),
        };
        let Some(back) = back else { break };
        out = match client.handle(&back) {
            Ok(ClientEvent::Send(next)) => Some(next),
            Ok(ClientEvent::Established | ClientEvent::Response(_)) => match requests.next() {
                Some((netfn, cmd)) => client.request(netfn, cmd, &[]).ok(),
                None if client.is_active() => client.close().ok(),
                None => None,
            },
            other => panic!("{mode:?} recording: client got {other:?}"),
        };
    }
    sent
}

/// The IPMI messages of a capture in order (`true`: from the client): sessionless ones as they
/// are, in-session ones decrypted with the keys of the RMCP+ session the capture set up.
pub fn messages(capture: &[(bool, Vec<u8>)], password: &[u8]) -> Vec<(bool, Vec<u8>)> {
    let mut out = Vec::new();
    let mut suite = None;
    let mut ids = (0u32, 0u32);
    let mut rakp1: Option<Rakp1> = None;
    let mut k2 = Vec::new();
    for (from_client, d) in capture {
        let Some(p) = d.get(rmcp::HEADER_LEN..) else {
            continue;
        };
        if p.first() != Some(&ipmi20::AUTH_TYPE_RMCP_PLUS) {
            if let Ok((_, m)) = ipmi15::Repr::parse(p) {
                out.push((*from_client, m.to_vec()));
            }
            continue;
        }
        let Ok(parsed) = ipmi20::Repr::parse(p) else {
            continue;
        };
        match parsed.header.payload_type {
            PayloadType::OPEN_SESSION_RESPONSE => {
                if let Ok(r) = OpenSessionResponse::parse(parsed.payload) {
                    ids = (r.console_session_id, r.bmc_session_id);
                    suite = CipherSuite::by_algorithms(r.auth, r.integrity, r.confidentiality);
                }
            }
            PayloadType::RAKP1 => rakp1 = Rakp1::parse(parsed.payload).ok(),
            PayloadType::RAKP2 => {
                if let (Ok(r), Some(r1), Some(s)) = (Rakp2::parse(parsed.payload), &rakp1, suite) {
                    let x = Exchange {
                        console_session_id: ids.0,
                        bmc_session_id: ids.1,
                        console_random: r1.console_random,
                        bmc_random: r.bmc_random,
                        bmc_guid: r.bmc_guid,
                        role: r1.role,
                        username: r1.username.clone(),
                    };
                    k2 = derive_key(s.auth, &x.sik(s.auth, password), 2).to_vec();
                }
            }
            PayloadType::IPMI if parsed.header.encrypted => {
                if let Ok(m) = aes_cbc::decrypt(&k2, parsed.payload) {
                    out.push((*from_client, m));
                }
            }
            PayloadType::IPMI => out.push((*from_client, parsed.payload.to_vec())),
            _ => {}
        }
    }
    out
}

/// Seeds of `server_datagrams`: every datagram a real tool sent, alone; and the recorded
/// sessions of every mode, alone, from two peers at once, and with the clock moving.
pub fn server_datagrams(captures: &[Capture]) -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (name, datagrams) in captures {
        let from_client = datagrams.iter().filter(|(c, _)| *c);
        for (i, (_, d)) in from_client.enumerate() {
            seeds.push((format!("{name}-{i:02}"), d.clone()));
        }
    }
    for mode in MODES {
        let s = record_session(mode);
        let tag = mode_tag(mode);
        seeds.push((
            format!("login-{tag}"),
            join(&s.iter().map(|d| (0, d.clone())).collect::<Vec<_>>()),
        ));
        // Each step 5 s after the last, with the periodic expiry.
        let slow: Vec<_> = s.iter().map(|d| (3 << 2 | 0x20, d.clone())).collect();
        seeds.push((format!("login-slow-{tag}"), join(&slow)));
    }
    // An RMCP+ and an IPMI 1.5 login interleaved, from two addresses.
    let (a, b) = (record_session(Mode::Suite(17)), record_session(Mode::V15));
    let mut mixed = Vec::new();
    for i in 0..a.len().max(b.len()) {
        mixed.extend(a.get(i).map(|d| (0u8, d.clone())));
        mixed.extend(b.get(i).map(|d| (2u8, d.clone())));
    }
    seeds.push(("login-interleaved".into(), join(&mixed)));
    seeds
}

fn mode_tag(mode: Mode) -> String {
    match mode {
        Mode::Suite(s) => format!("c{s}"),
        Mode::V15 => "lan".into(),
    }
}

/// Seeds of `server_in_session`: every op in every mode, and the messages each captured tool
/// sent inside its session, re-sealed by the console.
pub fn server_in_session(captures: &[Capture]) -> Vec<Seed> {
    let mut seeds = Vec::new();
    for mode in MODES {
        let mut v = vec![mode_index(mode)];
        push_op(&mut v, sis::OP_REQUEST, &[0x00, 0x01]);
        push_op(&mut v, sis::OP_REQUEST, &[0x06, 0x3b, 0x04]);
        push_op(&mut v, sis::OP_REQUEST, &[0x06, 0x3d, 0x00]);
        push_op(&mut v, sis::OP_REQUEST, &[0x06, 0x54, 0x0e, 0x00, 0x80]);
        push_op(&mut v, sis::OP_REQUEST, &[0x00, 0x02, 0x01]);
        push_op(&mut v, sis::OP_RAW_FIXED, &[0x20, 0x18, 0x81, 0x08, 0x01]);
        push_op(
            &mut v,
            sis::OP_RAW,
            &[0x20, 0x18, 0xc8, 0x81, 0x0c, 0x01, 0x72],
        );
        push_op(&mut v, sis::OP_MUTATE, &[0, 0, 9, 1]);
        push_op(&mut v, sis::OP_MUTATE, &[1, 1, 0, 0x80]);
        push_op(&mut v, sis::OP_REPLAY, &[0]);
        push_op(&mut v, sis::OP_TIME, &[4]);
        push_op(&mut v, sis::OP_RETRANSMIT, &[]);
        push_op(&mut v, sis::OP_REQUEST, &[0x06, 0x3c]);
        push_op(&mut v, sis::OP_CLOSE, &[]);
        seeds.push((format!("ops-{}", mode_tag(mode)), v));
    }
    for (name, capture) in captures {
        let mut v = vec![mode_index(capture_mode(name))];
        for (_, m) in messages(capture, ADMIN.1).iter().filter(|(c, _)| *c) {
            push_op(&mut v, sis::OP_RAW, &m[..m.len().min(255)]);
        }
        seeds.push((name.clone(), v));
    }
    seeds
}

/// Seeds of `client_login`: the whole login and a request in every mode, with the right and the
/// wrong password, with each op once; and each datagram a captured server sent, fed to the
/// client at the same point of its login.
pub fn client_login(captures: &[Capture]) -> Vec<Seed> {
    let mut seeds = Vec::new();
    for sel in 0..2 * MODES.len() as u8 {
        let mut v = vec![sel];
        for _ in 0..8 {
            push_op(&mut v, cl::OP_GENUINE, &[]);
        }
        push_op(&mut v, cl::OP_REQUEST, &[0x00, 0x01]);
        push_op(&mut v, cl::OP_REQUEST, &[0x06, 0x01]);
        push_op(&mut v, cl::OP_GENUINE, &[]);
        push_op(&mut v, cl::OP_STALE, &[0xff]);
        push_op(&mut v, cl::OP_RETRANSMIT, &[]);
        push_op(&mut v, cl::OP_MUTATED, &[1, 0, 1]);
        seeds.push((format!("login-{sel:02}"), v));
    }
    for (name, capture) in captures {
        let sel = mode_index(capture_mode(name));
        let answers = capture.iter().filter(|(c, _)| !*c).take(8);
        for (k, (_, d)) in answers.enumerate() {
            let mut v = vec![sel];
            for _ in 0..k {
                push_op(&mut v, cl::OP_GENUINE, &[]);
            }
            push_op(&mut v, cl::OP_RAW, &d[..d.len().min(255)]);
            seeds.push((format!("{name}-{k:02}"), v));
        }
    }
    seeds
}

/// Seeds of `cmd_bodies`: the bodies of the captured requests and answers, filed under their
/// command, and the captured datagrams' session headers, messages and set-up payloads under the
/// wire formats.
pub fn cmd_bodies(captures: &[Capture]) -> Vec<Seed> {
    let wire = |name: &str| {
        let base = 2 * COMMANDS.len();
        (base
            + WIRE
                .iter()
                .position(|(n, _)| *n == name)
                .expect("wire check")) as u8
    };
    assert!(parsers().len() <= 256, "selector is one byte");
    let mut seeds = Vec::new();
    let mut add = |name: String, sel: u8, data: &[u8]| {
        let mut v = vec![sel];
        v.extend_from_slice(data);
        seeds.push((name, v));
    };
    for (name, capture) in captures {
        for (i, (from_client, m)) in messages(capture, ADMIN.1).iter().enumerate() {
            let label = format!("{name}-{i:02}");
            if *from_client {
                add(format!("{label}-msg"), wire("message::Request"), m);
                if let Ok(r) = message::Request::parse(m) {
                    if let Some(c) = COMMANDS
                        .iter()
                        .position(|c| (c.netfn, c.cmd) == (r.netfn, r.cmd))
                    {
                        add(format!("{label}-req"), 2 * c as u8, &r.data);
                    }
                }
            } else {
                add(format!("{label}-msg"), wire("message::Response"), m);
                if let Ok(r) = message::Response::parse(m) {
                    let request = NetFn(r.netfn.0 & !1);
                    let hit = COMMANDS
                        .iter()
                        .position(|c| (c.netfn, c.cmd) == (request, r.cmd));
                    if let (Some(c), CompletionCode::OK) = (hit, r.ccode) {
                        add(format!("{label}-resp"), 2 * c as u8 + 1, &r.data);
                    }
                }
            }
        }
        for (i, (_, d)) in capture.iter().enumerate() {
            let Some(p) = d.get(rmcp::HEADER_LEN..) else {
                continue;
            };
            let label = format!("{name}-{i:02}");
            if p.first() == Some(&ipmi20::AUTH_TYPE_RMCP_PLUS) {
                add(format!("{label}-v20"), wire("ipmi20::Repr"), p);
                let Ok(parsed) = ipmi20::Repr::parse(p) else {
                    continue;
                };
                let kind = match parsed.header.payload_type {
                    PayloadType::OPEN_SESSION_REQUEST => "OpenSessionRequest",
                    PayloadType::OPEN_SESSION_RESPONSE => "OpenSessionResponse",
                    PayloadType::RAKP1 => "Rakp1",
                    PayloadType::RAKP2 => "Rakp2",
                    PayloadType::RAKP3 => "Rakp3",
                    PayloadType::RAKP4 => "Rakp4",
                    _ => continue,
                };
                add(format!("{label}-{kind}"), wire(kind), parsed.payload);
            } else {
                add(format!("{label}-v15"), wire("ipmi15::Repr"), p);
            }
        }
    }
    add(
        "asf-ping".into(),
        wire("asf::Repr"),
        &[0, 0, 0x11, 0xbe, 0x80, 0x09, 0, 0],
    );
    add(
        "boot-flags".into(),
        wire("BootFlags"),
        &[0xe0, 0x04, 0, 0, 0],
    );
    seeds
}
