//! The client side of an IPMI 1.5 session (IPMI 2.0 sections 6.12, 22.13, 22.16 and 22.17) as
//! a sans-IO state machine, with the same shape as the RMCP+ [`Client`](super::Client).
//!
//! The login is: Get Channel Authentication Capabilities (v1.5 form), Get Session Challenge,
//! Activate Session (authenticated with the challenge), and Set Session Privilege Level. Every
//! packet in the session carries an MD5 authentication code; a response is accepted only with a
//! valid code and a sequence number inside the window. Unauthenticated responses are refused even
//! when the BMC announces that per-message authentication is off: that announcement is itself
//! unauthenticated, and accepting it would let anyone on the path forge answers. Only MD5 is offered: MD2 is broken, and the "none" and
//! "straight" types put the password, or nothing, on the wire.

use super::client::{ClientConfig, ClientError, ClientEvent};
use super::outstanding::{request_message, Outstanding};
use super::seal::{open_v15, seal_v15};
use super::seqwin::{self, SeqWindow};
use crate::cmd::app::{
    ActivateSession, ActivateSessionRequest, ActivateSessionResponse,
    ChannelAuthCapabilitiesRequest, ChannelAuthCapabilitiesResponse, CloseSession,
    CloseSessionRequest, GetChannelAuthCapabilities, GetSessionChallenge, SessionChallengeRequest,
    SessionChallengeResponse, SetSessionPrivilegeLevel, SetSessionPrivilegeRequest,
    CURRENT_CHANNEL,
};
use crate::cmd::{Body, Command};
use crate::types::{CompletionCode, NetFn};
use crate::wire::ipmi15::{self, AuthType};
use crate::wire::{message, rmcp};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    AuthCap,
    Challenge,
    Activate,
    SetPrivilege,
    Active,
    Closed,
}

/// The most request data an IPMI 1.5 message carries: the wrapper's one-byte length
/// ([`ipmi15::MAX_PAYLOAD`]) less the 7 bytes of the request message's own fields.
pub const MAX_REQUEST_DATA: usize = ipmi15::MAX_PAYLOAD - 7;

/// An IPMI 1.5 client session (MD5 authentication).
pub struct Client15 {
    config: ClientConfig,
    rng: StdRng,
    phase: Phase,
    rq_seq: u8,
    /// The temporary session ID from the challenge, then the session ID.
    session_id: u32,
    challenge: [u8; 16],
    /// The sequence number of our next in-session packet.
    out_seq: u32,
    inbound: SeqWindow,
    last_sent: Vec<u8>,
    last_msg: Option<Vec<u8>>,
    /// The request awaiting its answer; `None` once answered.
    outstanding: Option<Outstanding>,
}

impl Client15 {
    /// A client that will log in with `config` (its cipher suites are not used).
    pub fn new(config: ClientConfig) -> Self {
        Client15 {
            config,
            rng: StdRng::from_entropy(),
            phase: Phase::Idle,
            rq_seq: 0,
            session_id: 0,
            challenge: [0; 16],
            out_seq: 0,
            inbound: SeqWindow::new(),
            last_sent: Vec::new(),
            last_msg: None,
            outstanding: None,
        }
    }

    /// The first datagram of the login.
    pub fn start(&mut self) -> Vec<u8> {
        self.phase = Phase::AuthCap;
        self.sessionless::<GetChannelAuthCapabilities>(&ChannelAuthCapabilitiesRequest {
            channel: CURRENT_CHANNEL,
            ipmi20_extended: false,
            privilege: self.config.privilege,
        })
    }

    /// The datagram to send again after a timeout: the last one, or for an in-session request
    /// the same message under the next session sequence number.
    pub fn retransmission(&mut self) -> Vec<u8> {
        match self.last_msg.clone() {
            Some(msg) => self.wrap(&msg).unwrap_or_else(|_| self.last_sent.clone()),
            None => self.last_sent.clone(),
        }
    }

    /// Whether the session is up.
    pub fn is_active(&self) -> bool {
        self.phase == Phase::Active
    }

    fn message(&mut self, netfn: NetFn, cmd: u8, data: &[u8]) -> Vec<u8> {
        let (msg, outstanding) = request_message(&mut self.rq_seq, netfn, cmd, data);
        self.outstanding = Some(outstanding);
        msg
    }

    /// Whether `r` answers the request awaiting its answer.
    fn awaited(&self, r: &message::Response) -> bool {
        self.outstanding.is_some_and(|o| o.answered_by(r))
    }

    /// A command outside the session (the login's first two steps).
    fn sessionless<C: Command>(&mut self, body: &C::Request) -> Vec<u8> {
        let msg = self.message(C::NETFN, C::CMD, &body.to_bytes());
        self.last_sent =
            seal_v15(AuthType::None, 0, 0, None, &msg).expect("a login message is a few bytes");
        self.last_msg = None;
        self.last_sent.clone()
    }

    /// `msg` in the session under the next sequence number.
    fn wrap(&mut self, msg: &[u8]) -> Result<Vec<u8>, ClientError> {
        let sealed = seal_v15(
            AuthType::Md5,
            self.out_seq,
            self.session_id,
            Some(self.config.password.expose()),
            msg,
        )
        .map_err(|_| ClientError::TooLong {
            max: MAX_REQUEST_DATA,
        })?;
        self.out_seq = seqwin::next(self.out_seq);
        Ok(sealed)
    }

    /// Wraps an IPMI request in the session. Returns the datagram to send, or
    /// [`ClientError::TooLong`] for more than [`MAX_REQUEST_DATA`] bytes of data (and then
    /// nothing changes: the request awaiting its answer still is).
    pub fn request(&mut self, netfn: NetFn, cmd: u8, data: &[u8]) -> Result<Vec<u8>, ClientError> {
        if !matches!(self.phase, Phase::Active | Phase::SetPrivilege) {
            return Err(ClientError::State);
        }
        if data.len() > MAX_REQUEST_DATA {
            return Err(ClientError::TooLong {
                max: MAX_REQUEST_DATA,
            });
        }
        let msg = self.message(netfn, cmd, data);
        let p = self.wrap(&msg)?;
        self.last_sent = p.clone();
        self.last_msg = Some(msg);
        Ok(p)
    }

    /// A command in the session.
    fn command<C: Command>(&mut self, body: &C::Request) -> Result<Vec<u8>, ClientError> {
        self.request(C::NETFN, C::CMD, &body.to_bytes())
    }

    /// A Close Session request for this session.
    pub fn close(&mut self) -> Result<Vec<u8>, ClientError> {
        let p = self.command::<CloseSession>(&CloseSessionRequest {
            session_id: self.session_id,
            handle: None,
        })?;
        self.phase = Phase::Closed;
        Ok(p)
    }

    /// Handles a received datagram.
    pub fn handle(&mut self, datagram: &[u8]) -> Result<ClientEvent, ClientError> {
        let Ok(packet) = rmcp::Packet::new_checked(datagram) else {
            return Ok(ClientEvent::Ignored);
        };
        let Ok(session) = ipmi15::Packet::new_checked(packet.payload()) else {
            return Ok(ClientEvent::Ignored);
        };
        let Ok(r) = message::Response::parse(session.payload()) else {
            return Ok(ClientEvent::Ignored);
        };
        match self.phase {
            Phase::AuthCap | Phase::Challenge | Phase::Activate => {
                if !self.awaited(&r) {
                    return Ok(ClientEvent::Ignored);
                }
                if self.phase == Phase::Activate {
                    // The activation answer is the session's first inbound packet (its sequence
                    // number the one we asked for): entered in the window, it cannot come back
                    // later as an answer in the session. An error answer carries number 0,
                    // which no window takes.
                    self.inbound.accept(session.sequence());
                }
                // The activation answer may be authenticated; a forged one gains nothing, since
                // every later packet must carry a code made with the password.
                self.login_step(r)
            }
            Phase::SetPrivilege | Phase::Active | Phase::Closed => {
                if !self.authentic(&session) || !self.inbound.accept(session.sequence()) {
                    return Ok(ClientEvent::Ignored);
                }
                // A late answer to an earlier try of a request already answered is nobody's.
                if !self.awaited(&r) {
                    return Ok(ClientEvent::Ignored);
                }
                self.outstanding = None;
                if self.phase == Phase::SetPrivilege && r.cmd == SetSessionPrivilegeLevel::CMD {
                    if r.ccode != CompletionCode::OK {
                        return Err(ClientError::Completion {
                            step: SetSessionPrivilegeLevel::NAME,
                            ccode: r.ccode,
                        });
                    }
                    self.phase = Phase::Active;
                    return Ok(ClientEvent::Established);
                }
                Ok(ClientEvent::Response(r))
            }
            Phase::Idle => Ok(ClientEvent::Ignored),
        }
    }

    /// Whether an answer belongs to our session and carries a valid MD5 code.
    fn authentic(&self, session: &ipmi15::Packet<&[u8]>) -> bool {
        session.session_id() == self.session_id
            && open_v15(session, AuthType::Md5, self.config.password.expose()).is_ok()
    }

    fn login_step(&mut self, r: message::Response) -> Result<ClientEvent, ClientError> {
        let step = match r.cmd {
            GetChannelAuthCapabilities::CMD => GetChannelAuthCapabilities::NAME,
            GetSessionChallenge::CMD => GetSessionChallenge::NAME,
            ActivateSession::CMD => ActivateSession::NAME,
            _ => return Ok(ClientEvent::Ignored),
        };
        if r.ccode != CompletionCode::OK {
            return Err(ClientError::Completion {
                step,
                ccode: r.ccode,
            });
        }
        match (self.phase, r.cmd) {
            (Phase::AuthCap, GetChannelAuthCapabilities::CMD) => {
                let caps = ChannelAuthCapabilitiesResponse::parse(&r.data)
                    .map_err(|_| ClientError::State)?;
                if caps.auth_types & AuthType::Md5.mask_bit() == 0 {
                    return Err(ClientError::NoMd5);
                }
                let name = self.config.username.as_bytes();
                let req = SessionChallengeRequest::new(AuthType::Md5, name);
                self.phase = Phase::Challenge;
                Ok(ClientEvent::Send(
                    self.sessionless::<GetSessionChallenge>(&req),
                ))
            }
            (Phase::Challenge, GetSessionChallenge::CMD) => {
                let answer =
                    SessionChallengeResponse::parse(&r.data).map_err(|_| ClientError::State)?;
                self.session_id = answer.temporary_session_id;
                self.challenge = answer.challenge;
                let mut first_inbound = 0;
                while first_inbound == 0 {
                    first_inbound = self.rng.next_u32();
                }
                self.inbound = SeqWindow::expecting(first_inbound);
                let activate = ActivateSessionRequest {
                    auth_type: AuthType::Md5 as u8,
                    max_privilege: self.config.privilege.as_u8(),
                    challenge: self.challenge,
                    initial_outbound_sequence: first_inbound,
                };
                let msg = self.message(
                    ActivateSession::NETFN,
                    ActivateSession::CMD,
                    &activate.to_bytes(),
                );
                // Activate Session goes with sequence number 0 in the temporary session.
                self.out_seq = 0;
                let p = self.wrap(&msg)?;
                self.last_sent = p.clone();
                self.last_msg = None;
                self.phase = Phase::Activate;
                Ok(ClientEvent::Send(p))
            }
            (Phase::Activate, ActivateSession::CMD) => {
                let answer =
                    ActivateSessionResponse::parse(&r.data).map_err(|_| ClientError::State)?;
                self.session_id = answer.session_id;
                let first = answer.initial_inbound_sequence;
                self.out_seq = if first == 0 { 1 } else { first };
                self.phase = Phase::SetPrivilege;
                let level = SetSessionPrivilegeRequest {
                    level: Some(self.config.privilege),
                };
                Ok(ClientEvent::Send(
                    self.command::<SetSessionPrivilegeLevel>(&level)?,
                ))
            }
            _ => Ok(ClientEvent::Ignored),
        }
    }
}
