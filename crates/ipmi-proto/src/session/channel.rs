//! The channel and session commands the session layer answers itself, because they read or change
//! session state: Get Channel Authentication Capabilities (22.13), Get Channel Cipher Suites
//! (22.15), Set Session Privilege Level (22.18), Close Session (22.19), Get Session Info (22.20).
//!
//! Each takes the parsed request and only the state it reads or changes, and returns the response
//! body or the completion code; the server parses, calls and seals.

use super::cipher_suite::CipherSuite;
use super::config::ServerConfig;
use super::table::{Protocol, Session, SessionTable};
use crate::cmd::app::{
    session_cc, ChannelAuthCapabilitiesRequest, ChannelAuthCapabilitiesResponse, CipherSuiteRecord,
    CipherSuitesRequest, CipherSuitesResponse, CloseSessionRequest, LanSession, SessionDetails,
    SessionInfoRequest, SessionInfoResponse, SetSessionPrivilegeRequest,
    SetSessionPrivilegeResponse, CIPHER_SUITE_PAGE_LEN, CURRENT_CHANNEL, PROTOCOL_IPMI15,
    PROTOCOL_RMCP_PLUS,
};
use crate::types::{CompletionCode, Privilege};
use std::net::IpAddr;

/// The most sessions Get Session Info reports as possible (6 bits).
const MAX_REPORTED_SESSIONS: usize = 63;

fn channel_ok(config: &ServerConfig, channel: u8) -> bool {
    channel == CURRENT_CHANNEL || channel == config.channel
}

/// Get Channel Authentication Capabilities: answered for IPMI 1.5 requests and, when asked for,
/// with the IPMI 2.0 extended data.
pub(crate) fn auth_capabilities(
    config: &ServerConfig,
    req: &ChannelAuthCapabilitiesRequest,
) -> Result<ChannelAuthCapabilitiesResponse, CompletionCode> {
    if !channel_ok(config, req.channel) {
        return Err(CompletionCode::INVALID_FIELD);
    }
    let v2 = req.ipmi20_extended;
    let users = &config.users;
    Ok(ChannelAuthCapabilitiesResponse {
        channel: config.channel,
        ipmi20_extended: v2,
        auth_types: config.auth_type_mask(),
        kg_set: config
            .kg
            .as_ref()
            .is_some_and(|k| k.expose().iter().any(|b| *b != 0)),
        per_message_auth_disabled: false,
        user_level_auth_disabled: false,
        non_null_users: users.iter().any(|u| u.enabled && !u.name.is_empty()),
        null_user: users.iter().any(|u| u.enabled && u.name.is_empty()),
        anonymous_login: false,
        supports_ipmi20: v2,
        supports_ipmi15: v2 && config.ipmi15,
        oem_id: 0,
        oem_aux: 0,
    })
}

/// Get Channel Cipher Suites: the enabled suites as 16-byte pages of records.
pub(crate) fn cipher_suites(
    config: &ServerConfig,
    req: &CipherSuitesRequest,
) -> Result<CipherSuitesResponse, CompletionCode> {
    if !channel_ok(config, req.channel) {
        return Err(CompletionCode::INVALID_FIELD);
    }
    let mut records = Vec::new();
    for s in config
        .cipher_suites
        .iter()
        .filter_map(|id| CipherSuite::by_id(*id))
    {
        CipherSuiteRecord {
            id: s.id,
            auth: s.auth.code(),
            integrity: s.integrity.code(),
            confidentiality: s.confidentiality.code(),
        }
        .emit(&mut records);
    }
    let start = (req.index as usize * CIPHER_SUITE_PAGE_LEN).min(records.len());
    let end = (start + CIPHER_SUITE_PAGE_LEN).min(records.len());
    Ok(CipherSuitesResponse {
        channel: config.channel,
        records: records[start..end].to_vec(),
    })
}

/// Set Session Privilege Level: no level reads the present one.
pub(crate) fn set_privilege(
    s: &mut Session,
    req: &SetSessionPrivilegeRequest,
) -> Result<SetSessionPrivilegeResponse, CompletionCode> {
    let Some(level) = req.level else {
        return Ok(SetSessionPrivilegeResponse { level: s.privilege });
    };
    if level == Privilege::Oem {
        return Err(session_cc::LEVEL_NOT_AVAILABLE);
    }
    if level > s.max_privilege {
        return Err(session_cc::LEVEL_EXCEEDS_LIMIT);
    }
    s.privilege = level;
    tracing::debug!(user = %s.user_name, handle = s.handle, privilege = %level, "session privilege set");
    Ok(SetSessionPrivilegeResponse { level })
}

/// Close Session: which session session `id` may close (itself; an administrator any). The
/// caller answers before it closes the session, so that a session closing itself gets its answer.
pub(crate) fn close_target(
    table: &SessionTable,
    id: u32,
    req: &CloseSessionRequest,
) -> Result<u32, CompletionCode> {
    let found = if req.session_id == 0 {
        table
            .sessions
            .values()
            .find(|s| Some(s.handle) == req.handle)
    } else {
        table
            .sessions
            .values()
            .find(|s| s.outbound_id() == req.session_id || s.id == req.session_id)
    };
    let target = found.map(|s| s.id).ok_or(session_cc::INVALID_SESSION_ID)?;
    let own = table.sessions.get(&id).map(|s| s.privilege);
    if target != id && own != Some(Privilege::Administrator) && own != Some(Privilege::Oem) {
        return Err(CompletionCode::INSUFFICIENT_PRIVILEGE);
    }
    Ok(target)
}

/// Get Session Info: by index (0 = this session, n = the n-th active one), by handle or by
/// session ID. Other sessions' users and addresses need User privilege (appendix G); a callback
/// session may ask only about itself.
pub(crate) fn session_info(
    config: &ServerConfig,
    table: &SessionTable,
    id: u32,
    req: &SessionInfoRequest,
) -> Result<SessionInfoResponse, CompletionCode> {
    let mut active: Vec<_> = table.sessions.values().collect();
    active.sort_by_key(|s| s.handle);
    let found = match *req {
        SessionInfoRequest::Current => table.sessions.get(&id),
        SessionInfoRequest::Handle(h) => active.iter().copied().find(|s| s.handle == h),
        SessionInfoRequest::SessionId(sid) => active
            .iter()
            .copied()
            .find(|s| s.id == sid || s.outbound_id() == sid),
        SessionInfoRequest::Index(n) => (n as usize)
            .checked_sub(1)
            .and_then(|i| active.get(i).copied()),
    };
    let own = table.sessions.get(&id);
    let others_readable = own.is_some_and(|s| s.privilege >= Privilege::User);
    if !others_readable && found.is_some_and(|s| s.id != id) {
        return Err(CompletionCode::INSUFFICIENT_PRIVILEGE);
    }
    Ok(SessionInfoResponse {
        handle: found.map_or(0, |s| s.handle),
        max_sessions: config.session_limit().min(MAX_REPORTED_SESSIONS) as u8,
        active_sessions: table.active_count_u8(),
        session: found.map(|s| SessionDetails {
            user_id: s.user_id,
            privilege: s.privilege,
            protocol: match s.protocol {
                Protocol::V15 { .. } => PROTOCOL_IPMI15,
                Protocol::V20 { .. } => PROTOCOL_RMCP_PLUS,
            },
            channel: config.channel,
            // The console's address; its MAC is unknown to us (zeros).
            lan: Some(LanSession {
                ip: match s.peer.ip() {
                    IpAddr::V4(v4) => v4.octets(),
                    IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or([0; 4], |v| v.octets()),
                },
                mac: [0; 6],
                port: s.peer.port(),
            }),
        }),
    })
}
