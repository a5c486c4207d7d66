//! Packets an attacker on the path replays or forges into a session: each is dropped without an
//! answer, and the session goes on.

use super::{client15_login, client_login, peer};
use crate::session::action::Action;
use crate::session::server::Server;
use crate::types::NetFn;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::time::Instant;

fn dispatched(s: &mut Server, from: SocketAddr, pkt: &[u8]) -> bool {
    match s.handle(Instant::now(), from, pkt) {
        Action::Dispatch(_) => true,
        Action::Drop(_) => false,
        Action::Reply(r) => panic!("a forged or replayed packet got an answer: {r:02x?}"),
    }
}

/// Twenty requests sealed in order (session sequence numbers n+1..n+20) and delivered out of
/// order, twice, and too far ahead or behind: each is taken once, inside the window only.
fn replays_and_out_of_window(s: &mut Server, packets: &[Vec<u8>]) {
    assert_eq!(packets.len(), 20);
    let p = |i: usize| &packets[i - 1];
    // 20 is 19 ahead of the last number seen (Set Session Privilege's): past the window of 16.
    assert!(!dispatched(s, peer(), p(20)), "too far ahead");
    assert!(dispatched(s, peer(), p(15)));
    assert!(!dispatched(s, peer(), p(15)), "replayed");
    assert!(
        dispatched(s, peer(), p(20)),
        "inside the window now, and never taken"
    );
    assert!(!dispatched(s, peer(), p(3)), "17 behind: past the window");
    assert!(
        dispatched(s, peer(), p(5)),
        "15 behind, not seen: late, taken"
    );
    assert!(!dispatched(s, peer(), p(5)), "replayed late packet");
    assert!(!dispatched(s, peer(), p(20)), "replayed newest");
    for i in [6, 10, 14, 16, 19] {
        assert!(dispatched(s, peer(), p(i)), "in the window: {i}");
        assert!(!dispatched(s, peer(), p(i)), "replayed {i}");
    }
}

#[test]
fn rmcp_plus_replays_and_out_of_window_packets_are_dropped() {
    for suite in [3, 17] {
        let mut s = super::server();
        let mut c = client_login(&mut s, &[suite], "admin", b"secret").unwrap();
        let packets: Vec<Vec<u8>> = (0..20)
            .map(|_| c.request(NetFn::CHASSIS, 0x01, &[]).unwrap())
            .collect();
        replays_and_out_of_window(&mut s, &packets);
    }
}

#[test]
fn ipmi15_replays_and_out_of_window_packets_are_dropped() {
    let mut s = super::server();
    let mut c = client15_login(&mut s, b"secret").unwrap();
    let packets: Vec<Vec<u8>> = (0..20)
        .map(|_| c.request(NetFn::CHASSIS, 0x01, &[]).unwrap())
        .collect();
    replays_and_out_of_window(&mut s, &packets);
}

/// Offsets of the session ID in a datagram: RMCP header (4), then for RMCP+ the auth type and
/// payload type bytes, for IPMI 1.5 the auth type and sequence number.
const V20_SESSION_ID: usize = 6;
const V15_SESSION_ID: usize = 9;

/// A packet of a live session, sent with another session ID, from another address, or with one
/// bit of its authentication changed, is dropped, and the real one is still taken afterwards
/// (a forgery does not use up its sequence number).
fn forged_session_ids(s: &mut Server, real: &[u8], id_at: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for _ in 0..200 {
        let mut forged = real.to_vec();
        let id: u32 = rng.gen();
        forged[id_at..id_at + 4].copy_from_slice(&id.to_le_bytes());
        assert!(!dispatched(s, peer(), &forged), "session ID {id:#x}");
    }
    let elsewhere: SocketAddr = "127.0.0.2:40000".parse().unwrap();
    assert!(
        !dispatched(s, elsewhere, real),
        "the session's packet from another address"
    );
    let mut tampered = real.to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x80;
    assert!(!dispatched(s, peer(), &tampered), "bad authentication code");
    assert!(
        dispatched(s, peer(), real),
        "the real packet after the forgeries"
    );
    assert!(!dispatched(s, peer(), real), "and only once");
}

#[test]
fn forged_session_ids_and_codes_are_dropped() {
    let mut s = super::server();
    let mut c = client_login(&mut s, &[17], "admin", b"secret").unwrap();
    let real = c.request(NetFn::CHASSIS, 0x01, &[]).unwrap();
    forged_session_ids(&mut s, &real, V20_SESSION_ID);
    let mut s = super::server();
    let mut c = client15_login(&mut s, b"secret").unwrap();
    let real = c.request(NetFn::CHASSIS, 0x01, &[]).unwrap();
    forged_session_ids(&mut s, &real, V15_SESSION_ID);
}
