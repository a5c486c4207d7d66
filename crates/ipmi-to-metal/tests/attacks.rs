//! Attacks on the real binary over loopback, each with the outcome it must have: floods of
//! half-open logins and malformed datagrams, as fast as the server takes them, while a real
//! ipmitool keeps working, forged session IDs, password guessing from another source address
//! (127.0.0.2: Linux routes all of 127/8 to the loopback interface), privilege escalation, and
//! the weak authentication that must be off by default. Every flood is bounded in time and stays
//! on loopback.

mod common;
use common::*;
use ipmi_proto::cmd::app::SessionChallengeRequest;
use ipmi_proto::cmd::Body;
use ipmi_proto::crypto::algorithm::AuthAlgorithm;
use ipmi_proto::crypto::rakp::Exchange;
use ipmi_proto::session::{Client, ClientConfig, ClientEvent, Interface, Secret};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use ipmi_proto::wire::ipmi15::{self, AuthType};
use ipmi_proto::wire::ipmi20::{self, PayloadType};
use ipmi_proto::wire::message;
use ipmi_proto::wire::rakp::{
    OpenSessionRequest, OpenSessionResponse, Rakp1, Rakp2, Rakp3, Rakp4, Status,
};
use ipmi_proto::wire::rmcp;
use rand::{Rng, SeedableRng};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The attacker's source address: another loopback address than the real console's.
const ATTACKER: &str = "127.0.0.2";
/// No flood runs longer than this, whatever happens to the test.
const FLOOD_CAP: Duration = Duration::from_secs(20);
/// A flood under which a real client must keep working runs at least this long.
const FLOOD_MIN: Duration = Duration::from_secs(3);

// ---- datagrams ----

fn v15(msg: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    rmcp::Repr::ipmi().emit(&mut v);
    ipmi15::Repr {
        auth_type: AuthType::None,
        sequence: 0,
        session_id: 0,
        auth_code: None,
    }
    .emit(msg, &mut v)
    .unwrap();
    v
}

fn v20(ty: PayloadType, session_id: u32, authenticated: bool, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    rmcp::Repr::ipmi().emit(&mut v);
    ipmi20::Repr {
        payload_type: ty,
        encrypted: false,
        authenticated,
        oem: None,
        session_id,
        sequence: if session_id == 0 { 0 } else { 1 },
    }
    .emit(payload.len(), &mut v);
    v.extend_from_slice(payload);
    if authenticated {
        ipmi20::emit_trailer_pad(&mut v);
        v.extend_from_slice(&[0xa5; 12]);
    }
    v
}

fn request(netfn: NetFn, cmd: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    message::Request {
        rs_addr: message::BMC_SLAVE_ADDR,
        netfn,
        rs_lun: 0,
        rq_addr: message::REMOTE_CONSOLE_SWID,
        rq_seq: 1,
        rq_lun: 0,
        cmd,
        data: data.to_vec(),
    }
    .emit(&mut v);
    v
}

fn open_session_request(console_id: u32, suite: (u8, u8, u8)) -> Vec<u8> {
    let mut p = Vec::new();
    OpenSessionRequest {
        tag: 0,
        max_privilege: 4,
        console_session_id: console_id,
        auth: Some(suite.0),
        integrity: Some(suite.1),
        confidentiality: Some(suite.2),
    }
    .emit(&mut p);
    v20(PayloadType::OPEN_SESSION_REQUEST, 0, false, &p)
}

fn challenge_request(name: &[u8]) -> Vec<u8> {
    let body = SessionChallengeRequest::new(AuthType::Md5, name).to_bytes();
    v15(&request(NetFn::APP, 0x39, &body))
}

/// Half-open logins: Open Session Requests (suites 3 and 17) and Get Session Challenges for a
/// real user name and for made-up ones.
fn handshakes(rng: &mut impl Rng) -> Vec<Vec<u8>> {
    (0..512)
        .map(|i| match i % 4 {
            0 => open_session_request(rng.gen(), (3, 4, 1)),
            1 => open_session_request(rng.gen(), (1, 1, 1)),
            2 => challenge_request(b"admin"),
            _ => challenge_request(format!("nobody{}", rng.gen::<u16>()).as_bytes()),
        })
        .collect()
}

/// Malformed datagrams and forgeries: random bytes, truncated headers, RAKP 1 and 3 and
/// in-session packets for random session IDs, RMCP ACKs.
fn junk(rng: &mut impl Rng) -> Vec<Vec<u8>> {
    (0..1024)
        .map(|i| {
            let mut random = vec![0u8; rng.gen_range(0..200)];
            rng.fill(&mut random[..]);
            match i % 8 {
                0 => random,
                1 => {
                    let mut v = vec![0x06, 0x00, 0xff, 0x07];
                    v.extend_from_slice(&random[..random.len().min(20)]);
                    v
                }
                2 => {
                    let mut v = vec![0x06, 0x00, 0xff, 0x07, 0x06, rng.gen_range(0..0x40)];
                    v.extend_from_slice(&random);
                    v
                }
                3 => {
                    let mut p = [0u8; 44];
                    rng.fill(&mut p[..]);
                    p[27] = 5;
                    v20(PayloadType::RAKP1, 0, false, &p[..33])
                }
                4 => {
                    let mut p = [0u8; 28];
                    rng.fill(&mut p[..]);
                    p[1] = 0;
                    v20(PayloadType::RAKP3, 0, false, &p)
                }
                5 => v20(PayloadType::IPMI, rng.gen(), true, &random),
                6 => {
                    // An IPMI 1.5 packet for a random session, with a random MD5 code.
                    let mut v = Vec::new();
                    rmcp::Repr::ipmi().emit(&mut v);
                    ipmi15::Repr {
                        auth_type: AuthType::Md5,
                        sequence: rng.gen(),
                        session_id: rng.gen(),
                        auth_code: Some(rng.gen()),
                    }
                    .emit(&request(NetFn::CHASSIS, 0x02, &[0x00]), &mut v)
                    .unwrap();
                    v
                }
                _ => {
                    // An RMCP ACK and an ASF message that is not a ping.
                    let mut v = vec![0x06, 0x00, 0xff, 0x86];
                    v.extend_from_slice(&random[..random.len().min(8)]);
                    v
                }
            }
        })
        .collect()
}

// ---- floods ----

/// Datagrams a flood keeps in flight: enough that the server never waits for work, few enough
/// that its socket buffer never overflows (the kernel would then drop the real console's
/// datagrams with the flood's, a denial of service that no server can answer).
const IN_FLIGHT: u64 = 128;

/// A thread sending datagrams round and round from the attacker's address as fast as the server
/// takes them, until stopped (or [`FLOOD_CAP`]): `answered` (the server answers every datagram
/// of a login's first step, so counting its answers keeps [`IN_FLIGHT`] going) and after each of
/// them one of `junk`, if any, from another socket.
struct Flood {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flood {
    fn start(port: u16, answered: Vec<Vec<u8>>, junk: Vec<Vec<u8>>) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let bind = || {
            let sock = UdpSocket::bind((ATTACKER, 0)).expect("bind a second loopback address");
            sock.connect(("127.0.0.1", port)).expect("connect");
            sock
        };
        // The answers to the junk (some of it is answered) go to a socket nobody reads.
        let (sock, junk_sock) = (bind(), bind());
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let (s, n) = (stop.clone(), sent.clone());
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let (mut out, mut back) = (0u64, 0u64);
            let mut buf = [0u8; 512];
            let window = if junk.is_empty() {
                IN_FLIGHT
            } else {
                IN_FLIGHT / 2
            };
            while !s.load(Ordering::Relaxed) && start.elapsed() < FLOOD_CAP {
                while out - back < window {
                    let i = out as usize;
                    let _ = sock.send(&answered[i % answered.len()]);
                    if !junk.is_empty() {
                        let _ = junk_sock.send(&junk[i % junk.len()]);
                    }
                    out += 1;
                }
                match sock.recv(&mut buf) {
                    Ok(_) => back += 1,
                    // Answers lost or not sent: go on as if they came.
                    Err(_) => back = out,
                }
                n.store(out * (1 + u64::from(!junk.is_empty())), Ordering::Relaxed);
            }
        });
        Flood {
            stop,
            sent,
            thread: Some(thread),
        }
    }

    /// Stops the flood; the number of datagrams sent.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("flood thread");
        }
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Runs ipmitool during the flood, `rounds` times and for at least [`FLOOD_MIN`] (lanplus, and
/// IPMI 1.5 every third round): each run must answer the power state.
fn ipmitool_keeps_working(bmc: &Bmc, flood: Flood, rounds: usize) {
    let start = Instant::now();
    let mut failures = Vec::new();
    let mut round = 0;
    while round < rounds || start.elapsed() < FLOOD_MIN {
        round += 1;
        let iface = if round % 3 == 2 { "lan" } else { "lanplus" };
        let r = ipmitool(
            bmc,
            iface,
            &[],
            "admin",
            ADMIN_PASSWORD,
            "chassis power status",
        );
        if !(r.ok && r.stdout.trim() == "Chassis Power is on") {
            failures.push(format!("round {round} ({iface}): {}", r.all()));
        }
    }
    let elapsed = start.elapsed();
    let sent = flood.stop();
    assert!(
        failures.is_empty(),
        "ipmitool failed during the flood ({sent} datagrams in {elapsed:?}):\n{}",
        failures.join("\n")
    );
    assert!(
        sent > 10_000,
        "the flood did not flood: {sent} datagrams in {elapsed:?}"
    );
    assert!(answers_ping(bmc.port), "the BMC stopped answering");
    // Lines about failed logins are rationed: the flood must not fill the disk.
    let log = bmc.server_log();
    let lines = log.lines().count();
    assert!(lines < 1_000, "{lines} log lines for {sent} datagrams");
    assert!(!log.contains("panicked"), "{log}");
}

/// A real ipmitool logs in again and again while Open Session Requests and Get Session
/// Challenges (for a real name and made-up ones) arrive from another address as fast as the
/// server takes them: its logins in progress used to be pushed out by the flood's, and every
/// made-up name wrote a log line (issue 11, defect 3).
#[test]
fn ipmitool_logs_in_during_a_handshake_flood() {
    let bmc = Bmc::start();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let flood = Flood::start(bmc.port, handshakes(&mut rng), Vec::new());
    std::thread::sleep(Duration::from_millis(200));
    ipmitool_keeps_working(&bmc, flood, 12);
}

/// The same with malformed datagrams, forged RAKP messages and in-session packets for random
/// session IDs mixed with half-open logins.
#[test]
fn ipmitool_works_during_a_flood_of_junk_and_half_open_logins() {
    let bmc = Bmc::start();
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let flood = Flood::start(bmc.port, handshakes(&mut rng), junk(&mut rng));
    std::thread::sleep(Duration::from_millis(200));
    ipmitool_keeps_working(&bmc, flood, 9);
}

// ---- forged and replayed session packets ----

/// Logs in with our own client over `sock` (connected to the BMC): the session and the
/// datagrams of a Get Chassis Status request, sealed but not sent.
fn own_session(sock: &UdpSocket, requests: usize) -> (Client, Vec<Vec<u8>>) {
    let mut c = Client::new(ClientConfig {
        username: "admin".into(),
        password: Secret::new(ADMIN_PASSWORD.as_bytes().to_vec()),
        kg: None,
        privilege: Privilege::Administrator,
        cipher_suites: vec![17],
        interface: Interface::Lanplus,
    });
    let mut out = c.start();
    let mut buf = [0u8; 1024];
    loop {
        sock.send(&out).unwrap();
        let n = sock.recv(&mut buf).expect("login answer");
        match c.handle(&buf[..n]).unwrap() {
            ClientEvent::Send(next) => out = next,
            ClientEvent::Established => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    let sealed = (0..requests)
        .map(|_| c.request(NetFn::CHASSIS, 0x01, &[]).unwrap())
        .collect();
    (c, sealed)
}

/// Whether anything comes back on `sock` within a quarter second.
fn answered(sock: &UdpSocket) -> bool {
    let mut buf = [0u8; 1024];
    sock.set_read_timeout(Some(Duration::from_millis(250)))
        .unwrap();
    sock.recv(&mut buf).is_ok()
}

/// Session packets with forged session IDs, a live session's packet sent from another address,
/// and replays of a packet already taken get no answer; the session itself goes on.
#[test]
fn forged_and_replayed_session_packets_get_no_answer() {
    let bmc = Bmc::start();
    let console = UdpSocket::bind("127.0.0.1:0").unwrap();
    console.connect(("127.0.0.1", bmc.port)).unwrap();
    console
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let (mut c, sealed) = own_session(&console, 3);
    let attacker = UdpSocket::bind((ATTACKER, 0)).unwrap();
    attacker.connect(("127.0.0.1", bmc.port)).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    for _ in 0..50 {
        attacker
            .send(&v20(PayloadType::IPMI, rng.gen(), true, &[0; 32]))
            .unwrap();
        let mut v15 = Vec::new();
        rmcp::Repr::ipmi().emit(&mut v15);
        ipmi15::Repr {
            auth_type: AuthType::Md5,
            sequence: rng.gen(),
            session_id: rng.gen(),
            auth_code: Some(rng.gen()),
        }
        .emit(&request(NetFn::CHASSIS, 0x02, &[0]), &mut v15)
        .unwrap();
        attacker.send(&v15).unwrap();
    }
    assert!(!answered(&attacker), "a forged session ID was answered");
    // The session's own sealed request, from the attacker's address: dropped.
    attacker.send(&sealed[0]).unwrap();
    assert!(
        !answered(&attacker),
        "a session's packet answered at another address"
    );
    // From the console it is taken once; its replay is dropped.
    console.send(&sealed[0]).unwrap();
    assert!(answered(&console), "the real request");
    console.send(&sealed[0]).unwrap();
    assert!(!answered(&console), "a replayed request was answered");
    // The session goes on: the answer to the last request sealed is the client's to take.
    console.send(&sealed[2]).unwrap();
    let mut buf = [0u8; 1024];
    let n = console.recv(&mut buf).expect("answered");
    assert!(matches!(c.handle(&buf[..n]), Ok(ClientEvent::Response(r)) if r.cmd == 0x01));
}

// ---- password guessing ----

/// One online guess at admin's password over RMCP+ (cipher suite 17) from `sock`: Open Session,
/// RAKP 1, then RAKP 3 keyed with the guess. `Err` with RAKP 2's status if the BMC refused
/// before, else RAKP 4's status.
fn guess(sock: &UdpSocket, password: &[u8]) -> Result<Status, Status> {
    guess_as(sock, b"admin", password)
}

/// [`guess`] as `user`.
fn guess_as(sock: &UdpSocket, user: &[u8], password: &[u8]) -> Result<Status, Status> {
    let mut rng = rand::rngs::StdRng::from_entropy();
    let mut buf = [0u8; 512];
    let mut exchange = |out: &[u8]| {
        sock.send(out).unwrap();
        let n = sock.recv(&mut buf).expect("an answer");
        let parsed = ipmi20::Repr::parse(&buf[4..n]).expect("RMCP+ answer");
        parsed.payload.to_vec()
    };
    let console_id: u32 = rng.gen_range(1..u32::MAX);
    let open = exchange(&open_session_request(console_id, (3, 4, 1)));
    let open = OpenSessionResponse::parse(&open).unwrap();
    assert_eq!(open.status, Status::OK);
    let console_random: [u8; 16] = rng.gen();
    let mut p = Vec::new();
    Rakp1 {
        tag: 0,
        bmc_session_id: open.bmc_session_id,
        console_random,
        role: 0x14,
        username: user.to_vec(),
    }
    .emit(&mut p);
    let rakp2 = Rakp2::parse(&exchange(&v20(PayloadType::RAKP1, 0, false, &p))).unwrap();
    if rakp2.status != Status::OK {
        return Err(rakp2.status);
    }
    let x = Exchange {
        console_session_id: console_id,
        bmc_session_id: open.bmc_session_id,
        console_random,
        bmc_random: rakp2.bmc_random,
        bmc_guid: rakp2.bmc_guid,
        role: 0x14,
        username: user.to_vec(),
    };
    let mut p = Vec::new();
    Rakp3 {
        tag: 0,
        status: Status::OK,
        bmc_session_id: open.bmc_session_id,
        auth_code: x.rakp3_auth_code(AuthAlgorithm::HmacSha256, password),
    }
    .emit(&mut p);
    let rakp4 = Rakp4::parse(&exchange(&v20(PayloadType::RAKP3, 0, false, &p))).unwrap();
    Ok(rakp4.status)
}

/// Issue 19, defect 9: a user name with a newline, sent in a RAKP 1 by anyone who can send a
/// datagram, stays inside its log line (escaped) instead of writing a line of its own.
#[test]
fn a_user_name_with_a_newline_forges_no_log_line() {
    let bmc = Bmc::start();
    let sock = UdpSocket::bind(("127.0.0.1", 0)).unwrap();
    sock.connect(("127.0.0.1", bmc.port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let refused = guess_as(&sock, b"x\nFORGED: ok\x1b[2J", b"whatever");
    assert!(refused.is_err(), "{refused:?}");
    assert!(eventually(5, || bmc.server_log().contains("unknown user")));
    let log = bmc.server_log();
    assert!(
        !log.lines().any(|l| l.starts_with("FORGED")) && !log.contains('\x1b'),
        "{log}"
    );
    assert!(log.contains(r#"x\nFORGED: ok"#), "{log}");
}

/// Guessing admin's password from 127.0.0.2 is locked out after five failures, the right
/// password included, while the real administrator logs in from 127.0.0.1 all along.
#[test]
fn password_guessing_is_locked_out_per_source_while_the_real_user_logs_in() {
    let bmc = Bmc::start();
    let guesser = UdpSocket::bind((ATTACKER, 0)).unwrap();
    guesser.connect(("127.0.0.1", bmc.port)).unwrap();
    guesser
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    for n in 0..5 {
        let wrong = format!("guess-{n}");
        assert_eq!(
            guess(&guesser, wrong.as_bytes()),
            Ok(Status::INVALID_INTEGRITY_CHECK),
            "guess {n}"
        );
        assert_eq!(
            admin(&bmc, "chassis power status").trim(),
            "Chassis Power is on"
        );
    }
    assert_eq!(
        guess(&guesser, ADMIN_PASSWORD.as_bytes()),
        Err(Status::INSUFFICIENT_RESOURCES),
        "the right password after five wrong ones from the same address"
    );
    assert_eq!(
        admin(&bmc, "chassis power status").trim(),
        "Chassis Power is on",
        "the real administrator, from another address"
    );
    let log = bmc.server_log();
    assert!(
        log.contains("locked out") && log.contains("127.0.0.2"),
        "{log}"
    );
}

// ---- privileges ----

/// A user-level account cannot raise its session with Set Session Privilege Level (0x81: above
/// the user's limit), cannot ask for more at login, and its power-off is refused.
#[test]
fn set_session_privilege_above_the_users_limit_is_refused() {
    let bmc = Bmc::start();
    let viewer = |extra: &[&str], args: &str| {
        ipmitool(&bmc, "lanplus", extra, "viewer", VIEWER_PASSWORD, args)
    };
    for level in ["0x03", "0x04"] {
        let r = viewer(&["-L", "USER"], &format!("raw 0x06 0x3b {level}"));
        assert!(
            !r.ok && r.all().contains("rsp=0x81"),
            "{level}: {}",
            r.all()
        );
    }
    let r = viewer(&["-L", "USER"], "raw 0x06 0x3b 0x02");
    assert!(r.ok, "its own level: {}", r.all());
    let r = viewer(&["-L", "ADMINISTRATOR"], "chassis power status");
    assert!(!r.ok, "administrator at login: {}", r.all());
    let r = viewer(&["-L", "USER"], "chassis power off");
    assert!(
        !r.ok && r.all().contains("Insufficient privilege"),
        "power off as a user: {}",
        r.all()
    );
    assert_eq!(
        admin(&bmc, "chassis power status").trim(),
        "Chassis Power is on"
    );
}

/// Out of the box: cipher suite 0 (no authentication) and IPMI 1.5 logins with auth type none,
/// straight password or MD2 are refused; MD5 works.
#[test]
fn cipher_0_and_ipmi15_none_and_straight_are_refused_by_default() {
    let bmc = Bmc::start();
    let run = |iface: &str, extra: &[&str]| {
        ipmitool(
            &bmc,
            iface,
            extra,
            "admin",
            ADMIN_PASSWORD,
            "chassis power status",
        )
    };
    let r = run("lanplus", &["-C", "0"]);
    assert!(
        !r.ok && r.all().contains("no matching cipher suite"),
        "cipher suite 0: {}",
        r.all()
    );
    for auth in ["NONE", "PASSWORD", "MD2"] {
        let r = run("lan", &["-A", auth]);
        assert!(!r.ok, "IPMI 1.5 auth type {auth}: {}", r.all());
    }
    let r = run("lan", &["-A", "MD5"]);
    assert_eq!(r.out().trim(), "Chassis Power is on");
    // ipmitool gives up as the channel does not offer them; a client that asks anyway is refused
    // with "invalid data field" (0xCC).
    let sock = UdpSocket::bind((ATTACKER, 0)).unwrap();
    sock.connect(("127.0.0.1", bmc.port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    for auth in [AuthType::None, AuthType::Straight, AuthType::Md2] {
        let body = SessionChallengeRequest::new(auth, b"admin").to_bytes();
        sock.send(&v15(&request(NetFn::APP, 0x39, &body))).unwrap();
        let mut buf = [0u8; 256];
        let n = sock.recv(&mut buf).expect("an answer");
        let (_, msg) = ipmi15::Repr::parse(&buf[4..n]).unwrap();
        let r = message::Response::parse(msg).unwrap();
        assert_eq!(r.ccode, CompletionCode::INVALID_FIELD, "{auth:?}");
    }
}
