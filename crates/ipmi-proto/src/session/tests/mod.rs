//! Tests of the server state machine with hand-built packets: what a client sends, byte by byte.

use super::action::Action;
use super::cipher_suite::CipherSuite;
use super::config::{AuthTypes, ServerConfig, User};
use super::server::Server;
use crate::crypto::rakp::{derive_key, Exchange};
use crate::crypto::Secret;
use crate::crypto::{aes_cbc, auth15, integrity};
use crate::types::{CompletionCode, NetFn, Privilege};
use crate::wire::ipmi15::{self, AuthType};
use crate::wire::ipmi20::{self, PayloadType};
use crate::wire::rakp::{
    OpenSessionRequest, OpenSessionResponse, Rakp1, Rakp2, Rakp3, Rakp4, Status,
};
use crate::wire::{message, rmcp};
use proptest::prelude::*;
use rand::SeedableRng;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

mod abandoned;
mod attacks;
mod clients;
mod forgery;
mod ipmi15_edges;
mod limits;
mod privilege;
mod stats;

pub(super) fn peer() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

pub(super) fn server() -> Server {
    server_with(|c| c)
}

/// The test server with its configuration changed by `f`.
pub(super) fn server_with(f: impl FnOnce(ServerConfig) -> ServerConfig) -> Server {
    Server::with_rng(
        f(ServerConfig {
            guid: [0x42; 16],
            users: vec![
                User {
                    id: 2,
                    name: "admin".into(),
                    password: Secret::new(b"secret".to_vec()),
                    privilege: Privilege::Administrator,
                    enabled: true,
                },
                User {
                    id: 3,
                    name: "viewer".into(),
                    password: Secret::new(b"look".to_vec()),
                    privilege: Privilege::User,
                    enabled: true,
                },
            ],
            ..ServerConfig::default()
        }),
        rand::rngs::StdRng::seed_from_u64(7),
    )
}

pub(super) fn reply(a: Action) -> Vec<u8> {
    match a {
        Action::Reply(b) => b,
        other => panic!("expected a reply, got {other:?}"),
    }
}

pub(super) fn request(netfn: NetFn, cmd: u8, seq: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    message::Request {
        rs_addr: 0x20,
        netfn,
        rs_lun: 0,
        rq_addr: 0x81,
        rq_seq: seq,
        rq_lun: 0,
        cmd,
        data: data.to_vec(),
    }
    .emit(&mut v);
    v
}

fn v15(auth: AuthType, seq: u32, sid: u32, pw: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    rmcp::Repr::ipmi().emit(&mut v);
    ipmi15::Repr {
        auth_type: auth,
        sequence: seq,
        session_id: sid,
        auth_code: auth15::auth_code(auth, pw, sid, msg, seq),
    }
    .emit(msg, &mut v)
    .unwrap();
    v
}

fn v20_setup(ty: PayloadType, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    rmcp::Repr::ipmi().emit(&mut v);
    ipmi20::Repr {
        payload_type: ty,
        encrypted: false,
        authenticated: false,
        oem: None,
        session_id: 0,
        sequence: 0,
    }
    .emit(payload.len(), &mut v);
    v.extend_from_slice(payload);
    v
}

fn v15_response(bytes: &[u8]) -> (ipmi15::Repr, message::Response) {
    let (h, m) = ipmi15::Repr::parse(&bytes[4..]).unwrap();
    (h, message::Response::parse(m).unwrap())
}

#[test]
fn answers_asf_ping() {
    let mut s = server();
    let ping = [
        0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe, 0x80, 0x09, 0x00, 0x00,
    ];
    let pong = reply(s.handle(Instant::now(), peer(), &ping));
    assert_eq!(&pong[..4], &[0x06, 0x00, 0xff, 0x06]);
    assert_eq!(pong[8], 0x40);
    assert_eq!(pong[9], 0x09);
}

#[test]
fn auth_capabilities_v15_and_v20() {
    let mut s = server();
    let now = Instant::now();
    let msg = request(NetFn::APP, 0x38, 1, &[0x0e, 0x04]);
    let (_, r) = v15_response(&reply(s.handle(
        now,
        peer(),
        &v15(AuthType::None, 0, 0, b"", &msg),
    )));
    assert_eq!(r.ccode, CompletionCode::OK);
    assert_eq!(
        r.data,
        vec![1, 0x04, 0x04, 0x00, 0, 0, 0, 0],
        "MD5 only, v1.5 form"
    );
    let msg = request(NetFn::APP, 0x38, 2, &[0x8e, 0x04]);
    let (_, r) = v15_response(&reply(s.handle(
        now,
        peer(),
        &v15(AuthType::None, 0, 0, b"", &msg),
    )));
    assert_eq!(
        r.data,
        vec![1, 0x84, 0x04, 0x03, 0, 0, 0, 0],
        "v2 extended data"
    );
}

#[test]
fn cipher_suite_0_refused_unless_enabled() {
    let mut s = server();
    let mut p = Vec::new();
    OpenSessionRequest {
        tag: 1,
        max_privilege: 4,
        console_session_id: 0x1234,
        auth: Some(0),
        integrity: Some(0),
        confidentiality: Some(0),
    }
    .emit(&mut p);
    let r = reply(s.handle(
        Instant::now(),
        peer(),
        &v20_setup(PayloadType::OPEN_SESSION_REQUEST, &p),
    ));
    let parsed = ipmi20::Repr::parse(&r[4..]).unwrap();
    let resp = OpenSessionResponse::parse(parsed.payload).unwrap();
    assert_eq!(resp.status, Status::NO_CIPHER_SUITE_MATCH);
}

/// Runs Open Session and RAKP 1/2 for `suite`; returns the server's reply to RAKP 1 and the
/// exchange the client computed.
pub(super) fn rakp12(s: &mut Server, suite: u8, user: &str, role: u8) -> (Rakp2, Exchange) {
    rakp12_from(s, peer(), suite, user, role)
}

/// [`rakp12`] from `from`.
pub(super) fn rakp12_from(
    s: &mut Server,
    from: SocketAddr,
    suite: u8,
    user: &str,
    role: u8,
) -> (Rakp2, Exchange) {
    rakp12_at(s, Instant::now(), from, suite, user, role)
}

/// [`rakp12_from`] at `now`.
pub(super) fn rakp12_at(
    s: &mut Server,
    now: Instant,
    from: SocketAddr,
    suite: u8,
    user: &str,
    role: u8,
) -> (Rakp2, Exchange) {
    let cs = CipherSuite::by_id(suite).unwrap();
    let mut p = Vec::new();
    OpenSessionRequest {
        tag: 1,
        max_privilege: 0,
        console_session_id: 0xc0c0_0001,
        auth: Some(cs.auth.code()),
        integrity: Some(cs.integrity.code()),
        confidentiality: Some(cs.confidentiality.code()),
    }
    .emit(&mut p);
    let r = reply(s.handle(now, from, &v20_setup(PayloadType::OPEN_SESSION_REQUEST, &p)));
    let open = OpenSessionResponse::parse(ipmi20::Repr::parse(&r[4..]).unwrap().payload).unwrap();
    assert_eq!(open.status, Status::OK);
    assert_eq!(
        open.max_privilege, 4,
        "FreeIPMI needs a real level back for 'highest'"
    );
    let rakp1 = Rakp1 {
        tag: 2,
        bmc_session_id: open.bmc_session_id,
        console_random: [5; 16],
        role,
        username: user.as_bytes().to_vec(),
    };
    let mut p = Vec::new();
    rakp1.emit(&mut p);
    let r = reply(s.handle(now, from, &v20_setup(PayloadType::RAKP1, &p)));
    let rakp2 = Rakp2::parse(ipmi20::Repr::parse(&r[4..]).unwrap().payload).unwrap();
    let x = Exchange {
        console_session_id: 0xc0c0_0001,
        bmc_session_id: open.bmc_session_id,
        console_random: [5; 16],
        bmc_random: rakp2.bmc_random,
        bmc_guid: rakp2.bmc_guid,
        role,
        username: user.as_bytes().to_vec(),
    };
    (rakp2, x)
}

pub(super) fn rakp34(s: &mut Server, suite: u8, x: &Exchange, password: &[u8]) -> Rakp4 {
    rakp34_from(s, peer(), suite, x, password)
}

/// [`rakp34`] from `from`.
pub(super) fn rakp34_from(
    s: &mut Server,
    from: SocketAddr,
    suite: u8,
    x: &Exchange,
    password: &[u8],
) -> Rakp4 {
    rakp34_at(s, Instant::now(), from, suite, x, password)
}

/// [`rakp34_from`] at `now`.
pub(super) fn rakp34_at(
    s: &mut Server,
    now: Instant,
    from: SocketAddr,
    suite: u8,
    x: &Exchange,
    password: &[u8],
) -> Rakp4 {
    let cs = CipherSuite::by_id(suite).unwrap();
    let mut p = Vec::new();
    Rakp3 {
        tag: 3,
        status: Status::OK,
        bmc_session_id: x.bmc_session_id,
        auth_code: x.rakp3_auth_code(cs.auth, password),
    }
    .emit(&mut p);
    let r = reply(s.handle(now, from, &v20_setup(PayloadType::RAKP3, &p)));
    Rakp4::parse(ipmi20::Repr::parse(&r[4..]).unwrap().payload).unwrap()
}

#[test]
fn rakp_status_codes_for_unknown_user_and_role() {
    let mut s = server();
    let (r2, _) = rakp12(&mut s, 3, "nobody", 0x14);
    assert_eq!(r2.status, Status::UNAUTHORIZED_NAME);
    let (r2, _) = rakp12(&mut s, 3, "viewer", 0x14);
    assert_eq!(
        r2.status,
        Status::UNAUTHORIZED_ROLE,
        "user-level account asking for admin"
    );
    let (r2, _) = rakp12(&mut s, 3, "viewer", 0x12);
    assert_eq!(r2.status, Status::OK);
}

#[test]
fn wrong_password_gets_invalid_integrity_check_and_locks_out() {
    let mut s = server();
    for _ in 0..5 {
        let (r2, x) = rakp12(&mut s, 17, "admin", 0x14);
        assert_eq!(r2.status, Status::OK);
        assert_eq!(
            rakp34(&mut s, 17, &x, b"wrong").status,
            Status::INVALID_INTEGRITY_CHECK
        );
    }
    let (r2, _) = rakp12(&mut s, 17, "admin", 0x14);
    assert_eq!(
        r2.status,
        Status::INSUFFICIENT_RESOURCES,
        "locked out after 5 failures"
    );
}

fn full_session(suite: u8) {
    let cs = CipherSuite::by_id(suite).unwrap();
    let mut s = server();
    let (r2, x) = rakp12(&mut s, suite, "admin", 0x14);
    assert_eq!(r2.status, Status::OK);
    assert_eq!(r2.auth_code, x.rakp2_auth_code(cs.auth, b"secret"));
    let r4 = rakp34(&mut s, suite, &x, b"secret");
    assert_eq!(r4.status, Status::OK);
    let sik = x.sik(cs.auth, b"secret");
    assert_eq!(r4.icv, x.rakp4_icv(cs.auth, &sik));
    let (k1, k2) = (derive_key(cs.auth, &sik, 1), derive_key(cs.auth, &sik, 2));

    // An encrypted, authenticated Get Device ID goes up to the BMC model at user level.
    let msg = request(NetFn::APP, 0x01, 9, &[]);
    let body = aes_cbc::encrypt(&k2, [1; 16], &msg);
    let mut pkt = Vec::new();
    ipmi20::Repr {
        payload_type: PayloadType::IPMI,
        encrypted: true,
        authenticated: true,
        oem: None,
        session_id: x.bmc_session_id,
        sequence: 1,
    }
    .emit(body.len(), &mut pkt);
    pkt.extend_from_slice(&body);
    ipmi20::emit_trailer_pad(&mut pkt);
    let code = integrity::auth_code(cs.integrity, &k1, &pkt);
    pkt.extend_from_slice(&code);
    let mut dgram = vec![0x06, 0x00, 0xff, 0x07];
    dgram.extend_from_slice(&pkt);
    let now = Instant::now();
    let Action::Dispatch(req) = s.handle(now, peer(), &dgram) else {
        panic!("expected a dispatched request")
    };
    assert_eq!((req.netfn, req.cmd), (NetFn::APP, 0x01));
    assert_eq!(req.context.privilege, Some(Privilege::User));
    assert!(
        matches!(s.handle(now, peer(), &dgram), Action::Drop(_)),
        "a replayed packet is dropped"
    );
    let out = s
        .seal(now, &req.context, CompletionCode::OK, &[0x20])
        .unwrap();
    let parsed = ipmi20::Repr::parse(&out[4..]).unwrap();
    assert_eq!(parsed.header.session_id, 0xc0c0_0001);
    assert!(parsed.header.encrypted && parsed.header.authenticated);
    let (covered, code) = ipmi20::split_trailer(parsed.trailer, cs.integrity.code_len()).unwrap();
    let signed = &out[4..4 + parsed.payload_offset + parsed.payload.len() + covered];
    assert_eq!(code, &integrity::auth_code(cs.integrity, &k1, signed)[..]);
    let plain = aes_cbc::decrypt(&k2, parsed.payload).unwrap();
    let resp = message::Response::parse(&plain).unwrap();
    assert_eq!(
        (resp.ccode, resp.rq_seq, resp.data),
        (CompletionCode::OK, 9, vec![0x20])
    );
}

#[test]
fn full_session_suite_3() {
    full_session(3);
}

#[test]
fn full_session_suite_17() {
    full_session(17);
}

#[test]
fn ipmi15_md5_login_and_wrong_password() {
    let mut s = server();
    let now = Instant::now();
    let mut name = [0u8; 16];
    name[..5].copy_from_slice(b"admin");
    let mut d = vec![AuthType::Md5 as u8];
    d.extend_from_slice(&name);
    let msg = request(NetFn::APP, 0x39, 1, &d);
    let (_, r) = v15_response(&reply(s.handle(
        now,
        peer(),
        &v15(AuthType::None, 0, 0, b"", &msg),
    )));
    assert_eq!(r.ccode, CompletionCode::OK);
    let temp = u32::from_le_bytes(r.data[..4].try_into().unwrap());
    let challenge = &r.data[4..20];
    let mut d = vec![AuthType::Md5 as u8, 4];
    d.extend_from_slice(challenge);
    d.extend_from_slice(&77u32.to_le_bytes());
    let msg = request(NetFn::APP, 0x3a, 2, &d);
    let bad = reply(s.handle(now, peer(), &v15(AuthType::Md5, 0, temp, b"wrong", &msg)));
    assert_eq!(
        v15_response(&bad).1.ccode,
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );

    // A good login: new challenge, right password.
    let mut d = vec![AuthType::Md5 as u8];
    d.extend_from_slice(&name);
    let msg = request(NetFn::APP, 0x39, 3, &d);
    let (_, r) = v15_response(&reply(s.handle(
        now,
        peer(),
        &v15(AuthType::None, 0, 0, b"", &msg),
    )));
    let temp = u32::from_le_bytes(r.data[..4].try_into().unwrap());
    let mut d = vec![AuthType::Md5 as u8, 4];
    d.extend_from_slice(&r.data[4..20]);
    d.extend_from_slice(&77u32.to_le_bytes());
    let msg = request(NetFn::APP, 0x3a, 4, &d);
    let ok = reply(s.handle(now, peer(), &v15(AuthType::Md5, 0, temp, b"secret", &msg)));
    let (h, r) = v15_response(&ok);
    assert_eq!(r.ccode, CompletionCode::OK);
    assert_eq!(h.sequence, 77);
    let (_, m) = ipmi15::Repr::parse(&ok[4..]).unwrap();
    assert_eq!(
        h.auth_code,
        auth15::auth_code(AuthType::Md5, b"secret", temp, m, 77)
    );
    let inbound = u32::from_le_bytes(r.data[5..9].try_into().unwrap());

    // Raise the privilege, then a chassis request goes up at administrator level.
    let msg = request(NetFn::APP, 0x3b, 5, &[4]);
    let (_, r) = v15_response(&reply(s.handle(
        now,
        peer(),
        &v15(AuthType::Md5, inbound, temp, b"secret", &msg),
    )));
    assert_eq!((r.ccode, r.data), (CompletionCode::OK, vec![4]));
    let msg = request(NetFn::CHASSIS, 0x01, 6, &[]);
    let Action::Dispatch(req) = s.handle(
        now,
        peer(),
        &v15(AuthType::Md5, inbound + 1, temp, b"secret", &msg),
    ) else {
        panic!("expected dispatch")
    };
    assert_eq!(req.context.privilege, Some(Privilege::Administrator));
    assert_eq!(req.context.user, Some((2, "admin".into())));
    s.expire(now + Duration::from_secs(61));
    assert_eq!(s.active_sessions(), 0, "idle session timed out");
}

#[test]
fn auth_type_none_refused_by_default() {
    let mut s = server();
    assert_eq!(s.config().auth_types, AuthTypes::default());
    let mut d = vec![AuthType::None as u8];
    d.extend_from_slice(b"admin\0\0\0\0\0\0\0\0\0\0\0");
    let msg = request(NetFn::APP, 0x39, 1, &d);
    let (_, r) = v15_response(&reply(s.handle(
        Instant::now(),
        peer(),
        &v15(AuthType::None, 0, 0, b"", &msg),
    )));
    assert_eq!(r.ccode, CompletionCode::INVALID_FIELD);
}

proptest! {
    #[test]
    fn arbitrary_datagrams_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut s = server();
        let _ = s.handle(Instant::now(), peer(), &data);
    }

    #[test]
    fn arbitrary_ipmi_payloads_never_panic(
        form in 0u8..8,
        data in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut s = server();
        let mut d = vec![0x06, 0x00, 0xff, 0x07];
        // Steer into each parser: v1.5 auth types, RMCP+ with each set-up payload type.
        match form {
            0 => d.push(0x00),
            1 => d.push(0x02),
            2..=6 => d.extend_from_slice(&[0x06, [0x00, 0x10, 0x12, 0x14, 0xc0][form as usize - 2]]),
            _ => {}
        }
        d.extend_from_slice(&data);
        let _ = s.handle(Instant::now(), peer(), &d);
    }
}

/// Drives a [`super::Client`] against the server in memory until the session is up.
fn client_login(
    s: &mut Server,
    suites: &[u8],
    user: &str,
    pw: &[u8],
) -> Result<super::Client, super::ClientError> {
    client_login_as(s, peer(), suites, user, pw, Privilege::Administrator)
}

/// [`client_login`] from `from`, asking for `privilege`.
fn client_login_as(
    s: &mut Server,
    from: SocketAddr,
    suites: &[u8],
    user: &str,
    pw: &[u8],
    privilege: Privilege,
) -> Result<super::Client, super::ClientError> {
    use super::{Client, ClientConfig, ClientEvent};
    let mut c = Client::new(ClientConfig {
        username: user.into(),
        password: Secret::new(pw.to_vec()),
        kg: None,
        privilege,
        cipher_suites: suites.to_vec(),
        interface: Default::default(),
    });
    let mut out = c.start();
    for _ in 0..20 {
        let back = reply(s.handle(Instant::now(), from, &out));
        match c.handle(&back)? {
            ClientEvent::Send(next) => out = next,
            ClientEvent::Established => return Ok(c),
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("login did not finish")
}

/// Drives a [`super::Client15`] against the server in memory until the session is up.
pub(super) fn client15_login(
    s: &mut Server,
    pw: &[u8],
) -> Result<super::Client15, super::ClientError> {
    use super::{Client15, ClientConfig, ClientEvent, Interface};
    let mut c = Client15::new(ClientConfig {
        username: "admin".into(),
        password: Secret::new(pw.to_vec()),
        kg: None,
        privilege: Privilege::Operator,
        cipher_suites: Vec::new(),
        interface: Interface::Lan,
    });
    let mut out = c.start();
    for _ in 0..20 {
        let back = match s.handle(Instant::now(), peer(), &out) {
            Action::Reply(b) => b,
            Action::Drop(why) => panic!("dropped: {why}"),
            Action::Dispatch(_) => panic!("login step dispatched"),
        };
        match c.handle(&back)? {
            ClientEvent::Send(next) => out = next,
            ClientEvent::Established => return Ok(c),
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("login did not finish")
}
