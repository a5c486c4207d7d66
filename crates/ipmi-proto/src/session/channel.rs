//! The channel and session commands the session layer answers itself, because they read or change
//! session state: Get Channel Authentication Capabilities (22.13), Get Channel Cipher Suites
//! (22.15), Set Session Privilege Level (22.18), Close Session (22.19), Get Session Info (22.20).

use super::cipher_suite::CipherSuite;
use super::server::{Action, Server};
use super::table::Protocol;
use crate::cmd::app::CURRENT_CHANNEL;
use crate::types::{CompletionCode, Privilege};
use crate::wire::message;
use std::net::IpAddr;
use std::time::Instant;

/// The most sessions Get Session Info reports as possible (6 bits).
const MAX_REPORTED_SESSIONS: usize = 63;

impl Server {
    fn channel_ok(&self, byte: u8) -> bool {
        let ch = byte & 0x0f;
        ch == CURRENT_CHANNEL || ch == self.config.channel
    }

    /// Get Channel Authentication Capabilities: answered for IPMI 1.5 requests and, with bit 7 of
    /// the channel byte set, with the IPMI 2.0 extended data.
    pub(crate) fn auth_capabilities(&self, data: &[u8]) -> (CompletionCode, Vec<u8>) {
        if data.len() != 2 {
            return (CompletionCode::INVALID_LENGTH, Vec::new());
        }
        if !self.channel_ok(data[0]) || Privilege::from_u8(data[1]).is_none() || data[1] & 0xf0 != 0
        {
            return (CompletionCode::INVALID_FIELD, Vec::new());
        }
        let v2 = data[0] & 0x80 != 0;
        let mut types = self.config.auth_type_mask();
        if v2 {
            types |= 0x80;
        }
        let users = &self.config.users;
        let mut status = 0u8;
        if self
            .config
            .kg
            .as_ref()
            .is_some_and(|k| k.expose().iter().any(|b| *b != 0))
        {
            status |= 0x20;
        }
        if users.iter().any(|u| u.enabled && !u.name.is_empty()) {
            status |= 0x04;
        }
        if users.iter().any(|u| u.enabled && u.name.is_empty()) {
            status |= 0x02;
        }
        let ext = if v2 {
            0x02 | u8::from(self.config.ipmi15)
        } else {
            0
        };
        (
            CompletionCode::OK,
            vec![self.config.channel, types, status, ext, 0, 0, 0, 0],
        )
    }

    /// Get Channel Cipher Suites: the enabled suites as 16-byte pages of records.
    pub(crate) fn cipher_suites(&self, data: &[u8]) -> (CompletionCode, Vec<u8>) {
        if data.len() != 3 {
            return (CompletionCode::INVALID_LENGTH, Vec::new());
        }
        if !self.channel_ok(data[0]) {
            return (CompletionCode::INVALID_FIELD, Vec::new());
        }
        let index = (data[2] & 0x3f) as usize;
        let mut records = Vec::new();
        for s in self
            .config
            .cipher_suites
            .iter()
            .filter_map(|id| CipherSuite::by_id(*id))
        {
            records.extend_from_slice(&[
                0xc0,
                s.id,
                s.auth.code(),
                0x40 | s.integrity.code(),
                0x80 | s.confidentiality.code(),
            ]);
        }
        let mut out = vec![self.config.channel];
        let start = (index * 16).min(records.len());
        let end = (start + 16).min(records.len());
        out.extend_from_slice(&records[start..end]);
        (CompletionCode::OK, out)
    }

    /// Set Session Privilege Level: 0 reads the current level.
    pub(crate) fn set_privilege(&mut self, id: u32, data: &[u8]) -> (CompletionCode, Vec<u8>) {
        let Some(s) = self.sessions.get_mut(&id) else {
            return (CompletionCode::INVALID_STATE, Vec::new());
        };
        if data.len() != 1 {
            return (CompletionCode::INVALID_LENGTH, Vec::new());
        }
        if data[0] & 0x0f == 0 {
            return (CompletionCode::OK, vec![s.privilege.as_u8()]);
        }
        let Some(level) = Privilege::from_u8(data[0]).filter(|_| data[0] & 0xf0 == 0) else {
            return (CompletionCode::INVALID_FIELD, Vec::new());
        };
        if level == Privilege::Oem {
            // "Requested level not available for this user."
            return (CompletionCode(0x80), Vec::new());
        }
        if level > s.max_privilege {
            // "Requested level exceeds channel and/or user privilege limit."
            return (CompletionCode(0x81), Vec::new());
        }
        s.privilege = level;
        tracing::debug!(user = %s.user_name, handle = s.handle, privilege = %level, "session privilege set");
        (CompletionCode::OK, vec![level.as_u8()])
    }

    /// Close Session: a session may close itself; an administrator may close any.
    pub(crate) fn close_session(
        &mut self,
        now: Instant,
        id: u32,
        req: &message::Request,
    ) -> Action {
        let d = &req.data;
        let target = match d.len() {
            4 | 5 => {
                let sid = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
                if sid == 0 {
                    let handle = d.get(4).copied();
                    self.sessions
                        .values()
                        .find(|s| Some(s.handle) == handle)
                        .map(|s| s.id)
                } else {
                    self.sessions
                        .values()
                        .find(|s| s.outbound_id() == sid || s.id == sid)
                        .map(|s| s.id)
                }
            }
            _ => {
                return self.reply_in_session(id, req, CompletionCode::INVALID_LENGTH, &[]);
            }
        };
        let Some(target) = target else {
            // "Invalid session ID in request."
            return self.reply_in_session(id, req, CompletionCode(0x87), &[]);
        };
        let own = self.sessions.get(&id).map(|s| s.privilege);
        if target != id && own != Some(Privilege::Administrator) && own != Some(Privilege::Oem) {
            return self.reply_in_session(id, req, CompletionCode::INSUFFICIENT_PRIVILEGE, &[]);
        }
        let reply = self.reply_in_session(id, req, CompletionCode::OK, &[]);
        if let Some(s) = self.sessions.remove(&target) {
            let _ = now;
            tracing::info!(user = %s.user_name, peer = %s.peer, handle = s.handle, "session closed by request");
        }
        reply
    }

    fn reply_in_session(
        &mut self,
        id: u32,
        req: &message::Request,
        cc: CompletionCode,
        data: &[u8],
    ) -> Action {
        match self.seal_in_session(id, req, cc, data) {
            Some(b) => Action::Reply(b),
            None => Action::Drop("session gone"),
        }
    }

    /// Get Session Info: by index (0 = this session, n = the n-th active one), by handle (0xFE)
    /// or by session ID (0xFF).
    pub(crate) fn session_info(&self, id: u32, data: &[u8]) -> (CompletionCode, Vec<u8>) {
        let Some(&index) = data.first() else {
            return (CompletionCode::INVALID_LENGTH, Vec::new());
        };
        let mut active: Vec<_> = self.sessions.values().collect();
        active.sort_by_key(|s| s.handle);
        let found = match index {
            0 => self.sessions.get(&id),
            0xfe => match data.get(1) {
                Some(h) if data.len() == 2 => active.iter().copied().find(|s| s.handle == *h),
                _ => return (CompletionCode::INVALID_LENGTH, Vec::new()),
            },
            0xff => match data.get(1..5) {
                Some(b) if data.len() == 5 => {
                    let sid = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    active
                        .iter()
                        .copied()
                        .find(|s| s.id == sid || s.outbound_id() == sid)
                }
                _ => return (CompletionCode::INVALID_LENGTH, Vec::new()),
            },
            n => active.get(n as usize - 1).copied(),
        };
        let mut out = vec![
            found.map_or(0, |s| s.handle),
            self.config.max_sessions.min(MAX_REPORTED_SESSIONS) as u8,
            self.active_count_u8(),
        ];
        if let Some(s) = found {
            let protocol = match s.protocol {
                Protocol::V15 { .. } => 0u8,
                Protocol::V20 { .. } => 1u8,
            };
            out.extend_from_slice(&[
                s.user_id,
                s.privilege.as_u8(),
                (protocol << 4) | self.config.channel,
            ]);
            // LAN channel data: console IP, MAC (unknown to us: zeros), port in network order.
            let ip = match s.peer.ip() {
                IpAddr::V4(v4) => v4.octets(),
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or([0; 4], |v| v.octets()),
            };
            out.extend_from_slice(&ip);
            out.extend_from_slice(&[0; 6]);
            out.extend_from_slice(&s.peer.port().to_be_bytes());
        }
        (CompletionCode::OK, out)
    }
}
