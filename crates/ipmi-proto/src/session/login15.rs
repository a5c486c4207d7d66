//! IPMI 1.5 session activation (IPMI 2.0 sections 6.12.x, 22.16 and 22.17): Get Session
//! Challenge and Activate Session.
//!
//! Both work on the configuration, the session table and the server's randomness source, which
//! the server lends them.

use super::action::Action;
use super::config::ServerConfig;
use super::lazy_rng::LazyRng;
use super::pending::{Handshake, Pending};
use super::seal::{open_v15, sessionless_reply, Form};
use super::seqwin::SeqWindow;
use super::stats::LoginFailure;
use super::table::{Protocol, Session, SessionTable};
use crate::cmd::app::{
    session_cc, ActivateSessionRequest, ActivateSessionResponse, SessionChallengeRequest,
    SessionChallengeResponse,
};
use crate::cmd::Body;
use crate::crypto::ct_eq;
use crate::types::{CompletionCode, Privilege};
use crate::wire::ipmi15;
use crate::wire::message;
use rand::RngCore;
use std::net::SocketAddr;
use std::time::Instant;
use zeroize::Zeroizing;

/// Get Session Challenge (section 22.16): a temporary session and a challenge for a known user.
pub(crate) fn session_challenge(
    config: &ServerConfig,
    table: &mut SessionTable,
    rng: &mut LazyRng,
    now: Instant,
    peer: SocketAddr,
    req: &SessionChallengeRequest,
) -> Result<SessionChallengeResponse, CompletionCode> {
    if !config.auth_type_enabled(req.auth_type) {
        return Err(CompletionCode::INVALID_FIELD);
    }
    let name = req.name();
    if table.limiter.locked(peer.ip(), name, now) {
        table.stats.fail(LoginFailure::LockedOut);
        if table.log_budget.allow(now) {
            tracing::warn!(peer = %peer, user = ?String::from_utf8_lossy(name), "login refused: too many failed logins");
        }
        return Err(CompletionCode::NODE_BUSY);
    }
    let Some(user_id) = config.user_by_name(name).map(|u| u.id) else {
        table.stats.fail(LoginFailure::UnknownUser);
        // Counted per address, not per name: made-up names cannot fill the limiter.
        if table
            .limiter
            .fail_unknown(peer.ip(), now, &config.login_policy)
            && table.log_budget.allow(now)
        {
            tracing::warn!(peer = %peer, "too many failed logins from this address: locked out for {:?}", config.login_policy.lockout);
        }
        if table.log_budget.allow(now) {
            tracing::warn!(peer = %peer, user = ?String::from_utf8_lossy(name), "login failed: unknown user (IPMI 1.5)");
        }
        return Err(if name.is_empty() {
            session_cc::NULL_USER_DISABLED
        } else {
            session_cc::INVALID_USER_NAME
        });
    };
    let temp_id = table.new_session_id(rng);
    let mut challenge = [0u8; 16];
    rng.fill_bytes(&mut challenge);
    let login = Pending {
        peer,
        started: now,
        state: Handshake::Challenge {
            user_id,
            auth_type: req.auth_type,
            challenge,
        },
    };
    table.add_pending(temp_id, login, now, config);
    Ok(SessionChallengeResponse {
        temporary_session_id: temp_id,
        challenge,
    })
}

/// Activate Session (section 22.17), authenticated with the challenge's session ID.
pub(crate) fn activate_session(
    config: &ServerConfig,
    table: &mut SessionTable,
    rng: &mut LazyRng,
    now: Instant,
    peer: SocketAddr,
    packet: &ipmi15::Packet<&[u8]>,
    req: message::Request,
) -> Action {
    let sid = packet.session_id();
    let Some(Pending {
        peer: started_by,
        state:
            Handshake::Challenge {
                user_id,
                auth_type,
                challenge,
            },
        ..
    }) = table.pending.get(&sid)
    else {
        return Action::Drop("no challenge for this session");
    };
    if started_by.ip() != peer.ip() {
        return Action::Drop("challenge belongs to another address");
    }
    let (user_id, auth_type, challenge) = (*user_id, *auth_type, *challenge);
    let Some(user) = config.user_by_id(user_id).cloned() else {
        return Action::Drop("user gone");
    };
    let reject = |rng: &mut LazyRng, cc: CompletionCode| {
        Action::Reply(sessionless_reply(Form::V15, &req, cc, &[], rng))
    };
    let authentic = open_v15(packet, auth_type, user.password.expose()).is_ok();
    let activate = ActivateSessionRequest::parse(&req.data).ok();
    let challenge_ok = activate.is_some_and(|a| ct_eq(&a.challenge, &challenge));
    let (Some(activate), true, true) = (activate, authentic, challenge_ok) else {
        table.pending.remove(&sid);
        table.stats.fail(LoginFailure::BadPassword);
        let policy = config.login_policy;
        if table
            .limiter
            .fail(peer.ip(), user.name.as_bytes(), now, &policy)
            && table.log_budget.allow(now)
        {
            tracing::warn!(peer = %peer, user = %user.name, "too many failed logins: locked out for {:?}", policy.lockout);
        }
        if table.log_budget.allow(now) {
            tracing::warn!(peer = %peer, user = %user.name, "login failed: bad password (IPMI 1.5)");
        }
        // No answer authenticated with the real password: that would be a password oracle.
        return reject(rng, CompletionCode::INSUFFICIENT_PRIVILEGE);
    };
    if activate.auth_type & 0x0f != auth_type as u8 {
        return reject(rng, CompletionCode::INVALID_FIELD);
    }
    let Some(max_privilege) = activate.max_privilege().filter(|p| *p != Privilege::Oem) else {
        return reject(rng, CompletionCode::INVALID_FIELD);
    };
    if max_privilege > user.privilege {
        table.pending.remove(&sid);
        table.stats.fail(LoginFailure::Privilege);
        return reject(rng, session_cc::PRIVILEGE_EXCEEDS_LIMIT);
    }
    let initial_out = activate.initial_outbound_sequence;
    if initial_out == 0 {
        return reject(rng, CompletionCode::INVALID_FIELD);
    }
    table.pending.remove(&sid);
    // A session needs a slot and a handle to name it by.
    let handle = table.new_handle(config);
    let Some(handle) = handle else {
        table.stats.fail(LoginFailure::NoSessionSlot);
        return reject(rng, session_cc::NO_SESSION_SLOT);
    };
    let mut initial_in = 0;
    while initial_in == 0 {
        initial_in = rng.next_u32();
    }
    table.limiter.succeed(peer.ip(), user.name.as_bytes());
    table.sessions.insert(
        sid,
        Session {
            id: sid,
            handle,
            peer,
            user_id: user.id,
            user_name: user.name.clone(),
            max_privilege,
            privilege: max_privilege.min(Privilege::User),
            protocol: Protocol::V15 {
                auth_type,
                password: Zeroizing::new(user.password.expose().to_vec()),
            },
            inbound: SeqWindow::expecting(initial_in),
            out_seq: initial_out,
            last_activity: now,
            in_flight: Vec::new(),
            replay: None,
        },
    );
    table.stats.opened_ipmi15 += 1;
    tracing::info!(peer = %peer, user = %user.name, handle, max_privilege = %max_privilege, auth = ?auth_type, "session opened (IPMI 1.5)");
    let answer = ActivateSessionResponse {
        auth_type,
        session_id: sid,
        initial_inbound_sequence: initial_in,
        max_privilege,
    };
    match table.seal_reply(sid, &req, CompletionCode::OK, &answer.to_bytes(), rng) {
        Some(b) => {
            if let Some(s) = table.sessions.get_mut(&sid) {
                s.replay = Some(b.clone());
            }
            Action::Reply(b)
        }
        None => Action::Drop("session gone"),
    }
}
