//! The session table: active sessions, logins in progress, and the failed-login limiter.

use super::cipher_suite::{CipherSuite, IntegrityAlgorithm};
use super::config::{LoginPolicy, ServerConfig};
use super::seal::{seal_v15, seal_v20, Keys};
use super::seqwin::{self, SeqWindow};
use crate::crypto::rakp::Exchange;
use crate::types::{CompletionCode, NetFn, Privilege};
use crate::wire::ipmi15::AuthType;
use crate::wire::ipmi20::PayloadType;
use crate::wire::message;
use rand::RngCore;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How long a login may take between its steps (challenge → activate, open → RAKP 3).
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
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

    /// Seals an IPMI message (a response) for this session under its next outbound sequence
    /// number.
    pub(crate) fn seal(&mut self, msg: &[u8], rng: &mut impl RngCore) -> Vec<u8> {
        match &mut self.protocol {
            Protocol::V15 {
                auth_type,
                password,
            } => {
                let seq = self.out_seq;
                self.out_seq = seqwin::next(seq);
                seal_v15(*auth_type, seq, self.id, Some(password), msg)
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
                seal_v20(PayloadType::IPMI, *console_id, seq, msg, Some(keys), rng)
            }
        }
    }
}

/// The sessions of one LAN channel, the logins in progress, and the failed-login limiter.
#[derive(Default)]
pub(crate) struct SessionTable {
    /// Active sessions by the BMC's session ID.
    pub(crate) sessions: HashMap<u32, Session>,
    /// Logins in progress by the (temporary) BMC session ID.
    pub(crate) pending: HashMap<u32, Pending>,
    /// Failed logins per address and user name.
    pub(crate) limiter: LoginLimiter,
}

impl SessionTable {
    /// Closes sessions idle for longer than the timeout and forgets stale logins in progress.
    pub(crate) fn expire(&mut self, now: Instant, config: &ServerConfig) {
        let timeout = config.session_timeout;
        self.sessions.retain(|_, s| {
            let keep = now.duration_since(s.last_activity) <= timeout;
            if !keep {
                tracing::info!(user = %s.user_name, peer = %s.peer, handle = s.handle, "session closed: inactivity timeout");
            }
            keep
        });
        self.pending
            .retain(|_, p| now.duration_since(p.started) <= HANDSHAKE_TIMEOUT);
        self.limiter.prune(now, &config.login_policy);
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

    /// Makes room for one more login: true if there is room for it.
    pub(crate) fn make_room(&mut self, now: Instant, config: &ServerConfig) -> bool {
        self.expire(now, config);
        let max = config.max_sessions.max(1);
        // Logins in progress may take at most as many slots again as sessions may.
        while self.pending.len() >= max {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.started)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => self.pending.remove(&k),
                None => break,
            };
        }
        self.sessions.len() < max
    }

    /// The lowest session handle not in use (0 if all 255 are).
    pub(crate) fn alloc_handle(&self) -> u8 {
        (1..=u8::MAX)
            .find(|h| self.sessions.values().all(|s| s.handle != *h))
            .unwrap_or(0)
    }

    /// The response to `req` sealed for session `id`; `None` if the session is gone.
    pub(crate) fn seal_reply(
        &mut self,
        id: u32,
        req: &message::Request,
        ccode: CompletionCode,
        data: &[u8],
        rng: &mut impl RngCore,
    ) -> Option<Vec<u8>> {
        let mut msg = Vec::with_capacity(8 + data.len());
        req.emit_response(ccode, data, &mut msg);
        Some(self.sessions.get_mut(&id)?.seal(&msg, rng))
    }
}

/// A login in progress.
pub(crate) enum Handshake {
    /// IPMI 1.5: a challenge was sent; waiting for Activate Session.
    Challenge {
        user_id: u8,
        auth_type: AuthType,
        challenge: [u8; 16],
    },
    /// RMCP+: Open Session answered; waiting for RAKP 1.
    Opened {
        console_id: u32,
        suite: CipherSuite,
        max_privilege: Privilege,
    },
    /// RMCP+: RAKP 2 sent; waiting for RAKP 3.
    Rakp2Sent {
        console_id: u32,
        suite: CipherSuite,
        max_privilege: Privilege,
        exchange: Exchange,
        user_id: u8,
        privilege: Privilege,
    },
}

/// A login in progress with where and when it started.
pub(crate) struct Pending {
    pub(crate) peer: SocketAddr,
    pub(crate) started: Instant,
    pub(crate) state: Handshake,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    window_start: Instant,
    locked_until: Option<Instant>,
}

/// Counts failed logins per remote address and user name, and locks out further attempts.
#[derive(Default)]
pub(crate) struct LoginLimiter {
    entries: HashMap<(IpAddr, Vec<u8>), Failures>,
}

/// The most (address, user) pairs tracked; beyond it the stalest are forgotten.
const MAX_TRACKED: usize = 4096;

impl LoginLimiter {
    /// Whether logins for `user` from `ip` are locked out now.
    pub(crate) fn locked(&self, ip: IpAddr, user: &[u8], now: Instant) -> bool {
        self.entries
            .get(&(ip, user.to_vec()))
            .and_then(|f| f.locked_until)
            .is_some_and(|t| now < t)
    }

    /// Records a failed login; returns true if this failure starts a lockout.
    pub(crate) fn fail(&mut self, ip: IpAddr, user: &[u8], now: Instant, p: &LoginPolicy) -> bool {
        if self.entries.len() >= MAX_TRACKED {
            self.prune(now, p);
            if self.entries.len() >= MAX_TRACKED {
                self.entries.clear();
            }
        }
        let f = self.entries.entry((ip, user.to_vec())).or_insert(Failures {
            count: 0,
            window_start: now,
            locked_until: None,
        });
        if now.duration_since(f.window_start) > p.window {
            f.count = 0;
            f.window_start = now;
        }
        f.count += 1;
        if f.count >= p.max_failures && p.max_failures > 0 {
            f.count = 0;
            f.window_start = now;
            f.locked_until = Some(now + p.lockout);
            return true;
        }
        false
    }

    /// Forgets the failures of a successful login.
    pub(crate) fn succeed(&mut self, ip: IpAddr, user: &[u8]) {
        self.entries.remove(&(ip, user.to_vec()));
    }

    /// Drops records that no longer matter.
    pub(crate) fn prune(&mut self, now: Instant, p: &LoginPolicy) {
        self.entries.retain(|_, f| {
            f.locked_until.is_some_and(|t| now < t)
                || now.duration_since(f.window_start) <= p.window
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_max_failures_and_recovers() {
        let p = LoginPolicy {
            max_failures: 3,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(30),
        };
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        let mut l = LoginLimiter::default();
        assert!(!l.fail(ip, b"admin", t0, &p));
        assert!(!l.fail(ip, b"admin", t0, &p));
        assert!(!l.locked(ip, b"admin", t0));
        assert!(l.fail(ip, b"admin", t0, &p));
        assert!(l.locked(ip, b"admin", t0 + Duration::from_secs(1)));
        assert!(!l.locked(ip, b"other", t0), "per user name");
        assert!(!l.locked(ip, b"admin", t0 + Duration::from_secs(31)));
    }
}
