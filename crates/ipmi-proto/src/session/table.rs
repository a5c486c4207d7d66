//! The session table: active sessions, logins in progress ([`PendingLogins`]), the failed-login
//! limiter ([`LoginLimiter`]), and the budget of log lines about failed logins ([`LogBudget`]).

use super::cipher_suite::{CipherSuite, IntegrityAlgorithm};
use super::config::ServerConfig;
use super::id_map::IdMap;
use super::limiter::LoginLimiter;
use super::log_budget::LogBudget;
use super::pending::{Abandoned, Pending, PendingLogins};
use super::seal::{response_message, seal_v15, seal_v20, Form, Keys};
use super::seqwin::{self, SeqWindow};
use super::stats::{LoginFailure, ServerStats};
use crate::types::{CompletionCode, NetFn, Privilege};
use crate::wire::ipmi15::AuthType;
use crate::wire::ipmi20::PayloadType;
use crate::wire::message;
use rand::RngCore;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// After this long a request handed up and never answered no longer blocks its repeats.
pub(crate) const IN_FLIGHT_TIMEOUT: Duration = Duration::from_secs(15);

/// The protocol and keys of an active session.
pub(crate) enum Protocol {
    /// IPMI 1.5: per-message authentication with the user's password.
    V15 {
        auth_type: AuthType,
        password: Zeroizing<Vec<u8>>,
    },
    /// IPMI 2.0 / RMCP+.
    V20 {
        suite: CipherSuite,
        console_id: u32,
        k1: Zeroizing<Vec<u8>>,
        k2: Zeroizing<Vec<u8>>,
        /// Outbound sequence for unauthenticated packets (integrity "none").
        out_seq_unauth: u32,
        in_unauth: SeqWindow,
    },
}

/// An active session.
pub(crate) struct Session {
    pub(crate) id: u32,
    pub(crate) handle: u8,
    pub(crate) peer: SocketAddr,
    pub(crate) user_id: u8,
    pub(crate) user_name: String,
    pub(crate) max_privilege: Privilege,
    pub(crate) privilege: Privilege,
    pub(crate) protocol: Protocol,
    pub(crate) inbound: SeqWindow,
    pub(crate) out_seq: u32,
    pub(crate) last_activity: Instant,
    /// Requests handed up and not yet answered: (rqSeq, NetFn, command) and when.
    pub(crate) in_flight: Vec<((u8, NetFn, u8), Instant)>,
    /// The last login message sent (RAKP 4 or the Activate Session response), sent again if the
    /// console repeats its request because the answer was lost; cleared by the first message.
    pub(crate) replay: Option<Vec<u8>>,
}

impl Session {
    /// The session ID the BMC puts in packets to the console.
    pub(crate) fn outbound_id(&self) -> u32 {
        match &self.protocol {
            Protocol::V15 { .. } => self.id,
            Protocol::V20 { console_id, .. } => *console_id,
        }
    }

    /// The wrapper this session's packets come in.
    pub(crate) fn form(&self) -> Form {
        match self.protocol {
            Protocol::V15 { .. } => Form::V15,
            Protocol::V20 { .. } => Form::V20,
        }
    }

    /// Seals an IPMI message (a response) for this session under its next outbound sequence
    /// number; `None` if it is too long for the session's wrapper (see [`response_message`]).
    pub(crate) fn seal(&mut self, msg: &[u8], rng: &mut impl RngCore) -> Option<Vec<u8>> {
        match &mut self.protocol {
            Protocol::V15 {
                auth_type,
                password,
            } => {
                let sealed =
                    seal_v15(*auth_type, self.out_seq, self.id, Some(password), msg).ok()?;
                self.out_seq = seqwin::next(self.out_seq);
                Some(sealed)
            }
            Protocol::V20 {
                suite,
                console_id,
                k1,
                k2,
                out_seq_unauth,
                ..
            } => {
                // Packets without integrity are numbered apart (section 6.12.13).
                let counter = if suite.integrity != IntegrityAlgorithm::None {
                    &mut self.out_seq
                } else {
                    out_seq_unauth
                };
                let seq = *counter;
                *counter = seqwin::next(seq);
                let keys = Keys {
                    suite: *suite,
                    k1,
                    k2,
                };
                Some(seal_v20(
                    PayloadType::IPMI,
                    *console_id,
                    seq,
                    msg,
                    Some(keys),
                    rng,
                ))
            }
        }
    }
}

/// The sessions of one LAN channel, the logins in progress, and the failed-login limiter.
#[derive(Default)]
pub(crate) struct SessionTable {
    /// Active sessions by the BMC's session ID.
    pub(crate) sessions: IdMap<Session>,
    /// Logins in progress by the (temporary) BMC session ID.
    pub(crate) pending: PendingLogins,
    /// Failed logins per address and user name.
    pub(crate) limiter: LoginLimiter,
    /// How many more log lines about failed or refused logins may be written.
    pub(crate) log_budget: LogBudget,
    /// Sessions opened and closed, failed logins (the limiter and the logins in progress
    /// count their own: see [`SessionTable::stats`]).
    pub(crate) stats: ServerStats,
}

impl SessionTable {
    /// Closes sessions idle for longer than the timeout, forgets stale logins in progress and
    /// failed-login records that no longer matter. It walks every table: the caller runs it on
    /// a timer (every second), never for each packet.
    pub(crate) fn expire(&mut self, now: Instant, config: &ServerConfig) {
        let timeout = config.session_timeout;
        let closed_idle = &mut self.stats.closed_idle;
        self.sessions.retain(|_, s| {
            let keep = now.duration_since(s.last_activity) <= timeout;
            if !keep {
                *closed_idle += 1;
                tracing::info!(user = %s.user_name, peer = %s.peer, handle = s.handle, "session closed: inactivity timeout");
            }
            keep
        });
        self.pending.expire(now);
        self.count_abandoned(now, config);
        self.limiter.prune(now, &config.login_policy);
    }

    /// Adds a login in progress (see [`PendingLogins::insert`]); the logins it pushes out that
    /// had been sent RAKP 2 count as failed.
    pub(crate) fn add_pending(&mut self, id: u32, p: Pending, now: Instant, config: &ServerConfig) {
        self.pending.insert(id, p);
        self.count_abandoned(now, config);
    }

    /// Ends a login in progress that failed; if it had been sent RAKP 2 it counts as failed
    /// (abandoned) here, whatever else the caller counts.
    pub(crate) fn drop_pending(&mut self, id: u32, now: Instant, config: &ServerConfig) {
        if let Some(a) = self
            .pending
            .remove(&id)
            .and_then(|p| p.abandoned("refused"))
        {
            self.fail_abandoned(a, now, config);
        }
    }

    /// Counts the logins in progress that ended after RAKP 2 without a RAKP 3 as failed logins
    /// of their user names from their addresses, as a wrong RAKP 3 would be: a console with the
    /// wrong password checks RAKP 2 and stops there (ipmitool, FreeIPMI), so without this it
    /// would never be locked out, and RAKP 2 codes (which can be cracked offline) could be
    /// collected at any rate. Only logins that ended count, never one in progress: parallel
    /// logins of one user from one address that finish never lock each other out.
    pub(crate) fn count_abandoned(&mut self, now: Instant, config: &ServerConfig) {
        for a in self.pending.take_abandoned() {
            self.fail_abandoned(a, now, config);
        }
    }

    /// Counts one login abandoned after RAKP 2 (see [`SessionTable::count_abandoned`]).
    fn fail_abandoned(&mut self, a: Abandoned, now: Instant, config: &ServerConfig) {
        let policy = &config.login_policy;
        self.stats.fail(LoginFailure::AbandonedAfterRakp2);
        let locks = self.limiter.fail(a.peer.ip(), &a.user, now, policy);
        let user = String::from_utf8_lossy(&a.user);
        if locks && self.log_budget.allow(now) {
            tracing::warn!(peer = %a.peer, user = ?user, "too many failed logins: locked out for {:?}", policy.lockout);
        }
        if self.log_budget.allow(now) {
            tracing::warn!(peer = %a.peer, user = ?user, how = a.how, "login failed: abandoned after RAKP 2 (wrong password at the client?)");
        }
    }

    /// What the session layer has counted so far, with the sessions open now.
    pub(crate) fn stats(&self) -> ServerStats {
        ServerStats {
            sessions_open: self.sessions.len() as u64,
            lockouts: self.limiter.lockouts(),
            handshakes_evicted: self.pending.evicted(),
            handshakes_expired: self.pending.expired(),
            ..self.stats
        }
    }

    /// The number of active sessions as the 6-bit fields of the channel commands count them.
    pub(crate) fn active_count_u8(&self) -> u8 {
        self.sessions.len().min(63) as u8
    }

    /// A fresh non-zero session ID, used neither by a session nor by a login in progress.
    pub(crate) fn new_session_id(&self, rng: &mut impl RngCore) -> u32 {
        loop {
            let id = rng.next_u32();
            if id != 0 && !self.sessions.contains_key(&id) && !self.pending.contains_key(&id) {
                return id;
            }
        }
    }

    /// Whether another session may open (idle ones are closed by [`SessionTable::expire`]).
    pub(crate) fn has_room(&self, config: &ServerConfig) -> bool {
        self.sessions.len() < config.session_limit()
    }

    /// A handle for a new session, if one may open: the lowest not in use.
    pub(crate) fn new_handle(&self, config: &ServerConfig) -> Option<u8> {
        if !self.has_room(config) {
            return None;
        }
        let mut used = [false; 256];
        for s in self.sessions.values() {
            used[usize::from(s.handle)] = true;
        }
        (1..=u8::MAX).find(|h| !used[usize::from(*h)])
    }

    /// The response to `req` sealed for session `id` (0xCA instead of an answer too long for its
    /// wrapper); `None` if the session is gone.
    pub(crate) fn seal_reply(
        &mut self,
        id: u32,
        req: &message::Request,
        ccode: CompletionCode,
        data: &[u8],
        rng: &mut impl RngCore,
    ) -> Option<Vec<u8>> {
        let session = self.sessions.get_mut(&id)?;
        let msg = response_message(session.form(), req, ccode, data);
        session.seal(&msg, rng)
    }
}
