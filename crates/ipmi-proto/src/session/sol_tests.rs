//! Tests of Serial over LAN in the server: activation and its refusals, the packet stream with
//! its acknowledgements, retransmissions, partial acceptance and NACKs, and deactivation.

use super::action::Action;
use super::cipher_suite::CipherSuite;
use super::seal::{open_v20_as, seal_v20_as, Keys};
use super::server::Server;
use super::sol::SolEvent;
use super::tests::{peer, rakp12, rakp34, reply, request, server};
use crate::crypto::rakp::derive_key;
use crate::types::{CompletionCode, NetFn};
use crate::wire::ipmi20::{self, PayloadType};
use crate::wire::sol::{op, status, Repr};
use crate::wire::{message, rmcp};
use rand::SeedableRng;
use std::time::{Duration, Instant};

/// The remote console's side of an RMCP+ session, built by hand.
struct Console {
    suite: CipherSuite,
    k1: Vec<u8>,
    k2: Vec<u8>,
    bmc_id: u32,
    seq: u32,
    rq_seq: u8,
    rng: rand::rngs::StdRng,
}

fn login(s: &mut Server, suite: u8, user: &str, pw: &[u8], role: u8) -> Console {
    let cs = CipherSuite::by_id(suite).unwrap();
    let (r2, x) = rakp12(s, suite, user, role);
    assert_eq!(r2.status.0, 0);
    assert_eq!(rakp34(s, suite, &x, pw).status.0, 0);
    let sik = x.sik(cs.auth, pw);
    let mut c = Console {
        suite: cs,
        k1: derive_key(cs.auth, &sik, 1).to_vec(),
        k2: derive_key(cs.auth, &sik, 2).to_vec(),
        bmc_id: x.bmc_session_id,
        seq: 0,
        rq_seq: 0,
        rng: rand::rngs::StdRng::seed_from_u64(3),
    };
    // Sessions start at user level: raise to the level logged in for, as ipmitool does.
    let r = c.ask(s, NetFn::APP, 0x3b, &[role & 0x0f]);
    assert_eq!(r.ccode, CompletionCode::OK);
    c
}

impl Console {
    fn keys(&self) -> Keys<'_> {
        Keys {
            suite: self.suite,
            k1: &self.k1,
            k2: &self.k2,
        }
    }

    fn seal(&mut self, ty: PayloadType, payload: &[u8], protection: (bool, bool)) -> Vec<u8> {
        self.seq += 1;
        let keys = Keys {
            suite: self.suite,
            k1: &self.k1,
            k2: &self.k2,
        };
        seal_v20_as(
            ty,
            self.bmc_id,
            self.seq,
            payload,
            Some(keys),
            protection,
            &mut self.rng,
        )
    }

    /// A request in the suite's full protection, and the response the server answers with.
    fn ask(&mut self, s: &mut Server, netfn: NetFn, cmd: u8, data: &[u8]) -> message::Response {
        self.rq_seq = self.rq_seq.wrapping_add(1);
        let msg = request(netfn, cmd, self.rq_seq, data);
        let dgram = self.seal(PayloadType::IPMI, &msg, (true, true));
        let back = reply(s.handle(Instant::now(), peer(), &dgram));
        let (ty, plain) = self.open(&back);
        assert_eq!(ty, PayloadType::IPMI);
        message::Response::parse(&plain).unwrap()
    }

    fn activate(&mut self, s: &mut Server, aux: u8) -> message::Response {
        self.ask(s, NetFn::APP, 0x48, &[1, 1, aux, 0, 0, 0])
    }

    fn sol(&mut self, s: &mut Server, now: Instant, p: &Repr) -> Action {
        let dgram = self.seal(PayloadType::SOL, &p.to_bytes(), (true, true));
        s.handle(now, peer(), &dgram)
    }

    /// The payload type and clear payload of a datagram from the server.
    fn open(&self, dgram: &[u8]) -> (PayloadType, Vec<u8>) {
        let p = ipmi20::Packet::new_checked(rmcp::Packet::new_checked(dgram).unwrap().payload())
            .unwrap();
        let prot = (p.encrypted(), p.authenticated());
        let plain = open_v20_as(&p, &self.keys(), prot).unwrap().into_owned();
        (p.payload_type(), plain)
    }

    fn sol_from(&self, dgram: &[u8]) -> Repr {
        let (ty, plain) = self.open(dgram);
        assert_eq!(ty, PayloadType::SOL);
        Repr::parse(&plain).unwrap()
    }
}

const ENC_AUTH: u8 = 0xc6;

#[test]
fn one_instance_activated_refused_twice_and_taken_over() {
    let mut s = server();
    let mut a = login(&mut s, 17, "admin", b"secret", 0x14);
    let r = a.activate(&mut s, ENC_AUTH);
    assert_eq!(r.ccode, CompletionCode::OK);
    assert_eq!(
        r.data,
        [0, 0, 0, 0, 0x03, 0x01, 0x03, 0x01, 0x6f, 0x02, 0xff, 0xff]
    );
    let poll = s.sol_poll(Instant::now());
    assert!(matches!(&poll.events[..], [SolEvent::Activated { user, .. }] if user == "admin"));
    let mut b = login(&mut s, 3, "admin", b"secret", 0x14);
    assert_eq!(b.activate(&mut s, ENC_AUTH).ccode.0, 0x80, "already active");
    let st = b.ask(&mut s, NetFn::APP, 0x4a, &[1]);
    assert_eq!(st.data, [1, 1, 0]);
    let info = b.ask(&mut s, NetFn::APP, 0x4b, &[1, 1]);
    assert_eq!(info.data[..4], a.bmc_id.to_le_bytes());
    // B deactivates A's instance: A's console gets "deactivating" and an empty datagram.
    assert_eq!(
        b.ask(&mut s, NetFn::APP, 0x49, &[1, 1, 0, 0, 0, 0]).ccode,
        CompletionCode::OK
    );
    let poll = s.sol_poll(Instant::now());
    assert_eq!(poll.send.len(), 2);
    let last = a.sol_from(&poll.send[0].1);
    assert!(last.has(status::DEACTIVATING));
    assert!(poll.send[1].1.is_empty());
    assert!(matches!(&poll.events[..], [SolEvent::Deactivated { .. }]));
    assert_eq!(
        b.ask(&mut s, NetFn::APP, 0x49, &[1, 1, 0, 0, 0, 0]).ccode.0,
        0x80
    );
    assert_eq!(b.activate(&mut s, ENC_AUTH).ccode, CompletionCode::OK);
    // Closing B's session ends its instance; A may activate again.
    let close = b.ask(&mut s, NetFn::APP, 0x3c, &b.bmc_id.to_le_bytes());
    assert_eq!(close.ccode, CompletionCode::OK);
    assert_eq!(a.activate(&mut s, ENC_AUTH).ccode, CompletionCode::OK);
}

#[test]
fn refusals_follow_the_configuration() {
    // Suite 2 (integrity without confidentiality) is off by default: offer it here.
    let mut s = super::tests::server_with(|c| super::config::ServerConfig {
        cipher_suites: vec![3, 17, 2],
        ..c
    });
    let mut admin = login(&mut s, 3, "admin", b"secret", 0x14);
    // Suite 2 has integrity but no confidentiality: encryption cannot be had.
    let mut plain = login(&mut s, 2, "admin", b"secret", 0x14);
    assert_eq!(plain.activate(&mut s, ENC_AUTH).ccode.0, 0x83);
    // Encryption is forced by default: asking for none in an encrypting session is refused.
    assert_eq!(admin.activate(&mut s, 0x40).ccode.0, 0x84);
    // Disabled: 0x81.
    let set = |c: &mut Console, s: &mut Server, p: u8, d: &[u8]| {
        let mut data = vec![1, p];
        data.extend_from_slice(d);
        c.ask(s, NetFn::TRANSPORT, 0x21, &data).ccode
    };
    assert_eq!(set(&mut admin, &mut s, 1, &[0]), CompletionCode::OK);
    assert_eq!(admin.activate(&mut s, ENC_AUTH).ccode.0, 0x81);
    assert_eq!(set(&mut admin, &mut s, 1, &[1]), CompletionCode::OK);
    // SOL needs operator now: a user-level session is refused, and may not set SOL parameters.
    assert_eq!(set(&mut admin, &mut s, 2, &[0xc3]), CompletionCode::OK);
    let mut viewer = login(&mut s, 3, "viewer", b"look", 0x12);
    assert_eq!(
        viewer.activate(&mut s, ENC_AUTH).ccode,
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );
    assert_eq!(
        set(&mut viewer, &mut s, 1, &[0]),
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );
    let get = viewer.ask(&mut s, NetFn::TRANSPORT, 0x22, &[1, 2, 0, 0]);
    assert_eq!(get.data, [0x11, 0xc3]);
    assert_eq!(
        viewer
            .ask(&mut s, NetFn::TRANSPORT, 0x22, &[1, 9, 0, 0])
            .ccode
            .0,
        0x80
    );
    let support = viewer.ask(&mut s, NetFn::APP, 0x4e, &[0x0e]);
    assert_eq!(support.data, [3, 0, 0x3f, 0, 0, 0, 0, 0]);
    assert_eq!(
        viewer.ask(&mut s, NetFn::APP, 0x4f, &[0x0e, 1]).data,
        [0x10]
    );
    assert_eq!(
        viewer.ask(&mut s, NetFn::APP, 0x4f, &[0x0e, 5]).ccode.0,
        0x80
    );
    assert_eq!(admin.activate(&mut s, ENC_AUTH).ccode, CompletionCode::OK);
}

/// Activates SOL in a suite-17 session with short settings; returns the console.
fn active(s: &mut Server) -> Console {
    let mut c = login(s, 17, "admin", b"secret", 0x14);
    // Retry: 2 more sends, 100 ms apart; accumulate 50 ms or 10 characters.
    for (p, d) in [(4u8, [2u8, 10]), (3, [10, 10])] {
        let r = c.ask(s, NetFn::TRANSPORT, 0x21, &[1, p, d[0], d[1]]);
        assert_eq!(r.ccode, CompletionCode::OK);
    }
    assert_eq!(c.activate(s, ENC_AUTH).ccode, CompletionCode::OK);
    let _ = s.sol_poll(Instant::now());
    c
}

#[test]
fn output_is_sent_again_until_acked_and_the_rest_of_a_partial_ack_follows() {
    let mut s = server();
    let mut c = active(&mut s);
    let t0 = Instant::now();
    assert_eq!(s.sol_output(t0, b"hello"), 5);
    let poll = s.sol_poll(t0);
    assert!(poll.send.is_empty(), "held for the accumulate interval");
    assert_eq!(poll.next, Some(t0 + Duration::from_millis(50)));
    let t1 = t0 + Duration::from_millis(50);
    let poll = s.sol_poll(t1);
    let p = c.sol_from(&poll.send[0].1);
    assert_eq!((p.seq, p.data.as_slice()), (1, &b"hello"[..]));
    assert!(s.sol_poll(t1 + Duration::from_millis(50)).send.is_empty());
    // Not acknowledged: the same packet again.
    let again = s.sol_poll(t1 + Duration::from_millis(100));
    assert_eq!(c.sol_from(&again.send[0].1), p);
    // Two of five accepted: "llo" goes out at once under the next number.
    let ack = Repr {
        ack_seq: 1,
        accepted: 2,
        ..Repr::default()
    };
    assert!(matches!(c.sol(&mut s, t1, &ack), Action::Drop(_)));
    let poll = s.sol_poll(t1 + Duration::from_millis(101));
    let p = c.sol_from(&poll.send[0].1);
    assert_eq!((p.seq, p.data.as_slice()), (2, &b"llo"[..]));
    // Never acknowledged: after the first send and 2 retries, dropped.
    for k in 1..=2u64 {
        let t = t1 + Duration::from_millis(101 + 100 * k);
        assert_eq!(s.sol_poll(t).send.len(), 1);
    }
    let t = t1 + Duration::from_millis(101 + 300);
    assert!(s.sol_poll(t).send.is_empty());
    // Ten characters go out at once (the send threshold), saying that some were lost.
    assert_eq!(s.sol_output(t, b"0123456789"), 10);
    let p = c.sol_from(&s.sol_poll(t).send[0].1);
    assert_eq!((p.seq, p.data.len()), (3, 10));
    assert!(p.has(status::TRANSMIT_OVERRUN));
}

#[test]
fn input_is_acked_taken_once_and_nack_holds_output() {
    let mut s = server();
    let mut c = active(&mut s);
    let t = Instant::now();
    let typed = Repr {
        seq: 1,
        data: b"ls\r".to_vec(),
        ..Repr::default()
    };
    let back = reply(c.sol(&mut s, t, &typed));
    let ack = c.sol_from(&back);
    assert_eq!((ack.seq, ack.ack_seq, ack.accepted), (0, 1, 3));
    assert!(s.sol_dirty());
    assert_eq!(s.sol_poll(t).input, b"ls\r");
    // The console did not get the ack and sends packet 1 again: acked, not typed twice.
    let back = reply(c.sol(&mut s, t, &typed));
    let ack = c.sol_from(&back);
    assert_eq!((ack.ack_seq, ack.accepted), (1, 3));
    assert!(s.sol_poll(t).input.is_empty());
    // A break.
    let brk = Repr {
        seq: 2,
        flags: op::BREAK,
        ..Repr::default()
    };
    let _ = reply(c.sol(&mut s, t, &brk));
    assert!(s.sol_poll(t).events.contains(&SolEvent::Break));
    // The console NACKs our packet: the output waits until it sends a packet without NACK.
    s.sol_output(t, b"0123456789");
    let p = c.sol_from(&s.sol_poll(t).send[0].1);
    let nack = Repr {
        ack_seq: p.seq,
        flags: op::NACK,
        ..Repr::default()
    };
    let _ = c.sol(&mut s, t, &nack);
    assert!(s.sol_poll(t + Duration::from_secs(1)).send.is_empty());
    let ready = Repr {
        seq: 3,
        ..Repr::default()
    };
    let _ = reply(c.sol(&mut s, t, &ready));
    let p2 = c.sol_from(&s.sol_poll(t + Duration::from_secs(1)).send[0].1);
    assert_eq!(p2.data, b"0123456789");
    assert_ne!(p2.seq, p.seq);
}

/// The retransmissions real consoles send when our acknowledgement is lost: ipmiconsole sends
/// the packet again with its piggybacked ack cleared, pyghmi sends it unchanged, both under a
/// new session sequence number; a break, and a packet we took only part of, come again too.
#[test]
fn packets_sent_again_are_acked_again_and_taken_once() {
    use super::sol::INPUT_BUFFER;
    let mut s = server();
    let mut c = active(&mut s);
    let t = Instant::now();
    let ack_of = |c: &mut Console, s: &mut Server, p: &Repr| {
        let back = reply(c.sol(s, t, p));
        let a = c.sol_from(&back);
        (a.seq, a.ack_seq, a.accepted)
    };
    // Our output packet 1, acknowledged by a packet that also carries a key (ipmiconsole).
    assert_eq!(s.sol_output(t, b"0123456789"), 10);
    let out = c.sol_from(&s.sol_poll(t).send[0].1);
    let typed = Repr {
        seq: 1,
        ack_seq: out.seq,
        accepted: 10,
        data: b"x".to_vec(),
        ..Repr::default()
    };
    assert_eq!(ack_of(&mut c, &mut s, &typed), (0, 1, 1));
    assert_eq!(s.sol_poll(t).input, b"x");
    // Sent again with the ack cleared, after more output went out in between.
    assert_eq!(s.sol_output(t, b"more output"), 11);
    let next = c.sol_from(&s.sol_poll(t).send[0].1);
    assert_eq!((next.seq, next.data.as_slice()), (2, &b"more output"[..]));
    let again = Repr {
        ack_seq: 0,
        accepted: 0,
        ..typed.clone()
    };
    assert_eq!(ack_of(&mut c, &mut s, &again), (0, 1, 1));
    let poll = s.sol_poll(t);
    assert!(poll.input.is_empty() && poll.send.is_empty(), "{poll:?}");
    // A break, sent again: one break.
    let brk = Repr {
        seq: 2,
        flags: op::BREAK,
        ..Repr::default()
    };
    assert_eq!(ack_of(&mut c, &mut s, &brk), (0, 2, 0));
    assert_eq!(ack_of(&mut c, &mut s, &brk), (0, 2, 0));
    assert_eq!(s.sol_poll(t).events, [SolEvent::Break]);
    // Keys while the console is not read: the input buffer fills and the last packet is taken
    // in part; sent again, it gets the same count and adds nothing.
    let full = 255usize;
    let mut seq = 2;
    let mut taken = 0;
    while taken < INPUT_BUFFER {
        seq = crate::wire::sol::next_seq(seq);
        let p = Repr {
            seq,
            data: vec![b'a'; full],
            ..Repr::default()
        };
        let (_, acked, accepted) = ack_of(&mut c, &mut s, &p);
        assert_eq!(acked, seq);
        taken += usize::from(accepted);
        if usize::from(accepted) < full {
            assert_eq!(taken, INPUT_BUFFER);
            assert_eq!(ack_of(&mut c, &mut s, &p), (0, seq, accepted));
        }
    }
    assert_eq!(s.sol_poll(t).input.len(), INPUT_BUFFER);
}

#[test]
fn session_timeout_ends_sol() {
    let mut s = server();
    let _c = active(&mut s);
    assert!(s.sol_room() > 0);
    s.expire(Instant::now() + Duration::from_secs(120));
    assert_eq!(s.sol_room(), 0);
    assert!(matches!(
        &s.sol_poll(Instant::now()).events[..],
        [SolEvent::Deactivated { .. }]
    ));
}

#[test]
fn sol_packets_keep_a_quiet_session_alive() {
    let mut s = server();
    let mut c = active(&mut s);
    let t = Instant::now();
    // Every 50 s an empty packet (ipmitool's `usesolkeepalive`): past the 60 s timeout, alive.
    for k in 1..=3u32 {
        let tick = t + Duration::from_secs(50 * u64::from(k));
        let keepalive = Repr {
            seq: k as u8,
            ..Repr::default()
        };
        let _ = reply(c.sol(&mut s, tick, &keepalive));
        s.expire(tick + Duration::from_secs(1));
    }
    assert!(s.sol_room() > 0, "still active after 150 s");
    assert_eq!(s.active_sessions(), 1);
}

#[test]
fn ipmi15_sessions_have_no_payloads() {
    let mut s = server();
    let mut c = super::tests::client15_login(&mut s, b"secret").unwrap();
    let req = c.request(NetFn::APP, 0x48, &[1, 1, 0, 0, 0, 0]).unwrap();
    let back = reply(s.handle(Instant::now(), peer(), &req));
    match c.handle(&back).unwrap() {
        super::ClientEvent::Response(r) => assert_eq!(r.ccode, CompletionCode::INVALID_COMMAND),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(s.sol_room(), 0, "nothing activated");
}

/// The console's keyboard has one writer: a console typing outside SOL keeps an instance from
/// being activated (0x80, as another session's would), and an active instance keeps the
/// keyboard from being taken.
#[test]
fn the_keyboard_is_taken_by_sol_or_elsewhere_never_both() {
    let mut s = server();
    assert!(s.sol_take_keyboard(true));
    let mut a = login(&mut s, 17, "admin", b"secret", 0x14);
    assert_eq!(
        a.activate(&mut s, ENC_AUTH).ccode.0,
        0x80,
        "taken elsewhere"
    );
    assert!(!s.sol_active());
    assert!(s.sol_take_keyboard(false));
    assert_eq!(a.activate(&mut s, ENC_AUTH).ccode, CompletionCode::OK);
    assert!(s.sol_active());
    assert!(
        !s.sol_take_keyboard(true),
        "refused while an instance is active"
    );
    // Giving it back is always allowed (the refused taker never had it).
    assert!(s.sol_take_keyboard(false));
}
