//! The server (BMC) side of IPMI over LAN as a sans-IO state machine.
//!
//! [`Server::handle`] takes one datagram and answers it itself (ASF ping, Get Channel Authentication
//! Capabilities, the IPMI 1.5 challenge/activate exchange, RMCP+ Open Session and RAKP 1-4, Set
//! Session Privilege Level, Close Session, Get Session Info, Get Channel Cipher Suites), drops it, or
//! hands an authenticated request up as [`Action::Dispatch`]. The caller answers that request with
//! [`Server::seal`], which wraps the response for the session it came from.
//!
//! This file owns the server's state and routes each datagram; the steps of a login (`login15`,
//! `rmcpplus`) and the session commands (`channel`) are functions that get the part of the state
//! they need.

use super::action::{Action, ReplyInfo, Request, RequestContext};
use super::channel;
use super::cipher_suite::IntegrityAlgorithm;
use super::config::ServerConfig;
use super::lazy_rng::LazyRng;
use super::login15;
use super::payload;
use super::rmcpplus;
use super::seal::{open_v15, open_v20, sessionless_reply, Form, Keys};
use super::sol::{Sol, SolPoll};
use super::stats::ServerStats;
use super::table::{Protocol, SessionTable, IN_FLIGHT_TIMEOUT};
use crate::cmd::app::{
    ActivateSession, CloseSession, GetChannelAuthCapabilities, GetChannelCipherSuites,
    GetSessionChallenge, GetSessionInfo, SetSessionPrivilegeLevel,
};
use crate::cmd::{Body, Command};
use crate::types::CompletionCode;
use crate::wire::ipmi20::{self, PayloadType};
use crate::wire::{asf, ipmi15, message, rmcp};
use rand::rngs::StdRng;
use std::net::SocketAddr;
use std::time::Instant;

/// The server side of one BMC's LAN channel.
pub struct Server {
    config: ServerConfig,
    rng: LazyRng,
    table: SessionTable,
    /// Serial over LAN: its configuration and its one instance.
    sol: Sol,
}

/// Whether `req` is command `C`.
fn is<C: Command>(req: &message::Request) -> bool {
    req.netfn == C::NETFN && req.cmd == C::CMD
}

/// A request body, or the completion code its malformation earns.
fn parse<B: Body>(data: &[u8]) -> Result<B, CompletionCode> {
    B::parse(data).map_err(CompletionCode::from)
}

/// The completion code and response bytes of a session command's answer.
fn answer<B: Body>(r: Result<B, CompletionCode>) -> (CompletionCode, Vec<u8>) {
    match r {
        Ok(body) => (CompletionCode::OK, body.to_bytes()),
        Err(cc) => (cc, Vec::new()),
    }
}

impl Server {
    /// Creates a server with the given configuration. Session IDs, challenges, RAKP randoms and
    /// IVs come from a CSPRNG seeded by the operating system (at its first use).
    pub fn new(config: ServerConfig) -> Self {
        Server::with(config, LazyRng::from_entropy())
    }

    /// Creates a server with a given CSPRNG (for reproducible tests).
    pub fn with_rng(config: ServerConfig, rng: StdRng) -> Self {
        Server::with(config, LazyRng::with(rng))
    }

    /// A server drawing its random numbers from `rng`.
    fn with(config: ServerConfig, rng: LazyRng) -> Self {
        Server {
            sol: Sol::new(config.sol.clone()),
            config,
            rng,
            table: SessionTable::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The session table.
    pub(crate) fn table(&self) -> &SessionTable {
        &self.table
    }

    /// The configuration and the session table, borrowed together.
    pub(crate) fn config_and_table(&mut self) -> (&ServerConfig, &mut SessionTable) {
        (&self.config, &mut self.table)
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
            return Some(sessionless_reply(
                info.form,
                &info.request,
                ccode,
                data,
                &mut self.rng,
            ));
        }
        let s = self.table.sessions.get_mut(&info.session_id)?;
        let key = (info.request.rq_seq, info.request.netfn, info.request.cmd);
        s.in_flight.retain(|(k, _)| *k != key);
        s.last_activity = now;
        self.table
            .seal_reply(info.session_id, &info.request, ccode, data, &mut self.rng)
    }

    /// Closes sessions idle for longer than the timeout and forgets stale logins in progress and
    /// failed-login records that no longer matter. Call it on a timer, about every second:
    /// [`Server::handle`] does not walk the tables, so that a flood of packets stays cheap.
    pub fn expire(&mut self, now: Instant) {
        self.table.expire(now, &self.config);
        self.sol.forget_missing(&self.table, &mut self.rng);
    }

    /// Whether Serial over LAN has something for the runtime: call [`Server::sol_poll`].
    pub fn sol_dirty(&self) -> bool {
        self.sol.dirty()
    }

    /// How much console output [`Server::sol_output`] takes now: 0 without an active SOL
    /// instance; while the remote console lags, the runtime reads no more than this.
    pub fn sol_room(&self) -> usize {
        self.sol.room()
    }

    /// Whether a SOL instance is active (a remote console is attached to the console).
    pub fn sol_active(&self) -> bool {
        self.sol.active_session().is_some()
    }

    /// Takes the console's keyboard for a writer outside SOL (`true`: a console in a browser),
    /// or gives it back (`false`). While taken, Activate Payload answers 0x80 (already active),
    /// as for an instance of another session; taking it while an instance is active is
    /// refused (false). One writer at a time, whichever way it types.
    pub fn sol_take_keyboard(&mut self, take: bool) -> bool {
        self.sol.take_elsewhere(take)
    }

    /// Console output for the active SOL instance; returns how much was taken.
    pub fn sol_output(&mut self, now: Instant, data: &[u8]) -> usize {
        self.sol.output(now, data)
    }

    /// What Serial over LAN needs done now (datagrams, console input, events) and when to
    /// poll again.
    pub fn sol_poll(&mut self, now: Instant) -> SolPoll {
        self.sol.poll(&mut self.table, &mut self.rng, now)
    }

    /// What the session layer has done so far (sessions opened and closed, failed logins and
    /// why, lockouts), with the sessions open now: a copy, for metrics.
    pub fn stats(&self) -> ServerStats {
        self.table.stats()
    }

    /// The number of active sessions.
    pub fn active_sessions(&self) -> usize {
        self.table.sessions.len()
    }

    /// The number of logins in progress.
    #[cfg(test)]
    pub(crate) fn pending_logins(&self) -> usize {
        self.table.pending.len()
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
        let is_activate = is::<ActivateSession>(&req);
        if is_activate && self.table.pending.contains_key(&session_id) {
            let (config, table, rng) = (&self.config, &mut self.table, &mut self.rng);
            return login15::activate_session(config, table, rng, now, peer, &packet, req);
        }
        let Some(s) = self.table.sessions.get_mut(&session_id) else {
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
        let (config, table, rng) = (&self.config, &mut self.table, &mut self.rng);
        match packet.payload_type() {
            PayloadType::OPEN_SESSION_REQUEST => {
                rmcpplus::open_session(config, table, rng, now, peer, payload)
            }
            PayloadType::RAKP1 => rmcpplus::rakp1(config, table, rng, now, peer, payload),
            PayloadType::RAKP3 => rmcpplus::rakp3(config, table, rng, now, peer, payload),
            PayloadType::SOL if session_id != 0 => self.sol.packet(table, rng, now, peer, &packet),
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
                let Some(s) = table.sessions.get_mut(&session_id) else {
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
                // Packets without integrity are numbered apart (section 6.12.13).
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

    /// A request outside any session: the session set-up commands are answered, anything else
    /// goes up to the BMC model without a privilege.
    fn sessionless(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        form: Form,
        req: message::Request,
    ) -> Action {
        let (config, table, rng) = (&self.config, &mut self.table, &mut self.rng);
        let data = &req.data;
        let answer = if is::<GetChannelAuthCapabilities>(&req) {
            Some(answer(
                parse(data).and_then(|r| channel::auth_capabilities(config, &r)),
            ))
        } else if is::<GetChannelCipherSuites>(&req) {
            Some(answer(
                parse(data).and_then(|r| channel::cipher_suites(config, &r)),
            ))
        } else if is::<GetSessionChallenge>(&req) && form == Form::V15 {
            Some(answer(parse(data).and_then(|r| {
                login15::session_challenge(config, table, rng, now, peer, &r)
            })))
        } else {
            None
        };
        if let Some((ccode, data)) = answer {
            return Action::Reply(sessionless_reply(form, &req, ccode, &data, rng));
        }
        Action::Dispatch(Request {
            netfn: req.netfn,
            cmd: req.cmd,
            data: req.data.clone(),
            context: RequestContext {
                peer,
                privilege: None,
                user: None,
                active_sessions: table.active_count_u8(),
                reply: ReplyInfo::new(form, 0, req),
            },
        })
    }

    /// A request in session `id`: the session commands are answered here, anything else goes up
    /// to the BMC model unless the same request is still being carried out.
    fn in_session(&mut self, now: Instant, id: u32, form: Form, req: message::Request) -> Action {
        if is::<CloseSession>(&req) {
            return self.close_session(id, &req);
        }
        if let Some((ccode, data)) = self.session_command(id, &req) {
            return self.reply_in_session(id, &req, ccode, &data);
        }
        let active = self.table.active_count_u8();
        let Some(s) = self.table.sessions.get_mut(&id) else {
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
                reply: ReplyInfo::new(form, id, req),
            },
        })
    }

    /// The answer to a session command other than Close Session, if `req` is one.
    fn session_command(
        &mut self,
        id: u32,
        req: &message::Request,
    ) -> Option<(CompletionCode, Vec<u8>)> {
        let cx = payload::Ctx {
            config: &self.config,
            sol: &mut self.sol,
            table: &mut self.table,
            rng: &mut self.rng,
            id,
        };
        if let Some(a) = payload::answer(cx, req) {
            return Some(a);
        }
        let (config, table) = (&self.config, &mut self.table);
        let data = &req.data;
        if is::<GetChannelAuthCapabilities>(req) {
            Some(answer(
                parse(data).and_then(|r| channel::auth_capabilities(config, &r)),
            ))
        } else if is::<GetChannelCipherSuites>(req) {
            Some(answer(
                parse(data).and_then(|r| channel::cipher_suites(config, &r)),
            ))
        } else if is::<SetSessionPrivilegeLevel>(req) {
            Some(answer(match table.sessions.get_mut(&id) {
                None => Err(CompletionCode::INVALID_STATE),
                Some(s) => parse(data).and_then(|r| channel::set_privilege(s, &r)),
            }))
        } else if is::<GetSessionInfo>(req) {
            Some(answer(
                parse(data).and_then(|r| channel::session_info(config, table, id, &r)),
            ))
        } else {
            None
        }
    }

    /// Close Session: answered in the closing session before it is gone.
    fn close_session(&mut self, id: u32, req: &message::Request) -> Action {
        let target = parse(&req.data).and_then(|r| channel::close_target(&self.table, id, &r));
        match target {
            Err(cc) => self.reply_in_session(id, req, cc, &[]),
            Ok(target) => {
                let reply = self.reply_in_session(id, req, CompletionCode::OK, &[]);
                if let Some(s) = self.table.sessions.remove(&target) {
                    self.table.stats.closed_by_request += 1;
                    tracing::info!(user = %s.user_name, peer = %s.peer, handle = s.handle, "session closed by request");
                }
                self.sol.forget_missing(&self.table, &mut self.rng);
                reply
            }
        }
    }

    fn reply_in_session(
        &mut self,
        id: u32,
        req: &message::Request,
        ccode: CompletionCode,
        data: &[u8],
    ) -> Action {
        match self.table.seal_reply(id, req, ccode, data, &mut self.rng) {
            Some(bytes) => Action::Reply(bytes),
            None => Action::Drop("session gone"),
        }
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
