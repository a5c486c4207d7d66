//! Properties every harness asserts about what the server hands out, beyond "does not panic".

use ipmi_proto::session::{Request, Server, ServerConfig};
use ipmi_proto::wire::{ipmi15, ipmi20, rmcp};
use std::ops::Range;

/// The longest datagram the server may send back. Its longest answers (Get Channel Cipher Suites,
/// RAKP 2, sealed canned answers) are far below; a bound keeps it from being an amplifier.
pub const MAX_REPLY: usize = 512;

/// A datagram the server sends must be a well-formed RMCP packet of bounded size.
pub fn check_reply(bytes: &[u8]) {
    assert!(
        bytes.len() <= MAX_REPLY,
        "reply of {} bytes exceeds {MAX_REPLY}",
        bytes.len()
    );
    let packet = rmcp::Packet::new_checked(bytes).expect("reply is an RMCP packet");
    rmcp::Repr::parse(&packet).expect("reply has a valid RMCP header");
}

/// A dispatched request is either sessionless (no privilege, no user) or comes from a session of
/// an enabled, configured user, at a privilege no higher than that user's limit.
pub fn check_dispatch(config: &ServerConfig, req: &Request) {
    let ctx = &req.context;
    match (ctx.privilege, &ctx.user) {
        (None, None) => {}
        (Some(privilege), Some((id, name))) => {
            let user = config
                .users
                .iter()
                .find(|u| u.id == *id)
                .unwrap_or_else(|| panic!("session of unknown user id {id}"));
            assert!(user.enabled, "session of disabled user {name:?}");
            assert_eq!(&user.name, name, "session names user {id} wrongly");
            assert!(
                privilege <= user.privilege,
                "privilege escalation: user {name:?} (limit {}) runs at {privilege}",
                user.privilege
            );
        }
        other => panic!("inconsistent request context {other:?}"),
    }
}

/// The session table stays within its configured bound.
pub fn check_server(server: &Server) {
    assert!(
        server.active_sessions() <= server.config().max_sessions.max(1),
        "{} sessions open, limit {}",
        server.active_sessions(),
        server.config().max_sessions
    );
}

/// Whether a datagram is an IPMI message inside a session (a non-zero session ID), as opposed to
/// a sessionless message or a session set-up message.
pub fn in_session(datagram: &[u8]) -> bool {
    let Some(p) = datagram.get(rmcp::HEADER_LEN..) else {
        return false;
    };
    match p.first() {
        Some(&ipmi20::AUTH_TYPE_RMCP_PLUS) => ipmi20::Repr::parse(p).is_ok_and(|x| {
            x.header.session_id != 0 && x.header.payload_type == ipmi20::PayloadType::IPMI
        }),
        Some(_) => ipmi15::Repr::parse(p).is_ok_and(|(h, _)| h.session_id != 0),
        None => false,
    }
}

/// The bytes of an authenticated datagram that its integrity check covers, directly or through
/// the fields it binds (session ID, sequence number, payload, pad, the code itself): everything
/// after the RMCP header, except IPMI 1.5's legacy pad byte, which no code covers.
pub fn covered(datagram: &[u8]) -> Range<usize> {
    let start = rmcp::HEADER_LEN;
    let end = match datagram.get(start..) {
        Some(p) if p.first() != Some(&ipmi20::AUTH_TYPE_RMCP_PLUS) => {
            match ipmi15::Repr::parse(p) {
                // Header (with the 16-byte code when authenticated), length byte, message.
                Ok((h, m)) => start + if h.auth_code.is_some() { 26 } else { 10 } + m.len(),
                Err(_) => datagram.len(),
            }
        }
        _ => datagram.len(),
    };
    start..end.min(datagram.len())
}

/// Whether `mutated` differs from `original` in what the integrity check covers. For RMCP+ a
/// different length counts too (the code is the last bytes). IPMI 1.5 may take one appended byte
/// as its legacy pad, so there only the covered bytes count, and of the auth type byte only its
/// low nibble (bits 7:4 are reserved and ignored, as the spec says; the session binds the type).
pub fn differs_in_covered(original: &[u8], mutated: &[u8]) -> bool {
    let mut range = covered(original);
    let at = rmcp::HEADER_LEN;
    let rmcp_plus = original.get(at) == Some(&ipmi20::AUTH_TYPE_RMCP_PLUS);
    if !rmcp_plus {
        if original.get(at).map(|b| b & 0x0f) != mutated.get(at).map(|b| b & 0x0f) {
            return true;
        }
        range.start = (at + 1).min(range.end);
    }
    mutated.get(range.clone()) != original.get(range)
        || (rmcp_plus && mutated.len() != original.len())
}
