//! IPMI 1.5 session activation (IPMI 2.0 sections 6.12.x, 22.16 and 22.17): Get Session
//! Challenge and Activate Session.

use super::seal::{open_v15, Form};
use super::seqwin::SeqWindow;
use super::server::{Action, Server};
use super::table::{Handshake, Pending, Protocol, Session};
use crate::crypto::ct_eq;
use crate::types::{CompletionCode, Privilege};
use crate::wire::ipmi15::{self, AuthType};
use crate::wire::message;
use rand::RngCore;
use std::net::SocketAddr;
use std::time::Instant;
use zeroize::Zeroizing;

/// Get Session Challenge: "invalid user name".
const CC_INVALID_USER: CompletionCode = CompletionCode(0x81);
/// Get Session Challenge: "null user name (user 1) not enabled".
const CC_NULL_USER_DISABLED: CompletionCode = CompletionCode(0x82);
/// Activate Session: "no session slot available".
const CC_NO_SLOT: CompletionCode = CompletionCode(0x81);
/// Activate Session: "requested maximum privilege level exceeds user and/or channel limit".
const CC_PRIVILEGE_EXCEEDS_LIMIT: CompletionCode = CompletionCode(0x86);

impl Server {
    /// Get Session Challenge (section 22.16): request = auth type, 16-byte user name.
    pub(crate) fn session_challenge(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        data: &[u8],
    ) -> (CompletionCode, Vec<u8>) {
        if data.len() != 17 {
            return (CompletionCode::INVALID_LENGTH, Vec::new());
        }
        let Some(auth_type) =
            AuthType::from_u8(data[0]).filter(|t| self.config.auth_type_enabled(*t))
        else {
            return (CompletionCode::INVALID_FIELD, Vec::new());
        };
        let name_len = data[1..17].iter().position(|b| *b == 0).unwrap_or(16);
        let name = &data[1..1 + name_len];
        if self.limiter.locked(peer.ip(), name, now) {
            tracing::warn!(peer = %peer, user = %String::from_utf8_lossy(name), "login refused: too many failed logins");
            return (CompletionCode::NODE_BUSY, Vec::new());
        }
        let Some(user_id) = self.user_by_name(name).map(|u| u.id) else {
            let policy = self.config.login_policy;
            self.limiter.fail(peer.ip(), name, now, &policy);
            tracing::warn!(peer = %peer, user = %String::from_utf8_lossy(name), "login failed: unknown user (IPMI 1.5)");
            let cc = if name.is_empty() {
                CC_NULL_USER_DISABLED
            } else {
                CC_INVALID_USER
            };
            return (cc, Vec::new());
        };
        self.make_room(now);
        let temp_id = self.new_session_id();
        let mut challenge = [0u8; 16];
        self.rng.fill_bytes(&mut challenge);
        self.pending.insert(
            temp_id,
            Pending {
                peer,
                started: now,
                state: Handshake::Challenge {
                    user_id,
                    auth_type,
                    challenge,
                },
            },
        );
        let mut out = temp_id.to_le_bytes().to_vec();
        out.extend_from_slice(&challenge);
        (CompletionCode::OK, out)
    }

    /// Activate Session (section 22.17), authenticated with the challenge's session ID.
    pub(crate) fn activate_session(
        &mut self,
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
        }) = self.pending.get(&sid)
        else {
            return Action::Drop("no challenge for this session");
        };
        if started_by.ip() != peer.ip() {
            return Action::Drop("challenge belongs to another address");
        }
        let (user_id, auth_type, challenge) = (*user_id, *auth_type, *challenge);
        let Some(user) = self.config.users.iter().find(|u| u.id == user_id).cloned() else {
            return Action::Drop("user gone");
        };
        let reject = |s: &mut Server, cc: CompletionCode| {
            Action::Reply(s.sessionless_reply(Form::V15, &req, cc, &[]))
        };
        let authentic = open_v15(packet, auth_type, user.password.expose()).is_ok();
        let d = &req.data;
        let challenge_ok = d.len() == 22 && ct_eq(&d[2..18], &challenge);
        if !authentic || !challenge_ok {
            self.pending.remove(&sid);
            let policy = self.config.login_policy;
            if self
                .limiter
                .fail(peer.ip(), user.name.as_bytes(), now, &policy)
            {
                tracing::warn!(peer = %peer, user = %user.name, "too many failed logins: locked out for {:?}", policy.lockout);
            }
            tracing::warn!(peer = %peer, user = %user.name, "login failed: bad password (IPMI 1.5)");
            // No answer authenticated with the real password: that would be a password oracle.
            return reject(self, CompletionCode::INSUFFICIENT_PRIVILEGE);
        }
        if d[0] & 0x0f != auth_type as u8 {
            return reject(self, CompletionCode::INVALID_FIELD);
        }
        let Some(max_privilege) = Privilege::from_u8(d[1]).filter(|p| *p != Privilege::Oem) else {
            return reject(self, CompletionCode::INVALID_FIELD);
        };
        if max_privilege > user.privilege {
            self.pending.remove(&sid);
            return reject(self, CC_PRIVILEGE_EXCEEDS_LIMIT);
        }
        let initial_out = u32::from_le_bytes([d[18], d[19], d[20], d[21]]);
        if initial_out == 0 {
            return reject(self, CompletionCode::INVALID_FIELD);
        }
        self.pending.remove(&sid);
        if !self.make_room(now) {
            return reject(self, CC_NO_SLOT);
        }
        let mut initial_in = 0;
        while initial_in == 0 {
            initial_in = self.rng.next_u32();
        }
        self.limiter.succeed(peer.ip(), user.name.as_bytes());
        let handle = self.alloc_handle();
        self.sessions.insert(
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
        tracing::info!(peer = %peer, user = %user.name, handle, max_privilege = %max_privilege, auth = ?auth_type, "session opened (IPMI 1.5)");
        let mut data = vec![auth_type as u8];
        data.extend_from_slice(&sid.to_le_bytes());
        data.extend_from_slice(&initial_in.to_le_bytes());
        data.push(max_privilege.as_u8());
        let bytes = self.seal_in_session(sid, &req, CompletionCode::OK, &data);
        match bytes {
            Some(b) => {
                if let Some(s) = self.sessions.get_mut(&sid) {
                    s.replay = Some(b.clone());
                }
                Action::Reply(b)
            }
            None => Action::Drop("session gone"),
        }
    }
}
