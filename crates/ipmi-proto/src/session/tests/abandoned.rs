//! Logins abandoned after RAKP 2: a console with the wrong password (ipmitool, FreeIPMI) checks
//! the BMC's RAKP 2 itself, finds it wrong and stops without a RAKP 3, so the BMC never sees the
//! password. Such a login counts as failed once it ends (expired, pushed out, started over),
//! with the same lockout as a wrong RAKP 3; logins still in progress never count, so parallel
//! logins that finish never lock each other out.

use super::{peer, rakp12_at, rakp34_at, reply, server, server_with, v20_setup};
use crate::crypto::rakp::Exchange;
use crate::session::config::{LoginPolicy, ServerConfig};
use crate::session::server::Server;
use crate::session::{LoginFailure, ServerStats};
use crate::wire::ipmi20::{self, PayloadType};
use crate::wire::rakp::{OpenSessionRequest, OpenSessionResponse, Rakp1, Rakp2, Status};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// `peer()`'s address with another port: another console process on the same host.
fn port(n: u16) -> SocketAddr {
    SocketAddr::new(peer().ip(), 20_000 + n)
}

/// The failed logins counted as abandoned after RAKP 2, found by their metric label.
fn abandoned(st: &ServerStats) -> u64 {
    let why = LoginFailure::ALL
        .iter()
        .find(|w| w.name() == "abandoned_after_rakp2")
        .expect("a reason for logins abandoned after RAKP 2");
    st.failed(*why)
}

/// A login as admin from `from` at `now` left after RAKP 2, as a wrong-password console leaves
/// it; the BMC's RAKP 2 must carry a code. The exchange, to finish it with.
fn abandon(s: &mut Server, now: Instant, from: SocketAddr) -> Exchange {
    let (r2, x) = rakp12_at(s, now, from, 17, "admin", 0x14);
    assert_eq!(r2.status, Status::OK);
    assert!(!r2.auth_code.is_empty());
    x
}

/// Open Session for suite 17 from `from` at `now`: the BMC's session ID.
fn open(s: &mut Server, now: Instant, from: SocketAddr, console_id: u32) -> u32 {
    let mut p = Vec::new();
    OpenSessionRequest {
        tag: 1,
        max_privilege: 0,
        console_session_id: console_id,
        auth: Some(3),
        integrity: Some(4),
        confidentiality: Some(1),
    }
    .emit(&mut p);
    let r = reply(s.handle(now, from, &v20_setup(PayloadType::OPEN_SESSION_REQUEST, &p)));
    let open = OpenSessionResponse::parse(ipmi20::Repr::parse(&r[4..]).unwrap().payload).unwrap();
    assert_eq!(open.status, Status::OK);
    open.bmc_session_id
}

/// RAKP 1 for admin under `tag` with `console_random`: the BMC's RAKP 2.
fn rakp1(s: &mut Server, now: Instant, bmc_id: u32, tag: u8, console_random: [u8; 16]) -> Rakp2 {
    let mut p = Vec::new();
    Rakp1 {
        tag,
        bmc_session_id: bmc_id,
        console_random,
        role: 0x14,
        username: b"admin".to_vec(),
    }
    .emit(&mut p);
    let r = reply(s.handle(now, peer(), &v20_setup(PayloadType::RAKP1, &p)));
    Rakp2::parse(ipmi20::Repr::parse(&r[4..]).unwrap().payload).unwrap()
}

/// Five wrong-password consoles (separate processes: separate ports) leave their logins after
/// RAKP 2. Nothing counts while they may still answer; 10 s after RAKP 2 they have expired
/// (not 30 s: see `RAKP3_TIMEOUT`) and count as five failed logins, which lock admin out from
/// that address as five wrong RAKP 3s would.
#[test]
fn logins_abandoned_after_rakp2_count_as_failed_when_they_expire() {
    let mut s = server();
    let t0 = Instant::now();
    for n in 0..5 {
        abandon(&mut s, t0, port(n));
    }
    s.expire(t0 + Duration::from_secs(9));
    assert_eq!(abandoned(&s.stats()), 0, "still waiting for RAKP 3");
    assert_eq!(s.stats().lockouts, 0);
    let t1 = t0 + Duration::from_secs(11);
    s.expire(t1);
    let st = s.stats();
    assert_eq!(abandoned(&st), 5, "{st:?}");
    assert_eq!((st.handshakes_expired, st.lockouts), (5, 1));
    let (r2, _) = rakp12_at(&mut s, t1, port(9), 17, "admin", 0x14);
    assert_eq!(r2.status, Status::INSUFFICIENT_RESOURCES, "locked out");
    // Another name from that address, and admin from another address, are not.
    let (r2, _) = rakp12_at(&mut s, t1, port(9), 3, "viewer", 0x12);
    assert_eq!(r2.status, Status::OK);
    let elsewhere = SocketAddr::new("127.0.0.9".parse().unwrap(), 623);
    let (r2, x) = rakp12_at(&mut s, t1, elsewhere, 17, "admin", 0x14);
    assert_eq!(r2.status, Status::OK);
    assert_eq!(
        rakp34_at(&mut s, t1, elsewhere, 17, &x, b"secret").status,
        Status::OK
    );
    // After the lockout, the right password logs in.
    let t2 = t1 + Duration::from_secs(31);
    let (r2, x) = rakp12_at(&mut s, t2, port(9), 17, "admin", 0x14);
    assert_eq!(r2.status, Status::OK);
    assert_eq!(
        rakp34_at(&mut s, t2, port(9), 17, &x, b"secret").status,
        Status::OK
    );
}

/// A conductor running many ipmitool at once: twenty logins of one user from one address, all
/// past RAKP 2 together (four times the failures allowed), then all finished. None counts, and
/// of a second round the one never finished counts once, alone: no lockout.
#[test]
fn parallel_logins_that_finish_never_count() {
    let mut s = server();
    let t0 = Instant::now();
    for round in 0..2u16 {
        let now = t0 + Duration::from_secs(u64::from(round) * 20);
        let logins: Vec<(SocketAddr, Exchange)> = (0..20)
            .map(|n| {
                let from = port(round * 100 + n);
                let (r2, x) = rakp12_at(&mut s, now, from, 17, "admin", 0x14);
                assert_eq!(r2.status, Status::OK, "login {n} of round {round}");
                (from, x)
            })
            .collect();
        let finish = if round == 0 { 20 } else { 19 };
        for (from, x) in &logins[..finish] {
            let later = now + Duration::from_secs(1);
            assert_eq!(
                rakp34_at(&mut s, later, *from, 17, x, b"secret").status,
                Status::OK
            );
        }
        s.expire(now + Duration::from_secs(15));
    }
    let st = s.stats();
    assert_eq!(st.opened_rmcp_plus, 39);
    assert_eq!((abandoned(&st), st.lockouts), (1, 0), "{st:?}");
}

/// Locked out, RAKP 1 gets status "insufficient resources" and no code material: no HMAC, no
/// random number, no GUID; so a locked-out address and name collect no more RAKP 2 codes, not
/// even by repeating a RAKP 1 answered before the lockout.
#[test]
fn a_locked_out_name_gets_no_more_rakp2_codes() {
    let mut s = server_with(|c| ServerConfig {
        login_policy: LoginPolicy {
            max_failures: 3,
            ..LoginPolicy::default()
        },
        ..c
    });
    let t0 = Instant::now();
    for n in 0..3 {
        abandon(&mut s, t0, port(n));
    }
    // Answered before the lockout: its RAKP 1 repeated later must not get a code either.
    let held = open(&mut s, t0, peer(), 0x77);
    let t_held = t0 + Duration::from_secs(5);
    assert_eq!(rakp1(&mut s, t_held, held, 1, [1; 16]).status, Status::OK);
    let t1 = t0 + Duration::from_secs(11);
    s.expire(t1);
    assert_eq!(s.stats().lockouts, 1, "{:?}", s.stats());
    let refused = s.stats().failed(LoginFailure::LockedOut);
    for r2 in [
        rakp12_at(&mut s, t1, port(7), 17, "admin", 0x14).0,
        rakp12_at(&mut s, t1, port(8), 3, "admin", 0x04).0,
        rakp1(&mut s, t1, held, 2, [1; 16]),
    ] {
        assert_eq!(r2.status, Status::INSUFFICIENT_RESOURCES);
        assert!(r2.auth_code.is_empty(), "{r2:?}");
        assert_eq!((r2.bmc_random, r2.bmc_guid), ([0; 16], [0; 16]));
    }
    let st = s.stats();
    assert_eq!(st.failed(LoginFailure::LockedOut), refused + 3);
    // The login held past RAKP 2 ended there, without a RAKP 3: abandoned as well.
    assert_eq!(abandoned(&st), 4);
}

/// A RAKP 1 repeated because the RAKP 2 was lost (FreeIPMI repeats it under a new tag) gets the
/// same RAKP 2 again, not a new code, and the login goes on. Another RAKP 1 for the same login
/// (another random number) starts it over: the RAKP 2 sent before counts as abandoned at once.
#[test]
fn a_repeated_rakp1_gets_the_same_rakp2_and_another_one_counts() {
    let mut s = server();
    let t0 = Instant::now();
    let id = open(&mut s, t0, peer(), 0x55);
    let first = rakp1(&mut s, t0, id, 1, [7; 16]);
    let again = rakp1(&mut s, t0 + Duration::from_secs(1), id, 2, [7; 16]);
    assert_eq!(first.status, Status::OK);
    assert_eq!(
        (again.bmc_random, &again.auth_code),
        (first.bmc_random, &first.auth_code),
        "a repeated RAKP 1 yields the same code"
    );
    assert_eq!(abandoned(&s.stats()), 0);
    let other = rakp1(&mut s, t0 + Duration::from_secs(2), id, 3, [8; 16]);
    assert_eq!(other.status, Status::OK);
    assert_ne!(other.auth_code, first.auth_code);
    assert_eq!(abandoned(&s.stats()), 1, "the first exchange was abandoned");
    // The login started over finishes with its latest exchange.
    let x = Exchange {
        console_session_id: 0x55,
        bmc_session_id: id,
        console_random: [8; 16],
        bmc_random: other.bmc_random,
        bmc_guid: other.bmc_guid,
        role: 0x14,
        username: b"admin".to_vec(),
    };
    let r4 = rakp34_at(
        &mut s,
        t0 + Duration::from_secs(2),
        peer(),
        17,
        &x,
        b"secret",
    );
    assert_eq!(r4.status, Status::OK);
    s.expire(t0 + Duration::from_secs(60));
    assert_eq!(abandoned(&s.stats()), 1);
}

/// ipmitool, when its RAKP 2 does not come, opens a new session from the same port; a console
/// that logs in as the same user from the same port again has given up its earlier login past
/// RAKP 2, which counts at once. Five such, and the sixth RAKP 1 is refused without a code.
#[test]
fn a_console_starting_over_counts_its_earlier_login_at_once() {
    let mut s = server();
    let t0 = Instant::now();
    for n in 0..5 {
        abandon(&mut s, t0, peer());
        assert_eq!(abandoned(&s.stats()), n);
    }
    let (r2, _) = rakp12_at(&mut s, t0, peer(), 17, "admin", 0x14);
    assert_eq!(r2.status, Status::INSUFFICIENT_RESOURCES);
    assert!(r2.auth_code.is_empty());
    assert_eq!((abandoned(&s.stats()), s.stats().lockouts), (5, 1));
}

/// Logins past RAKP 2 pushed out by a flood count as abandoned; but floods of Open Session
/// Requests, from the console's address or from many (anyone can spoof them), push out the
/// logins that have not reached RAKP 2 first, so they cannot have a console's logins counted as
/// failures: those logins finish.
#[test]
fn floods_push_out_logins_before_rakp2_first() {
    let t0 = Instant::now();
    let elsewhere = |n: u32| SocketAddr::new(std::net::Ipv4Addr::from(0x0a00_0000 + n).into(), 623);
    for spread in [false, true] {
        let mut s = server();
        let held: Vec<_> = (0..4)
            .map(|n| (port(n), abandon(&mut s, t0, port(n))))
            .collect();
        for n in 0..600u32 {
            let from = if spread {
                elsewhere(n)
            } else {
                port(1000 + n as u16)
            };
            open(&mut s, t0, from, 0x1000 + n);
        }
        let st = s.stats();
        assert!(st.handshakes_evicted > 100, "{st:?}");
        assert_eq!(abandoned(&st), 0, "{st:?}");
        for (from, x) in &held {
            let r4 = rakp34_at(&mut s, t0, *from, 17, x, b"secret");
            assert_eq!(r4.status, Status::OK, "spread {spread}");
        }
    }
    // All 32 of an address past RAKP 2: the oldest of them goes, and counts.
    let mut s = server();
    for n in 0..33 {
        abandon(&mut s, t0, port(n));
    }
    let st = s.stats();
    assert_eq!((abandoned(&st), st.handshakes_evicted), (1, 1), "{st:?}");
}
