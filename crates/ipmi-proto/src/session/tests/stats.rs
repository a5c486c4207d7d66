//! The counts the server keeps for the metrics: each login outcome counted once under its
//! reason, sessions opened and closed by how, lockouts and logins in progress dropped.

use super::{
    client15_login, client_login, peer, rakp12, rakp12_from, rakp34, server, server_with, v20_setup,
};
use crate::session::action::Action;
use crate::session::config::{LoginPolicy, ServerConfig};
use crate::session::{LoginFailure, ServerStats};
use crate::wire::ipmi20::PayloadType;
use crate::wire::rakp::Rakp3;
use crate::wire::rakp::Status;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[test]
fn logins_sessions_and_failures_are_counted_by_kind() {
    let mut s = server();
    assert_eq!(s.stats(), ServerStats::default());

    let mut c = client_login(&mut s, &[3], "admin", b"secret").unwrap();
    client15_login(&mut s, b"secret").unwrap();
    let st = s.stats();
    assert_eq!((st.opened_rmcp_plus, st.opened_ipmi15), (1, 1));
    assert_eq!(st.sessions_open, 2);

    let (r2, _) = rakp12(&mut s, 3, "nobody", 0x14);
    assert_eq!(r2.status, Status::UNAUTHORIZED_NAME);
    let (r2, _) = rakp12(&mut s, 3, "viewer", 0x14);
    assert_eq!(r2.status, Status::UNAUTHORIZED_ROLE);
    // The client finds the BMC's RAKP 2 wrong (its password differs) and says so in RAKP 3.
    let (_, x) = rakp12(&mut s, 3, "viewer", 0x12);
    let mut p = Vec::new();
    Rakp3 {
        tag: 3,
        status: Status::INVALID_INTEGRITY_CHECK,
        bmc_session_id: x.bmc_session_id,
        auth_code: Vec::new(),
    }
    .emit(&mut p);
    let rejected = s.handle(Instant::now(), peer(), &v20_setup(PayloadType::RAKP3, &p));
    assert!(matches!(rejected, Action::Drop(_)));
    let st = s.stats();
    assert_eq!(st.failed(LoginFailure::UnknownUser), 1);
    assert_eq!(st.failed(LoginFailure::Privilege), 1);
    assert_eq!(st.failed(LoginFailure::RejectedByClient), 1);
    assert_eq!(st.failed(LoginFailure::BadPassword), 0);

    // Five wrong proofs lock the name out (one lockout); the sixth is refused unchecked.
    for _ in 0..5 {
        let (_, x) = rakp12(&mut s, 17, "admin", 0x14);
        assert_eq!(
            rakp34(&mut s, 17, &x, b"wrong").status,
            Status::INVALID_INTEGRITY_CHECK
        );
    }
    let (r2, _) = rakp12(&mut s, 17, "admin", 0x14);
    assert_eq!(r2.status, Status::INSUFFICIENT_RESOURCES);
    let st = s.stats();
    assert_eq!(st.failed(LoginFailure::BadPassword), 5);
    assert_eq!(st.failed(LoginFailure::LockedOut), 1);
    assert_eq!(st.lockouts, 1);
    assert_eq!((st.opened_rmcp_plus, st.opened_ipmi15), (1, 1), "unchanged");

    // Closed by request, then the other one by the inactivity timeout, and a login left
    // waiting for its RAKP 3 times out too.
    rakp12(&mut s, 3, "viewer", 0x12);
    let close = c.close().unwrap();
    let _ = s.handle(Instant::now(), peer(), &close);
    let st = s.stats();
    assert_eq!((st.closed_by_request, st.sessions_open), (1, 1));
    s.expire(Instant::now() + Duration::from_secs(3600));
    let st = s.stats();
    assert_eq!((st.closed_idle, st.sessions_open), (1, 0));
    assert_eq!(st.handshakes_expired, 1);
    assert_eq!(st.handshakes_evicted, 0);
}

#[test]
fn a_flood_of_half_open_logins_from_one_address_counts_evictions() {
    // No lockout: the flood's logins pushed out after RAKP 2 count as failed, and would lock.
    let mut s = server_with(|c| ServerConfig {
        login_policy: LoginPolicy {
            max_failures: 0,
            ..LoginPolicy::default()
        },
        ..c
    });
    // rakp12 opens a login each time and leaves it waiting for RAKP 3; each from another port
    // (from the same one, a console's new login ends its earlier one).
    for port in 0..40 {
        let from = SocketAddr::new(peer().ip(), 30_000 + port);
        rakp12_from(&mut s, from, 3, "admin", 0x14);
    }
    // One address holds at most 32 logins in progress: the 8 oldest were pushed out.
    let st = s.stats();
    assert_eq!(st.handshakes_evicted, 8);
    assert_eq!(st.failed(LoginFailure::AbandonedAfterRakp2), 8);
}
