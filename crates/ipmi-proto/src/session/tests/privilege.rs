//! Privileges an attacker with an account (or none) tries to get past: raising a session above
//! the user's limit, reading other sessions from a callback session, and logging in with the
//! weak authentication IPMI allows but this BMC does not by default.

use super::{
    client_login_as, peer, reply, request, server, server_with, v15, v15_response, v20_setup,
};
use crate::cmd::app::{
    session_cc, SessionChallengeRequest, SessionInfoRequest, SessionInfoResponse,
};
use crate::cmd::Body;
use crate::session::action::Action;
use crate::session::config::User;
use crate::session::server::Server;
use crate::session::{Client, ClientError, ClientEvent, Secret};
use crate::types::{CompletionCode, NetFn, Privilege};
use crate::wire::ipmi15::AuthType;
use crate::wire::ipmi20::{self, PayloadType};
use crate::wire::rakp::{OpenSessionRequest, OpenSessionResponse, Status};
use std::time::Instant;

/// The test server with a callback-level account, "callback" / "call-me".
fn server_with_callback_user() -> Server {
    server_with(|mut c| {
        c.users.push(User {
            id: 4,
            name: "callback".into(),
            password: Secret::new(b"call-me".to_vec()),
            privilege: Privilege::Callback,
            enabled: true,
        });
        c
    })
}

/// Sends a request in `c`'s session; the server answers it itself. Its completion code and data.
fn ask(
    s: &mut Server,
    c: &mut Client,
    netfn: NetFn,
    cmd: u8,
    data: &[u8],
) -> (CompletionCode, Vec<u8>) {
    let pkt = c.request(netfn, cmd, data).unwrap();
    let Action::Reply(back) = s.handle(Instant::now(), peer(), &pkt) else {
        panic!("not answered by the session layer")
    };
    match c.handle(&back) {
        Ok(ClientEvent::Response(r)) => (r.ccode, r.data),
        other => panic!("no answer: {other:?}"),
    }
}

fn session_info(
    s: &mut Server,
    c: &mut Client,
    req: SessionInfoRequest,
) -> (CompletionCode, Vec<u8>) {
    ask(s, c, NetFn::APP, 0x3d, &req.to_bytes())
}

/// Get Session Info needs User privilege for other sessions (IPMI 2.0 section 22.20 and
/// appendix G): a callback session learns only about itself, not who else is logged in or from
/// where.
#[test]
fn callback_session_reads_only_its_own_session_info() {
    let mut s = server_with_callback_user();
    let mut admin = client_login_as(
        &mut s,
        peer(),
        &[17],
        "admin",
        b"secret",
        Privilege::Administrator,
    )
    .unwrap();
    let mut cb = client_login_as(
        &mut s,
        peer(),
        &[17],
        "callback",
        b"call-me",
        Privilege::Callback,
    )
    .unwrap();
    let (cc, d) = session_info(&mut s, &mut admin, SessionInfoRequest::Current);
    assert_eq!(cc, CompletionCode::OK);
    let admin_handle = SessionInfoResponse::parse(&d).unwrap().handle;
    let (cc, d) = session_info(&mut s, &mut cb, SessionInfoRequest::Current);
    assert_eq!(cc, CompletionCode::OK, "its own session");
    let own = SessionInfoResponse::parse(&d).unwrap();
    assert_eq!(own.session.map(|d| d.user_id), Some(4));
    let (cc, _) = session_info(&mut s, &mut cb, SessionInfoRequest::Handle(own.handle));
    assert_eq!(cc, CompletionCode::OK, "its own session by handle");
    // Handles go in login order: the administrator's session is the first active one.
    for req in [
        SessionInfoRequest::Index(1),
        SessionInfoRequest::Handle(admin_handle),
    ] {
        let (cc, d) = session_info(&mut s, &mut cb, req);
        assert_eq!(
            cc,
            CompletionCode::INSUFFICIENT_PRIVILEGE,
            "{req:?} answered to a callback session: {d:02x?}"
        );
    }
    // At User level the other sessions may be read.
    let (cc, d) = session_info(&mut s, &mut admin, SessionInfoRequest::Index(2));
    assert_eq!(cc, CompletionCode::OK);
    assert!(SessionInfoResponse::parse(&d).unwrap().session.is_some());
}

/// A user-level account cannot raise its session with Set Session Privilege Level, in RMCP+ or
/// IPMI 1.5; the refused request leaves the session at its level; and asking for more than the
/// account has at login is refused too.
#[test]
fn set_session_privilege_above_the_users_limit_is_refused() {
    let mut s = server();
    let mut viewer =
        client_login_as(&mut s, peer(), &[17], "viewer", b"look", Privilege::User).unwrap();
    for level in [Privilege::Operator, Privilege::Administrator] {
        let (cc, _) = ask(&mut s, &mut viewer, NetFn::APP, 0x3b, &[level.as_u8()]);
        assert_eq!(cc, session_cc::LEVEL_EXCEEDS_LIMIT, "{level}");
    }
    let (cc, _) = ask(&mut s, &mut viewer, NetFn::APP, 0x3b, &[5]);
    assert_eq!(cc, session_cc::LEVEL_NOT_AVAILABLE, "OEM");
    let pkt = viewer.request(NetFn::CHASSIS, 0x02, &[0]).unwrap();
    let Action::Dispatch(req) = s.handle(Instant::now(), peer(), &pkt) else {
        panic!("expected dispatch")
    };
    assert_eq!(
        req.context.privilege,
        Some(Privilege::User),
        "still user level"
    );
    assert!(
        matches!(
            client_login_as(
                &mut s,
                peer(),
                &[17],
                "viewer",
                b"look",
                Privilege::Administrator
            ),
            Err(ClientError::Status {
                step: "RAKP 2",
                status: 0x0a
            })
        ),
        "administrator asked for at login by a user-level account"
    );

    // IPMI 1.5: Activate Session above the account's level, then Set Session Privilege.
    let mut name = [0u8; 16];
    name[..6].copy_from_slice(b"viewer");
    let challenge = |s: &mut Server| {
        let msg = request(
            NetFn::APP,
            0x39,
            1,
            &SessionChallengeRequest::new(AuthType::Md5, b"viewer").to_bytes(),
        );
        let (_, r) = v15_response(&reply(s.handle(
            Instant::now(),
            peer(),
            &v15(AuthType::None, 0, 0, b"", &msg),
        )));
        assert_eq!(r.ccode, CompletionCode::OK);
        (
            u32::from_le_bytes(r.data[..4].try_into().unwrap()),
            r.data[4..20].to_vec(),
        )
    };
    let activate = |s: &mut Server, level: u8| {
        let (temp, ch) = challenge(s);
        let mut d = vec![AuthType::Md5 as u8, level];
        d.extend_from_slice(&ch);
        d.extend_from_slice(&77u32.to_le_bytes());
        let msg = request(NetFn::APP, 0x3a, 2, &d);
        let (_, r) = v15_response(&reply(s.handle(
            Instant::now(),
            peer(),
            &v15(AuthType::Md5, 0, temp, b"look", &msg),
        )));
        (temp, r)
    };
    let (_, r) = activate(&mut s, Privilege::Administrator.as_u8());
    assert_eq!(r.ccode, session_cc::PRIVILEGE_EXCEEDS_LIMIT);
    let (sid, r) = activate(&mut s, Privilege::User.as_u8());
    assert_eq!(r.ccode, CompletionCode::OK);
    let inbound = u32::from_le_bytes(r.data[5..9].try_into().unwrap());
    let msg = request(NetFn::APP, 0x3b, 3, &[Privilege::Administrator.as_u8()]);
    let (_, r) = v15_response(&reply(s.handle(
        Instant::now(),
        peer(),
        &v15(AuthType::Md5, inbound, sid, b"look", &msg),
    )));
    assert_eq!(r.ccode, session_cc::LEVEL_EXCEEDS_LIMIT);
}

/// Out of the box: no cipher suite 0 (no authentication at all), and no IPMI 1.5 login with auth
/// type none, straight password (the password in clear) or MD2.
#[test]
fn cipher_0_and_weak_ipmi15_auth_types_are_refused_by_default() {
    let mut s = server();
    // Cipher suite 0 asked for by its algorithms (RAKP-none, none, none), and by its ID.
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
    let open = OpenSessionResponse::parse(ipmi20::Repr::parse(&r[4..]).unwrap().payload).unwrap();
    assert_eq!(open.status, Status::NO_CIPHER_SUITE_MATCH);
    assert!(matches!(
        client_login_as(&mut s, peer(), &[0], "admin", b"secret", Privilege::Administrator),
        Err(ClientError::NoCipherSuite(offered)) if !offered.contains(&0)
    ));
    for auth in [AuthType::None, AuthType::Straight, AuthType::Md2] {
        let msg = request(
            NetFn::APP,
            0x39,
            1,
            &SessionChallengeRequest::new(auth, b"admin").to_bytes(),
        );
        let (_, r) = v15_response(&reply(s.handle(
            Instant::now(),
            peer(),
            &v15(AuthType::None, 0, 0, b"", &msg),
        )));
        assert_eq!(r.ccode, CompletionCode::INVALID_FIELD, "{auth:?}");
    }
    // And the channel does not offer them.
    let msg = request(NetFn::APP, 0x38, 1, &[0x0e, 0x04]);
    let (_, r) = v15_response(&reply(s.handle(
        Instant::now(),
        peer(),
        &v15(AuthType::None, 0, 0, b"", &msg),
    )));
    assert_eq!(r.data[1], AuthType::Md5.mask_bit(), "MD5 alone");
}
