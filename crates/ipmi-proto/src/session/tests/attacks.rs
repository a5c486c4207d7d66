//! What an attacker on the management network tries, in memory: reading other sessions and
//! raising a session's privilege past the user's limit.

use super::{client_login_as, peer, server_with};
use crate::cmd::app::{SessionInfoRequest, SessionInfoResponse};
use crate::cmd::Body;
use crate::session::action::Action;
use crate::session::config::User;
use crate::session::server::Server;
use crate::session::{Client, ClientEvent, Secret};
use crate::types::{CompletionCode, NetFn, Privilege};
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
