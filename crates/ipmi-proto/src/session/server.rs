//! The server (BMC) side of IPMI over LAN as a sans-IO state machine.
//!
//! [`Server::handle`] takes one datagram and answers it itself (ASF ping, Get Channel Authentication
//! Capabilities, the IPMI 1.5 challenge/activate exchange, RMCP+ Open Session and RAKP 1-4, Set
//! Session Privilege Level, Close Session, Get Session Info, Get Channel Cipher Suites), drops it, or
//! hands an authenticated request up as [`Action::Dispatch`]. The caller answers that request with
//! [`Server::seal`], which wraps the response for the session it came from.

use super::cipher_suite::IntegrityAlgorithm;
use super::config::{ServerConfig, User};
use super::seal::{open_v15, open_v20, seal_sessionless, seal_v15, seal_v20, Form, Keys};
use super::seqwin;
use super::table::{
    LoginLimiter, Pending, Protocol, Session, HANDSHAKE_TIMEOUT, IN_FLIGHT_TIMEOUT,
};
use crate::types::{CompletionCode, NetFn, Privilege};
use crate::wire::ipmi15;
use crate::wire::ipmi20::{self, PayloadType};
use crate::wire::{asf, message, rmcp};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

/// What to do with a datagram.
#[derive(Debug)]
pub enum Action {
    /// Send these bytes back to the sender.
    Reply(Vec<u8>),
    /// An authenticated (or allowed pre-session) request for the BMC model; answer it with
    /// [`Server::seal`].
    Dispatch(Request),
    /// Drop the datagram silently; the reason is for debug logs.
    Drop(&'static str),
}

/// An IPMI request handed up to the BMC model.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request NetFn.
    pub netfn: NetFn,
    /// The command code.
    pub cmd: u8,
    /// The request data after the command byte.
    pub data: Vec<u8>,
    /// Who sent it and how to answer.
    pub context: RequestContext,
}

/// Where a request came from: its session, privilege and user, and what is needed to answer it.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The client's address.
    pub peer: SocketAddr,
    /// The session's current privilege level; `None` outside a session.
    pub privilege: Option<Privilege>,
    /// The session's user ID and name; `None` outside a session.
    pub user: Option<(u8, String)>,
    /// How many sessions are active on the channel (for Get Channel Info).
    pub active_sessions: u8,
    pub(crate) reply: ReplyInfo,
}

impl RequestContext {
    /// A context for tests of a BMC model: not tied to any session; responses to it cannot be
    /// sealed into a session (they are sealed as sessionless IPMI 1.5 responses).
    pub fn for_test(
        peer: SocketAddr,
        privilege: Option<Privilege>,
        user: Option<(u8, String)>,
    ) -> Self {
        RequestContext {
            peer,
            privilege,
            user,
            active_sessions: 0,
            reply: ReplyInfo {
                form: Form::V15,
                session_id: 0,
                request: message::Request {
                    rs_addr: message::BMC_SLAVE_ADDR,
                    netfn: NetFn::APP,
                    rs_lun: 0,
                    rq_addr: message::REMOTE_CONSOLE_SWID,
                    rq_seq: 0,
                    rq_lun: 0,
                    cmd: 0,
                    data: Vec::new(),
                },
            },
        }
    }
}

/// What is needed to build the response to a dispatched request.
#[derive(Debug, Clone)]
pub(crate) struct ReplyInfo {
    pub(crate) form: Form,
    /// The BMC's session ID; 0 outside a session.
    pub(crate) session_id: u32,
    /// The request's message header (its data emptied).
    pub(crate) request: message::Request,
}

/// The server side of one BMC's LAN channel.
pub struct Server {
    pub(crate) config: ServerConfig,
    pub(crate) rng: StdRng,
    pub(crate) sessions: HashMap<u32, Session>,
    pub(crate) pending: HashMap<u32, Pending>,
    pub(crate) limiter: LoginLimiter,
}

/// App commands the session layer answers itself.
pub(crate) mod app_cmd {
    pub const GET_CHANNEL_AUTH_CAPABILITIES: u8 = 0x38;
    pub const GET_SESSION_CHALLENGE: u8 = 0x39;
    pub const ACTIVATE_SESSION: u8 = 0x3a;
    pub const SET_SESSION_PRIVILEGE_LEVEL: u8 = 0x3b;
    pub const CLOSE_SESSION: u8 = 0x3c;
    pub const GET_SESSION_INFO: u8 = 0x3d;
    pub const GET_CHANNEL_CIPHER_SUITES: u8 = 0x54;
}

impl Server {
    /// Creates a server with the given configuration. Session IDs, challenges, RAKP randoms and
    /// IVs come from a CSPRNG seeded by the operating system.
    pub fn new(config: ServerConfig) -> Self {
        Server::with_rng(config, StdRng::from_entropy())
    }

    /// Creates a server with a given CSPRNG (for reproducible tests).
    pub fn with_rng(config: ServerConfig, rng: StdRng) -> Self {
        Server {
            config,
            rng,
            sessions: HashMap::new(),
            pending: HashMap::new(),
            limiter: LoginLimiter::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Handles one datagram from `peer` received at `now`.
    pub fn handle(&mut self, now: Instant, peer: SocketAddr, datagram: &[u8]) -> Action {
        let Ok(packet) = rmcp::Packet::new_checked(datagram) else {
            return Action::Drop("not an RMCP packet");
        };
        let Ok(header) = rmcp::Repr::parse(&packet) else {
            return Action::Drop("RMCP ACK or bad header");
        };
        let payload = packet.payload();
        match header.class {
            rmcp::Class::Asf => handle_asf(payload),
            rmcp::Class::Ipmi => match ipmi20::is_rmcp_plus(payload) {
                Some(true) => self.handle_v20(now, peer, payload),
                Some(false) => self.handle_v15(now, peer, payload),
                None => Action::Drop("empty IPMI packet"),
            },
            _ => Action::Drop("unsupported RMCP class"),
        }
    }

    /// Builds the response datagram for a dispatched request. Returns `None` if its session has
    /// gone away since.
    pub fn seal(
        &mut self,
        now: Instant,
        ctx: &RequestContext,
        ccode: CompletionCode,
        data: &[u8],
    ) -> Option<Vec<u8>> {
        let info = &ctx.reply;
        if info.session_id == 0 {
            return Some(self.sessionless_reply(info.form, &info.request, ccode, data));
        }
        let s = self.sessions.get_mut(&info.session_id)?;
        let key = (info.request.rq_seq, info.request.netfn, info.request.cmd);
        s.in_flight.retain(|(k, _)| *k != key);
        s.last_activity = now;
        self.seal_in_session(info.session_id, &info.request, ccode, data)
    }

    /// Closes sessions idle for longer than the timeout and forgets stale logins in progress.
    /// Call it now and then (e.g. every second).
    pub fn expire(&mut self, now: Instant) {
        let timeout = self.config.session_timeout;
        self.sessions.retain(|_, s| {
            let keep = now.duration_since(s.last_activity) <= timeout;
            if !keep {
                tracing::info!(user = %s.user_name, peer = %s.peer, handle = s.handle, "session closed: inactivity timeout");
            }
            keep
        });
        self.pending
            .retain(|_, p| now.duration_since(p.started) <= HANDSHAKE_TIMEOUT);
        self.limiter.prune(now, &self.config.login_policy);
    }

    /// The number of active sessions.
    pub fn active_sessions(&self) -> usize {
        self.sessions.len()
    }

    pub(crate) fn active_count_u8(&self) -> u8 {
        self.sessions.len().min(63) as u8
    }

    // ---- IPMI 1.5 ----

    fn handle_v15(&mut self, now: Instant, peer: SocketAddr, p: &[u8]) -> Action {
        let Ok(packet) = ipmi15::Packet::new_checked(p) else {
            return Action::Drop("malformed IPMI 1.5 session header");
        };
        let Ok(req) = message::Request::parse(packet.payload()) else {
            return Action::Drop("malformed IPMI message");
        };
        let session_id = packet.session_id();
        if session_id == 0 {
            return self.sessionless(now, peer, Form::V15, req);
        }
        let is_activate = req.netfn == NetFn::APP && req.cmd == app_cmd::ACTIVATE_SESSION;
        if is_activate && self.pending.contains_key(&session_id) {
            return self.activate_session(now, peer, &packet, req);
        }
        let Some(s) = self.sessions.get_mut(&session_id) else {
            return Action::Drop("unknown session");
        };
        if s.peer.ip() != peer.ip() {
            return Action::Drop("session belongs to another address");
        }
        let Protocol::V15 {
            auth_type,
            password,
        } = &s.protocol
        else {
            return Action::Drop("IPMI 1.5 packet in an RMCP+ session");
        };
        if let Err(e) = open_v15(&packet, *auth_type, password) {
            return Action::Drop(e.reason());
        }
        let sequence = packet.sequence();
        if is_activate && sequence == 0 {
            // The console did not get our answer to Activate Session: send it again.
            return match &s.replay {
                Some(bytes) => Action::Reply(bytes.clone()),
                None => Action::Drop("repeated Activate Session"),
            };
        }
        if !s.inbound.accept(sequence) {
            return Action::Drop("session sequence number replayed or out of window");
        }
        s.last_activity = now;
        s.replay = None;
        let id = s.id;
        self.in_session(now, id, Form::V15, req)
    }

    // ---- IPMI 2.0 / RMCP+ ----

    fn handle_v20(&mut self, now: Instant, peer: SocketAddr, p: &[u8]) -> Action {
        let Ok(packet) = ipmi20::Packet::new_checked(p) else {
            return Action::Drop("malformed RMCP+ session header");
        };
        let payload = packet.payload();
        let session_id = packet.session_id();
        match packet.payload_type() {
            PayloadType::OPEN_SESSION_REQUEST => self.open_session(now, peer, payload),
            PayloadType::RAKP1 => self.rakp1(now, peer, payload),
            PayloadType::RAKP3 => self.rakp3(now, peer, payload),
            PayloadType::IPMI if session_id == 0 => {
                if packet.authenticated() || packet.encrypted() {
                    return Action::Drop("protected packet outside a session");
                }
                match message::Request::parse(payload) {
                    Ok(req) => self.sessionless(now, peer, Form::V20, req),
                    Err(_) => Action::Drop("malformed IPMI message"),
                }
            }
            PayloadType::IPMI => {
                let Some(s) = self.sessions.get_mut(&session_id) else {
                    return Action::Drop("unknown session");
                };
                if s.peer.ip() != peer.ip() {
                    return Action::Drop("session belongs to another address");
                }
                let Protocol::V20 {
                    suite,
                    k1,
                    k2,
                    in_unauth,
                    ..
                } = &mut s.protocol
                else {
                    return Action::Drop("RMCP+ packet in an IPMI 1.5 session");
                };
                let keys = Keys {
                    suite: *suite,
                    k1,
                    k2,
                };
                let msg_bytes = match open_v20(&packet, &keys) {
                    Ok(b) => b,
                    Err(e) => return Action::Drop(e.reason()),
                };
                // Packets without integrity are numbered apart from authenticated ones
                // (section 6.12.13).
                let window = if suite.integrity != IntegrityAlgorithm::None {
                    &mut s.inbound
                } else {
                    in_unauth
                };
                if !window.accept(packet.sequence()) {
                    return Action::Drop("session sequence number replayed or out of window");
                }
                let Ok(req) = message::Request::parse(&msg_bytes) else {
                    return Action::Drop("malformed IPMI message");
                };
                s.last_activity = now;
                s.replay = None;
                let id = s.id;
                self.in_session(now, id, Form::V20, req)
            }
            _ => Action::Drop("unsupported payload type"),
        }
    }

    // ---- requests ----

    fn sessionless(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        form: Form,
        req: message::Request,
    ) -> Action {
        let answer = if req.netfn == NetFn::APP {
            match req.cmd {
                app_cmd::GET_CHANNEL_AUTH_CAPABILITIES => Some(self.auth_capabilities(&req.data)),
                app_cmd::GET_CHANNEL_CIPHER_SUITES => Some(self.cipher_suites(&req.data)),
                app_cmd::GET_SESSION_CHALLENGE if form == Form::V15 => {
                    Some(self.session_challenge(now, peer, &req.data))
                }
                _ => None,
            }
        } else {
            None
        };
        if let Some((ccode, data)) = answer {
            return Action::Reply(self.sessionless_reply(form, &req, ccode, &data));
        }
        Action::Dispatch(Request {
            netfn: req.netfn,
            cmd: req.cmd,
            data: req.data.clone(),
            context: RequestContext {
                peer,
                privilege: None,
                user: None,
                active_sessions: self.active_count_u8(),
                reply: ReplyInfo {
                    form,
                    session_id: 0,
                    request: message::Request {
                        data: Vec::new(),
                        ..req
                    },
                },
            },
        })
    }

    fn in_session(&mut self, now: Instant, id: u32, form: Form, req: message::Request) -> Action {
        if req.netfn == NetFn::APP {
            let answer = match req.cmd {
                app_cmd::GET_CHANNEL_AUTH_CAPABILITIES => Some(self.auth_capabilities(&req.data)),
                app_cmd::GET_CHANNEL_CIPHER_SUITES => Some(self.cipher_suites(&req.data)),
                app_cmd::SET_SESSION_PRIVILEGE_LEVEL => Some(self.set_privilege(id, &req.data)),
                app_cmd::GET_SESSION_INFO => Some(self.session_info(id, &req.data)),
                app_cmd::CLOSE_SESSION => return self.close_session(now, id, &req),
                _ => None,
            };
            if let Some((ccode, data)) = answer {
                return match self.seal_in_session(id, &req, ccode, &data) {
                    Some(bytes) => Action::Reply(bytes),
                    None => Action::Drop("session gone"),
                };
            }
        }
        let active = self.active_count_u8();
        let Some(s) = self.sessions.get_mut(&id) else {
            return Action::Drop("session gone");
        };
        let key = (req.rq_seq, req.netfn, req.cmd);
        s.in_flight
            .retain(|(_, since)| now.duration_since(*since) < IN_FLIGHT_TIMEOUT);
        if s.in_flight.iter().any(|(k, _)| *k == key) {
            return Action::Drop("repeat of a request still being carried out");
        }
        s.in_flight.push((key, now));
        Action::Dispatch(Request {
            netfn: req.netfn,
            cmd: req.cmd,
            data: req.data.clone(),
            context: RequestContext {
                peer: s.peer,
                privilege: Some(s.privilege),
                user: Some((s.user_id, s.user_name.clone())),
                active_sessions: active,
                reply: ReplyInfo {
                    form,
                    session_id: id,
                    request: message::Request {
                        data: Vec::new(),
                        ..req
                    },
                },
            },
        })
    }

    // ---- packet building ----

    pub(crate) fn sessionless_reply(
        &mut self,
        form: Form,
        req: &message::Request,
        ccode: CompletionCode,
        data: &[u8],
    ) -> Vec<u8> {
        let mut msg = Vec::with_capacity(8 + data.len());
        req.response(ccode, data).emit(&mut msg);
        seal_sessionless(form, &msg, &mut self.rng)
    }

    pub(crate) fn seal_in_session(
        &mut self,
        id: u32,
        req: &message::Request,
        ccode: CompletionCode,
        data: &[u8],
    ) -> Option<Vec<u8>> {
        let mut msg = Vec::with_capacity(8 + data.len());
        req.response(ccode, data).emit(&mut msg);
        let s = self.sessions.get_mut(&id)?;
        let out = match &mut s.protocol {
            Protocol::V15 {
                auth_type,
                password,
            } => {
                let seq = s.out_seq;
                s.out_seq = seqwin::next(seq);
                seal_v15(*auth_type, seq, s.id, Some(password), &msg)
            }
            Protocol::V20 {
                suite,
                console_id,
                k1,
                k2,
                out_seq_unauth,
                ..
            } => {
                let seq = if suite.integrity != IntegrityAlgorithm::None {
                    let q = s.out_seq;
                    s.out_seq = seqwin::next(q);
                    q
                } else {
                    let q = *out_seq_unauth;
                    *out_seq_unauth = seqwin::next(q);
                    q
                };
                let keys = Keys {
                    suite: *suite,
                    k1,
                    k2,
                };
                seal_v20(
                    PayloadType::IPMI,
                    *console_id,
                    seq,
                    &msg,
                    Some(keys),
                    &mut self.rng,
                )
            }
        };
        Some(out)
    }

    pub(crate) fn new_session_id(&mut self) -> u32 {
        loop {
            let id = self.rng.next_u32();
            if id != 0 && !self.sessions.contains_key(&id) && !self.pending.contains_key(&id) {
                return id;
            }
        }
    }

    /// Makes room for one more login: true if there is room for it.
    pub(crate) fn make_room(&mut self, now: Instant) -> bool {
        self.expire(now);
        let max = self.config.max_sessions.max(1);
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

    pub(crate) fn alloc_handle(&self) -> u8 {
        (1..=u8::MAX)
            .find(|h| self.sessions.values().all(|s| s.handle != *h))
            .unwrap_or(0)
    }

    pub(crate) fn user_by_name(&self, name: &[u8]) -> Option<&User> {
        self.config
            .users
            .iter()
            .find(|u| u.enabled && u.name.as_bytes() == name)
    }
}

fn handle_asf(payload: &[u8]) -> Action {
    match asf::Repr::parse(payload) {
        Ok(ping) if ping.message_type == asf::TYPE_PING => {
            let mut out = Vec::with_capacity(28);
            rmcp::Repr {
                sequence: rmcp::SEQ_NO_ACK,
                class: rmcp::Class::Asf,
            }
            .emit(&mut out);
            asf::Repr::pong(ping.tag).emit(&mut out);
            Action::Reply(out)
        }
        _ => Action::Drop("not an ASF presence ping"),
    }
}
