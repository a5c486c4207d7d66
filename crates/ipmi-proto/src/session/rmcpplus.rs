//! RMCP+ session set-up (IPMI 2.0 sections 13.17 to 13.23): Open Session, RAKP 1/2 and RAKP 3/4.
//! Every failure the spec names is answered with its status code, so that a client fails at once
//! instead of waiting for its timeout.
//!
//! Each step works on the configuration, the session table and the server's randomness source,
//! which the server lends it.

use super::action::Action;
use super::cipher_suite::CipherSuite;
use super::config::ServerConfig;
use super::lazy_rng::LazyRng;
use super::pending::{Handshake, Pending};
use super::seal::seal_v20;
use super::seqwin::SeqWindow;
use super::stats::LoginFailure;
use super::table::{Protocol, Session, SessionTable};
use crate::crypto::ct_eq;
use crate::crypto::rakp::{derive_key, Exchange};
use crate::types::Privilege;
use crate::wire::ipmi20::PayloadType;
use crate::wire::rakp::{
    tag_and_session_id, OpenSessionRequest, OpenSessionResponse, Rakp1, Rakp2, Rakp3, Rakp4, Status,
};
use rand::RngCore;
use std::net::SocketAddr;
use std::time::Instant;

fn setup_reply(rng: &mut LazyRng, ty: PayloadType, payload: Vec<u8>) -> Vec<u8> {
    seal_v20(ty, 0, 0, &payload, None, rng)
}

fn open_session_error(rng: &mut LazyRng, tag: u8, console_id: u32, status: Status) -> Action {
    let mut p = Vec::new();
    OpenSessionResponse {
        tag,
        status,
        max_privilege: 0,
        console_session_id: console_id,
        bmc_session_id: 0,
        auth: 0,
        integrity: 0,
        confidentiality: 0,
    }
    .emit(&mut p);
    Action::Reply(setup_reply(rng, PayloadType::OPEN_SESSION_RESPONSE, p))
}

/// The first enabled cipher suite matching the proposed algorithms (an empty proposal
/// matches anything).
fn select_suite(config: &ServerConfig, req: &OpenSessionRequest) -> Option<CipherSuite> {
    config
        .cipher_suites
        .iter()
        .filter_map(|id| CipherSuite::by_id(*id))
        .find(|s| {
            req.auth.is_none_or(|a| a == s.auth.code())
                && req.integrity.is_none_or(|i| i == s.integrity.code())
                && req
                    .confidentiality
                    .is_none_or(|c| c == s.confidentiality.code())
        })
}

/// Open Session Request (section 13.17).
pub(crate) fn open_session(
    config: &ServerConfig,
    table: &mut SessionTable,
    rng: &mut LazyRng,
    now: Instant,
    peer: SocketAddr,
    payload: &[u8],
) -> Action {
    let Some((tag, console_id)) = tag_and_session_id(payload) else {
        return Action::Drop("truncated Open Session Request");
    };
    let Ok(req) = OpenSessionRequest::parse(payload) else {
        return open_session_error(rng, tag, console_id, Status::ILLEGAL_PARAMETER);
    };
    if console_id == 0 {
        return open_session_error(rng, tag, console_id, Status::INVALID_SESSION_ID);
    }
    let Some(suite) = select_suite(config, &req) else {
        table.stats.fail(LoginFailure::NoCipherSuite);
        if table.log_budget.allow(now) {
            tracing::info!(peer = %peer, auth = ?req.auth, integrity = ?req.integrity, confidentiality = ?req.confidentiality, "open session refused: no enabled cipher suite matches");
        }
        return open_session_error(rng, tag, console_id, Status::NO_CIPHER_SUITE_MATCH);
    };
    // 0 asks for the highest level the channel allows: administrator here.
    let max_privilege = match req.max_privilege {
        0 => Privilege::Administrator,
        1..=4 => Privilege::from_u8(req.max_privilege).expect("1..=4 are levels"),
        _ => return open_session_error(rng, tag, console_id, Status::INVALID_ROLE),
    };
    if !table.has_room(config) {
        table.stats.fail(LoginFailure::NoSessionSlot);
        return open_session_error(rng, tag, console_id, Status::INSUFFICIENT_RESOURCES);
    }
    let bmc_id = table.new_session_id(rng);
    let login = Pending {
        peer,
        started: now,
        state: Handshake::Opened {
            console_id,
            suite,
            max_privilege,
        },
    };
    table.add_pending(bmc_id, login, now, config);
    let mut p = Vec::with_capacity(36);
    OpenSessionResponse {
        tag,
        status: Status::OK,
        max_privilege: max_privilege.as_u8(),
        console_session_id: console_id,
        bmc_session_id: bmc_id,
        auth: suite.auth.code(),
        integrity: suite.integrity.code(),
        confidentiality: suite.confidentiality.code(),
    }
    .emit(&mut p);
    Action::Reply(setup_reply(rng, PayloadType::OPEN_SESSION_RESPONSE, p))
}

fn rakp2_error(rng: &mut LazyRng, tag: u8, console_id: u32, status: Status) -> Action {
    let mut p = Vec::new();
    Rakp2 {
        tag,
        status,
        console_session_id: console_id,
        bmc_random: [0; 16],
        bmc_guid: [0; 16],
        auth_code: Vec::new(),
    }
    .emit(&mut p);
    Action::Reply(setup_reply(rng, PayloadType::RAKP2, p))
}

/// RAKP Message 1 (section 13.20), answered with RAKP Message 2.
///
/// RAKP 2 carries an HMAC keyed by the user's password: the lockout is checked before it is
/// computed, so a locked-out address and name get no more of them. A repeated RAKP 1 gets the
/// same RAKP 2 again, not a new code; another RAKP 1 for a login already sent RAKP 2, or one for
/// a new login of the same console and name, ends the earlier exchange as abandoned (a failed
/// login: see [`SessionTable::count_abandoned`]).
pub(crate) fn rakp1(
    config: &ServerConfig,
    table: &mut SessionTable,
    rng: &mut LazyRng,
    now: Instant,
    peer: SocketAddr,
    payload: &[u8],
) -> Action {
    let Some((tag, bmc_id)) = tag_and_session_id(payload) else {
        return Action::Drop("truncated RAKP 1");
    };
    let (console_id, suite, max_privilege) = match table.pending.get(&bmc_id) {
        Some(p) if p.peer.ip() == peer.ip() => match &p.state {
            Handshake::Opened {
                console_id,
                suite,
                max_privilege,
            }
            | Handshake::Rakp2Sent {
                console_id,
                suite,
                max_privilege,
                ..
            } => (*console_id, *suite, *max_privilege),
            Handshake::Challenge { .. } => return Action::Drop("RAKP 1 for an IPMI 1.5 login"),
        },
        _ => return rakp2_error(rng, tag, 0, Status::INVALID_SESSION_ID),
    };
    let parsed = Rakp1::parse(payload);
    if let Some(Handshake::Rakp2Sent { exchange, .. }) =
        table.pending.get(&bmc_id).map(|p| &p.state)
    {
        if parsed.as_ref().is_ok_and(|r| repeats(r, exchange)) {
            return rakp2_again(config, table, rng, now, peer, tag, bmc_id);
        }
        // Another RAKP 1 than the one answered: the console starts over.
        table.pending.start_over(bmc_id);
        table.count_abandoned(now, config);
    }
    let rakp1 = match parsed {
        Ok(r) => r,
        Err(_) => {
            let status = if Rakp1::name_too_long(payload) {
                Status::INVALID_NAME_LENGTH
            } else {
                Status::ILLEGAL_PARAMETER
            };
            table.pending.remove(&bmc_id);
            return rakp2_error(rng, tag, console_id, status);
        }
    };
    // Counted before the lockout is checked: they may be what locks this login out.
    table.pending.started_again(peer, &rakp1.username, bmc_id);
    table.count_abandoned(now, config);
    let name = String::from_utf8_lossy(&rakp1.username).into_owned();
    let level = rakp1.role & 0x0f;
    if level > 4 || rakp1.role & 0xe0 != 0 {
        table.pending.remove(&bmc_id);
        return rakp2_error(rng, tag, console_id, Status::INVALID_ROLE);
    }
    if table.limiter.locked(peer.ip(), &rakp1.username, now) {
        return locked_out(
            config,
            table,
            rng,
            now,
            peer,
            (tag, bmc_id, console_id),
            &name,
        );
    }
    let Some(user) = config.user_by_name(&rakp1.username).cloned() else {
        let policy = config.login_policy;
        table.stats.fail(LoginFailure::UnknownUser);
        // Counted per address, not per name: made-up names cannot fill the limiter.
        if table.limiter.fail_unknown(peer.ip(), now, &policy) && table.log_budget.allow(now) {
            tracing::warn!(peer = %peer, "too many failed logins from this address: locked out for {:?}", policy.lockout);
        }
        if table.log_budget.allow(now) {
            tracing::warn!(peer = %peer, user = ?name, "login failed: unknown user");
        }
        table.pending.remove(&bmc_id);
        return rakp2_error(rng, tag, console_id, Status::UNAUTHORIZED_NAME);
    };
    let privilege = match Privilege::from_u8(level) {
        Some(p) => p,
        None => user.privilege.min(max_privilege),
    };
    if privilege > user.privilege || privilege > max_privilege {
        table.stats.fail(LoginFailure::Privilege);
        if table.log_budget.allow(now) {
            tracing::warn!(peer = %peer, user = ?name, requested = %privilege, limit = %user.privilege, "login refused: privilege above the user's limit");
        }
        table.pending.remove(&bmc_id);
        return rakp2_error(rng, tag, console_id, Status::UNAUTHORIZED_ROLE);
    }
    let mut bmc_random = [0u8; 16];
    rng.fill_bytes(&mut bmc_random);
    let exchange = Exchange {
        console_session_id: console_id,
        bmc_session_id: bmc_id,
        console_random: rakp1.console_random,
        bmc_random,
        bmc_guid: config.guid,
        role: rakp1.role,
        username: rakp1.username.clone(),
    };
    let auth_code = exchange.rakp2_auth_code(suite.auth, user.password.expose());
    let reply = rakp2_ok(rng, tag, &exchange, auth_code);
    if let Some(p) = table.pending.get_mut(&bmc_id) {
        p.state = Handshake::Rakp2Sent {
            console_id,
            suite,
            max_privilege,
            exchange,
            user_id: user.id,
            privilege,
            sent: now,
        };
    }
    reply
}

/// Whether `r` is the RAKP 1 that `answered` came from, but for its tag: a console asking again
/// because our RAKP 2 was lost (FreeIPMI sends the same message under a new tag).
fn repeats(r: &Rakp1, answered: &Exchange) -> bool {
    r.console_random == answered.console_random
        && r.role == answered.role
        && r.username == answered.username
}

/// RAKP 2 with status OK for `exchange`.
fn rakp2_ok(rng: &mut LazyRng, tag: u8, exchange: &Exchange, auth_code: Vec<u8>) -> Action {
    let mut p = Vec::with_capacity(40 + auth_code.len());
    Rakp2 {
        tag,
        status: Status::OK,
        console_session_id: exchange.console_session_id,
        bmc_random: exchange.bmc_random,
        bmc_guid: exchange.bmc_guid,
        auth_code,
    }
    .emit(&mut p);
    Action::Reply(setup_reply(rng, PayloadType::RAKP2, p))
}

/// The answer to a repeated RAKP 1: the RAKP 2 already sent, made again from the exchange kept
/// (the same random number, so the same code: nothing new to crack), and the wait for RAKP 3
/// starts again. Unless the name has been locked out since.
fn rakp2_again(
    config: &ServerConfig,
    table: &mut SessionTable,
    rng: &mut LazyRng,
    now: Instant,
    peer: SocketAddr,
    tag: u8,
    bmc_id: u32,
) -> Action {
    let Some(Pending {
        state:
            Handshake::Rakp2Sent {
                console_id,
                suite,
                exchange,
                user_id,
                sent,
                ..
            },
        ..
    }) = table.pending.get_mut(&bmc_id)
    else {
        return Action::Drop("login state lost");
    };
    let console_id = *console_id;
    let name = String::from_utf8_lossy(&exchange.username).into_owned();
    let user = config.user_by_id(*user_id).filter(|u| u.enabled);
    match user {
        Some(user) if !table.limiter.locked(peer.ip(), &exchange.username, now) => {
            *sent = now;
            let auth_code = exchange.rakp2_auth_code(suite.auth, user.password.expose());
            rakp2_ok(rng, tag, exchange, auth_code)
        }
        Some(_) => locked_out(
            config,
            table,
            rng,
            now,
            peer,
            (tag, bmc_id, console_id),
            &name,
        ),
        None => {
            table.drop_pending(bmc_id, now, config);
            rakp2_error(rng, tag, console_id, Status::UNAUTHORIZED_NAME)
        }
    }
}

/// RAKP 1 (with its tag, for the login with these BMC and console session IDs) refused because
/// its address, or its name from that address, is locked out: RAKP 2 with status "insufficient
/// resources" and no code, random number or GUID.
fn locked_out(
    config: &ServerConfig,
    table: &mut SessionTable,
    rng: &mut LazyRng,
    now: Instant,
    peer: SocketAddr,
    (tag, bmc_id, console_id): (u8, u32, u32),
    name: &str,
) -> Action {
    table.stats.fail(LoginFailure::LockedOut);
    if table.log_budget.allow(now) {
        tracing::warn!(peer = %peer, user = ?name, "login refused: too many failed logins");
    }
    table.drop_pending(bmc_id, now, config);
    rakp2_error(rng, tag, console_id, Status::INSUFFICIENT_RESOURCES)
}

fn rakp4_reply(
    rng: &mut LazyRng,
    tag: u8,
    console_id: u32,
    status: Status,
    icv: Vec<u8>,
) -> Vec<u8> {
    let mut p = Vec::new();
    Rakp4 {
        tag,
        status,
        console_session_id: console_id,
        icv,
    }
    .emit(&mut p);
    setup_reply(rng, PayloadType::RAKP4, p)
}

/// RAKP Message 3 (section 13.22), answered with RAKP Message 4; activates the session.
pub(crate) fn rakp3(
    config: &ServerConfig,
    table: &mut SessionTable,
    rng: &mut LazyRng,
    now: Instant,
    peer: SocketAddr,
    payload: &[u8],
) -> Action {
    let Some((tag, bmc_id)) = tag_and_session_id(payload) else {
        return Action::Drop("truncated RAKP 3");
    };
    if let Some(s) = table.sessions.get(&bmc_id) {
        // Our RAKP 4 was lost and the console asks again.
        return match &s.replay {
            Some(bytes) if s.peer.ip() == peer.ip() => Action::Reply(bytes.clone()),
            _ => Action::Drop("RAKP 3 for an active session"),
        };
    }
    let owned = matches!(table.pending.get(&bmc_id), Some(p) if p.peer.ip() == peer.ip()
        && matches!(p.state, Handshake::Rakp2Sent { .. }));
    if !owned {
        return Action::Reply(rakp4_reply(
            rng,
            tag,
            0,
            Status::INVALID_SESSION_ID,
            Vec::new(),
        ));
    }
    let Ok(rakp3) = Rakp3::parse(payload) else {
        let console_id = match table.pending.get(&bmc_id).map(|p| &p.state) {
            Some(Handshake::Rakp2Sent { console_id, .. }) => *console_id,
            _ => 0,
        };
        // No proof of the password after RAKP 2: abandoned.
        table.drop_pending(bmc_id, now, config);
        return Action::Reply(rakp4_reply(
            rng,
            tag,
            console_id,
            Status::ILLEGAL_PARAMETER,
            Vec::new(),
        ));
    };
    let Some(Pending {
        state:
            Handshake::Rakp2Sent {
                console_id,
                suite,
                exchange,
                user_id,
                privilege,
                ..
            },
        ..
    }) = table.pending.remove(&bmc_id)
    else {
        return Action::Drop("login state lost");
    };
    let Some(user) = config.user_by_id(user_id).cloned() else {
        return Action::Drop("user gone");
    };
    let policy = config.login_policy;
    if rakp3.status != Status::OK {
        // The console found our RAKP 2 wrong: its password differs from ours.
        table.stats.fail(LoginFailure::RejectedByClient);
        table
            .limiter
            .fail(peer.ip(), user.name.as_bytes(), now, &policy);
        if table.log_budget.allow(now) {
            tracing::warn!(peer = %peer, user = %user.name, status = rakp3.status.0, "login failed: the client rejected RAKP 2 (wrong password?)");
        }
        return Action::Drop("console aborted the login");
    }
    let expect = exchange.rakp3_auth_code(suite.auth, user.password.expose());
    if !ct_eq(&rakp3.auth_code, &expect) {
        table.stats.fail(LoginFailure::BadPassword);
        if table
            .limiter
            .fail(peer.ip(), user.name.as_bytes(), now, &policy)
            && table.log_budget.allow(now)
        {
            tracing::warn!(peer = %peer, user = %user.name, "too many failed logins: locked out for {:?}", policy.lockout);
        }
        if table.log_budget.allow(now) {
            tracing::warn!(peer = %peer, user = %user.name, "login failed: bad password");
        }
        return Action::Reply(rakp4_reply(
            rng,
            tag,
            console_id,
            Status::INVALID_INTEGRITY_CHECK,
            Vec::new(),
        ));
    }
    // One-key logins key the SIK with the password; both are borrowed, never copied.
    let kg = config.kg.as_ref().unwrap_or(&user.password).expose();
    let sik = exchange.sik(suite.auth, kg);
    let k1 = derive_key(suite.auth, &sik, 1);
    let k2 = derive_key(suite.auth, &sik, 2);
    let icv = exchange.rakp4_icv(suite.auth, &sik);
    // A session needs a slot and a handle to name it by.
    let handle = table.new_handle(config);
    let Some(handle) = handle else {
        table.stats.fail(LoginFailure::NoSessionSlot);
        return Action::Reply(rakp4_reply(
            rng,
            tag,
            console_id,
            Status::INSUFFICIENT_RESOURCES,
            Vec::new(),
        ));
    };
    let reply = rakp4_reply(rng, tag, console_id, Status::OK, icv);
    table.limiter.succeed(peer.ip(), user.name.as_bytes());
    table.sessions.insert(
        bmc_id,
        Session {
            id: bmc_id,
            handle,
            peer,
            user_id: user.id,
            user_name: user.name.clone(),
            max_privilege: privilege,
            privilege: privilege.min(Privilege::User),
            protocol: Protocol::V20 {
                suite,
                console_id,
                k1,
                k2,
                out_seq_unauth: 1,
                in_unauth: SeqWindow::new(),
            },
            inbound: SeqWindow::new(),
            out_seq: 1,
            last_activity: now,
            in_flight: Vec::new(),
            replay: Some(reply.clone()),
        },
    );
    table.stats.opened_rmcp_plus += 1;
    tracing::info!(peer = %peer, user = %user.name, handle, max_privilege = %privilege, cipher_suite = suite.id, "session opened (RMCP+)");
    Action::Reply(reply)
}
