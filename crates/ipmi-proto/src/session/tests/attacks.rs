//! Floods an attacker on the management network sends, in memory: user names that would wipe the
//! failed-login limiter, password guesses, and half-open logins that would push out a real one.

use super::{client_login_as, peer, rakp12_from, rakp34_from, request, server, v15, v20_setup};
use crate::cmd::app::SessionChallengeRequest;
use crate::cmd::Body;
use crate::session::action::Action;
use crate::session::cipher_suite::CipherSuite;
use crate::session::server::Server;
use crate::session::{Client, ClientError, ClientEvent, Secret};
use crate::types::{NetFn, Privilege};
use crate::wire::ipmi15::AuthType;
use crate::wire::ipmi20::PayloadType;
use crate::wire::rakp::{OpenSessionRequest, Status};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A source address on the management network other than the real console's.
fn addr(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), port)
}

/// An IPMI 1.5 Get Session Challenge for `name` (one sessionless datagram).
fn challenge_request(name: &[u8]) -> Vec<u8> {
    let msg = request(
        NetFn::APP,
        0x39,
        1,
        &SessionChallengeRequest::new(AuthType::Md5, name).to_bytes(),
    );
    v15(AuthType::None, 0, 0, b"", &msg)
}

/// An RMCP+ Open Session Request for cipher suite 17 (one datagram).
fn open_session_request(console_id: u32) -> Vec<u8> {
    let cs = CipherSuite::by_id(17).unwrap();
    let mut p = Vec::new();
    OpenSessionRequest {
        tag: 0,
        max_privilege: 4,
        console_session_id: console_id,
        auth: Some(cs.auth.code()),
        integrity: Some(cs.integrity.code()),
        confidentiality: Some(cs.confidentiality.code()),
    }
    .emit(&mut p);
    v20_setup(PayloadType::OPEN_SESSION_REQUEST, &p)
}

/// Whether logins as admin from `from` are refused as locked out (RAKP 2 "insufficient
/// resources" instead of the BMC's proof).
fn admin_locked_out(s: &mut Server, from: SocketAddr) -> bool {
    matches!(
        client_login_as(s, from, &[17], "admin", b"secret", Privilege::Administrator),
        Err(ClientError::Status {
            step: "RAKP 2",
            status: 0x01
        })
    )
}

/// Five wrong passwords for admin from `from`, each through RAKP 3.
fn guess_admin_password(s: &mut Server, from: SocketAddr, guesses: usize) {
    for _ in 0..guesses {
        let (r2, x) = rakp12_from(s, from, 17, "admin", 0x14);
        assert_eq!(r2.status, Status::OK);
        assert_eq!(
            rakp34_from(s, from, 17, &x, b"wrong").status,
            Status::INVALID_INTEGRITY_CHECK
        );
    }
}

/// A lockout holds however many unknown user names arrive afterwards, from one address or from
/// thousands: they used to fill the limiter, which was then cleared whole.
#[test]
fn a_flood_of_unknown_names_does_not_lift_a_lockout() {
    let mut s = server();
    let now = Instant::now();
    guess_admin_password(&mut s, peer(), 5);
    assert!(admin_locked_out(&mut s, peer()));
    for i in 0..5000u16 {
        let name = format!("nobody{i}");
        let _ = s.handle(
            now,
            addr("127.0.0.2", i),
            &challenge_request(name.as_bytes()),
        );
    }
    assert!(admin_locked_out(&mut s, peer()), "lifted by one address");
    for i in 0..5000u32 {
        let from = SocketAddr::new(std::net::Ipv4Addr::from(0x0a00_0000 + i).into(), 623);
        let _ = s.handle(now, from, &challenge_request(b"nobody"));
    }
    assert!(admin_locked_out(&mut s, peer()), "lifted by many addresses");
    // Elsewhere admin logs in, and once the lockout is over, here too.
    assert!(client_login_as(
        &mut s,
        addr("127.0.0.9", 1),
        &[17],
        "admin",
        b"secret",
        Privilege::Administrator
    )
    .is_ok());
    s.expire(now + Duration::from_secs(31));
}

/// Failures from one address count together, whatever the names: an address trying many names
/// (unknown ones, or each known one a few times) is refused as a whole, while the real user logs
/// in from elsewhere.
#[test]
fn an_address_guessing_many_names_is_locked_out_whole() {
    let mut s = server();
    let now = Instant::now();
    let guesser = addr("127.0.0.3", 5000);
    for i in 0..20u16 {
        let name = format!("guess{i}");
        let _ = s.handle(
            now,
            addr("127.0.0.3", 5000 + i),
            &challenge_request(name.as_bytes()),
        );
    }
    assert!(
        admin_locked_out(&mut s, guesser),
        "an address that tried 20 names still gets a login"
    );
    assert!(client_login_as(
        &mut s,
        peer(),
        &[17],
        "admin",
        b"secret",
        Privilege::Administrator
    )
    .is_ok());
    // Each known name below its own limit, together past the address's.
    let mut s = server();
    for _ in 0..5 {
        guess_admin_password(&mut s, guesser, 4);
        let (r2, x) = rakp12_from(&mut s, guesser, 3, "viewer", 0x12);
        assert_eq!(r2.status, Status::OK);
        let _ = rakp34_from(&mut s, guesser, 3, &x, b"wrong");
        if admin_locked_out(&mut s, guesser) {
            return;
        }
        // A good login resets the name's count, not the address's.
        assert!(client_login_as(
            &mut s,
            guesser,
            &[17],
            "admin",
            b"secret",
            Privilege::Administrator
        )
        .is_ok());
    }
    panic!("an address guessing passwords for every name is never locked out");
}

/// The real console's login in progress, with a flood of handshakes before each of its steps.
fn login_amid(s: &mut Server, flood: &mut dyn FnMut(&mut Server)) -> Result<Client, ClientError> {
    let mut c = Client::new(crate::session::ClientConfig {
        username: "admin".into(),
        password: Secret::new(b"secret".to_vec()),
        kg: None,
        privilege: Privilege::Administrator,
        cipher_suites: vec![17],
        interface: Default::default(),
    });
    let mut out = c.start();
    for _ in 0..20 {
        flood(s);
        let Action::Reply(back) = s.handle(Instant::now(), peer(), &out) else {
            panic!("login step not answered")
        };
        match c.handle(&back)? {
            ClientEvent::Send(next) => out = next,
            ClientEvent::Established => return Ok(c),
            // RAKP 2 "invalid session ID" under console ID 0: the server forgot the login.
            ClientEvent::Ignored => panic!("the login was pushed out"),
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("login did not finish")
}

/// Open Session Requests and Get Session Challenges for a real name from `ips`, `per_ip` ports
/// each.
fn handshake_flood(ips: &[String], per_ip: u16) -> impl FnMut(&mut Server) + '_ {
    let mut console_id = 1u32;
    move |s: &mut Server| {
        let now = Instant::now();
        for ip in ips {
            for port in 0..per_ip {
                console_id += 1;
                let _ = s.handle(
                    now,
                    addr(ip, 1024 + port),
                    &open_session_request(console_id),
                );
                let _ = s.handle(now, addr(ip, 1024 + port), &challenge_request(b"admin"));
            }
        }
        assert!(s.pending_logins() <= super::super::pending::PENDING_LIMIT);
    }
}

/// Half-open logins from the many ports of another address, between every step of a real login:
/// they used to push it out (the oldest login in progress was dropped), now that address only
/// displaces its own.
#[test]
fn a_handshake_flood_from_another_address_does_not_push_out_a_login() {
    let mut s = server();
    let flooder = vec!["127.0.0.2".to_string()];
    let mut flood = handshake_flood(&flooder, 500);
    let mut c = login_amid(&mut s, &mut flood).expect("logged in amid the flood");
    let pkt = c.request(NetFn::CHASSIS, 0x01, &[]).unwrap();
    assert!(matches!(
        s.handle(Instant::now(), peer(), &pkt),
        Action::Dispatch(_)
    ));
}

/// Floods from many addresses: first many ports each, so that the logins in progress reach
/// their limit (the address holding the most gives way), then one Open Session Request from each
/// of hundreds of (spoofed) addresses.
#[test]
fn handshake_floods_from_many_addresses_do_not_push_out_a_login() {
    let mut s = server();
    let many_ports: Vec<String> = (2..40).map(|i| format!("127.0.1.{i}")).collect();
    let mut flood = handshake_flood(&many_ports, 64);
    login_amid(&mut s, &mut flood).expect("logged in amid floods from 38 addresses");
    let spoofed: Vec<String> = (0..200)
        .map(|i| format!("10.1.{}.{}", i / 250, i % 250 + 1))
        .collect();
    let mut flood = handshake_flood(&spoofed, 1);
    login_amid(&mut s, &mut flood).expect("logged in amid a flood from 200 addresses");
}
