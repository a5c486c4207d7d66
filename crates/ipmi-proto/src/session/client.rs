//! The client (remote console) side of IPMI 2.0 / RMCP+ as a sans-IO state machine.
//!
//! The caller sends what [`Client::start`] and [`Client::handle`] return, calls [`Client::handle`]
//! with every datagram received, and sends [`Client::retransmission`] when nothing came back in
//! time.
//! The login is: Get Channel Authentication Capabilities, Get Channel Cipher Suites (the first of
//! the preferred suites that the BMC lists is used), Open Session, RAKP 1-4, and Set Session
//! Privilege Level. Then [`Client::request`] wraps IPMI requests and [`Client::handle`] unwraps the
//! responses.

use super::cipher_suite::CipherSuite;
use super::outstanding::{request_message, Outstanding};
use super::seal::{open_v20, seal_v15, seal_v20, Keys};
use super::seqwin::{self, SeqWindow};
use crate::cmd::app::{
    suite_ids, ChannelAuthCapabilitiesRequest, ChannelAuthCapabilitiesResponse, CipherSuiteRecord,
    CipherSuitesRequest, CipherSuitesResponse, CloseSession, CloseSessionRequest,
    GetChannelAuthCapabilities, GetChannelCipherSuites, SetSessionPrivilegeLevel,
    SetSessionPrivilegeRequest, CIPHER_SUITE_PAGE_LEN, CURRENT_CHANNEL,
};
use crate::cmd::{Body, Command};
use crate::crypto::rakp::{derive_key, Exchange};
use crate::crypto::{ct_eq, Secret};
use crate::types::{CompletionCode, NetFn, Privilege};
use crate::wire::ipmi15::{self, AuthType};
use crate::wire::ipmi20::{self, PayloadType};
use crate::wire::rakp::{
    OpenSessionRequest, OpenSessionResponse, Rakp1, Rakp2, Rakp3, Rakp4, Status,
};
use crate::wire::{message, rmcp};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use zeroize::Zeroizing;

/// What a client needs to log in.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The user name (at most 16 bytes).
    pub username: String,
    /// The password (at most 20 bytes).
    pub password: Secret,
    /// The BMC key, for two-key logins.
    pub kg: Option<Secret>,
    /// The privilege level to run the session at.
    pub privilege: Privilege,
    /// Cipher suites in order of preference (e.g. `[17, 3]`); RMCP+ only.
    pub cipher_suites: Vec<u8>,
    /// IPMI 2.0 / RMCP+ or IPMI 1.5.
    pub interface: Interface,
}

/// The session protocol a client speaks, named as ipmitool's `-I` option names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Interface {
    /// IPMI 2.0 / RMCP+ ([`Client`]).
    #[default]
    Lanplus,
    /// IPMI 1.5 with MD5 ([`Client15`](super::Client15)).
    Lan,
}

/// Why a login or request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The BMC does not offer IPMI 2.0.
    #[error("the BMC does not support IPMI 2.0")]
    NoIpmi20,
    /// None of the preferred cipher suites is offered.
    #[error("no common cipher suite (BMC offers {0:?})")]
    NoCipherSuite(Vec<u8>),
    /// An RMCP+ step failed with this status code.
    #[error("{step} failed with RMCP+ status 0x{status:02x}")]
    Status {
        /// The failing step.
        step: &'static str,
        /// The status code.
        status: u8,
    },
    /// The BMC does not offer MD5 for IPMI 1.5 sessions.
    #[error("the BMC does not offer MD5 authentication for IPMI 1.5")]
    NoMd5,
    /// The BMC's RAKP 2 proof does not match our password.
    #[error("wrong password (RAKP 2 check failed)")]
    BadPassword,
    /// The BMC's RAKP 4 integrity check value is wrong.
    #[error("RAKP 4 integrity check failed")]
    BadRakp4,
    /// A command during login returned an error completion code.
    #[error("{step} failed with completion code {ccode}")]
    Completion {
        /// The failing step.
        step: &'static str,
        /// The completion code.
        ccode: CompletionCode,
    },
    /// The client is not in a state where this is possible.
    #[error("not possible in the current session state")]
    State,
    /// The request data is longer than the session's packets can carry (IPMI 1.5: one length
    /// byte for the whole message).
    #[error("request data too long: at most {max} bytes in this session")]
    TooLong {
        /// The most request data the session carries.
        max: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    AuthCap,
    CipherSuites,
    Open,
    Rakp2,
    Rakp4,
    SetPrivilege,
    Active,
    Closed,
}

/// What a received datagram meant.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// Send this datagram next (the login goes on).
    Send(Vec<u8>),
    /// The session is up; requests may be sent.
    Established,
    /// A response to a request.
    Response(message::Response),
    /// The datagram was not for us (stale, replayed or forged): ignore it.
    Ignored,
}

/// An RMCP+ client session.
pub struct Client {
    config: ClientConfig,
    rng: StdRng,
    phase: Phase,
    rq_seq: u8,
    console_id: u32,
    bmc_id: u32,
    console_random: [u8; 16],
    offered: Vec<u8>,
    suite: Option<CipherSuite>,
    exchange: Option<Exchange>,
    sik: Zeroizing<Vec<u8>>,
    k1: Zeroizing<Vec<u8>>,
    k2: Zeroizing<Vec<u8>>,
    out_seq: u32,
    inbound: SeqWindow,
    last_sent: Vec<u8>,
    /// The IPMI message of the last in-session request, rewrapped with a fresh session sequence
    /// number when it must be sent again (the BMC drops a repeated sequence number as a replay).
    last_msg: Option<Vec<u8>>,
    /// The request awaiting its answer; `None` once answered.
    outstanding: Option<Outstanding>,
}

impl Client {
    /// A client that will log in with `config`.
    pub fn new(config: ClientConfig) -> Self {
        Client {
            config,
            rng: StdRng::from_entropy(),
            phase: Phase::Idle,
            rq_seq: 0,
            console_id: 0,
            bmc_id: 0,
            console_random: [0; 16],
            offered: Vec::new(),
            suite: None,
            exchange: None,
            sik: Zeroizing::new(Vec::new()),
            k1: Zeroizing::new(Vec::new()),
            k2: Zeroizing::new(Vec::new()),
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
        let req = ChannelAuthCapabilitiesRequest {
            channel: CURRENT_CHANNEL,
            ipmi20_extended: true,
            privilege: self.config.privilege,
        };
        self.sessionless::<GetChannelAuthCapabilities>(&req)
    }

    /// The datagram to send again after a timeout: the last one, or for an in-session request
    /// the same message under a new session sequence number.
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

    /// The cipher suite in use, once the session is open.
    pub fn cipher_suite(&self) -> Option<u8> {
        self.suite.map(|s| s.id)
    }

    fn sent(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        self.last_sent = bytes.clone();
        self.last_msg = None;
        bytes
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

    /// A command outside the session, in the IPMI 1.5 wrapper every BMC answers.
    fn sessionless<C: Command>(&mut self, body: &C::Request) -> Vec<u8> {
        let msg = self.message(C::NETFN, C::CMD, &body.to_bytes());
        self.sent(
            seal_v15(AuthType::None, 0, 0, None, &msg).expect("a login message is a few bytes"),
        )
    }

    /// A command in the session.
    fn command<C: Command>(&mut self, body: &C::Request) -> Result<Vec<u8>, ClientError> {
        self.request(C::NETFN, C::CMD, &body.to_bytes())
    }

    fn setup_packet(&mut self, ty: PayloadType, payload: &[u8]) -> Vec<u8> {
        let p = seal_v20(ty, 0, 0, payload, None, &mut self.rng);
        self.sent(p)
    }

    /// Wraps an IPMI request in the session. Returns the datagram to send.
    pub fn request(&mut self, netfn: NetFn, cmd: u8, data: &[u8]) -> Result<Vec<u8>, ClientError> {
        if !matches!(self.phase, Phase::Active | Phase::SetPrivilege) {
            return Err(ClientError::State);
        }
        let msg = self.message(netfn, cmd, data);
        let p = self.wrap(&msg)?;
        let p = self.sent(p);
        self.last_msg = Some(msg);
        Ok(p)
    }

    fn wrap(&mut self, msg: &[u8]) -> Result<Vec<u8>, ClientError> {
        let suite = self.suite.ok_or(ClientError::State)?;
        self.out_seq = seqwin::next(self.out_seq);
        let keys = Keys {
            suite,
            k1: &self.k1,
            k2: &self.k2,
        };
        Ok(seal_v20(
            PayloadType::IPMI,
            self.bmc_id,
            self.out_seq,
            msg,
            Some(keys),
            &mut self.rng,
        ))
    }

    /// A Close Session request for this session.
    pub fn close(&mut self) -> Result<Vec<u8>, ClientError> {
        let p = self.command::<CloseSession>(&CloseSessionRequest {
            session_id: self.bmc_id,
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
        let p = packet.payload();
        match self.phase {
            Phase::AuthCap | Phase::CipherSuites => self.presession_response(p),
            Phase::Open => self.open_response(p),
            Phase::Rakp2 => self.rakp2(p),
            Phase::Rakp4 => self.rakp4(p),
            Phase::SetPrivilege | Phase::Active | Phase::Closed => self.session_response(p),
            Phase::Idle => Ok(ClientEvent::Ignored),
        }
    }

    fn presession_response(&mut self, p: &[u8]) -> Result<ClientEvent, ClientError> {
        // Answers outside a session come in the v1.5 wrapper, or (pyghmi's BMC does this for
        // Get Channel Cipher Suites) as an unauthenticated RMCP+ IPMI payload of session 0.
        let m = match ipmi15::Repr::parse(p) {
            Ok((_, m)) => m,
            Err(_) => match ipmi20::Repr::parse(p) {
                Ok(v2)
                    if v2.header.payload_type == PayloadType::IPMI
                        && v2.header.session_id == 0
                        && !v2.header.encrypted
                        && !v2.header.authenticated =>
                {
                    v2.payload
                }
                _ => return Ok(ClientEvent::Ignored),
            },
        };
        let Ok(r) = message::Response::parse(m) else {
            return Ok(ClientEvent::Ignored);
        };
        if !self.awaited(&r) {
            return Ok(ClientEvent::Ignored);
        }
        match (self.phase, r.cmd) {
            (Phase::AuthCap, GetChannelAuthCapabilities::CMD) => {
                if r.ccode != CompletionCode::OK {
                    return Err(ClientError::Completion {
                        step: GetChannelAuthCapabilities::NAME,
                        ccode: r.ccode,
                    });
                }
                match ChannelAuthCapabilitiesResponse::parse(&r.data) {
                    Ok(caps) if caps.ipmi20_extended && caps.supports_ipmi20 => {}
                    _ => return Err(ClientError::NoIpmi20),
                }
                self.phase = Phase::CipherSuites;
                self.offered.clear();
                Ok(ClientEvent::Send(self.cipher_suite_request(0)))
            }
            (Phase::CipherSuites, GetChannelCipherSuites::CMD) => {
                let page = match CipherSuitesResponse::parse(&r.data) {
                    Ok(page) if r.ccode == CompletionCode::OK => page,
                    _ => {
                        // The end of a list some BMCs mark with an error (OpenIPMI does); a BMC
                        // without the command at all is assumed to have suite 3, the baseline.
                        if self.offered.is_empty() {
                            CipherSuiteRecord {
                                id: 3,
                                auth: 1,
                                integrity: 1,
                                confidentiality: 1,
                            }
                            .emit(&mut self.offered);
                        }
                        return self.open_session();
                    }
                };
                self.offered.extend_from_slice(&page.records);
                if page.records.len() == CIPHER_SUITE_PAGE_LEN
                    && self.offered.len() < 64 * CIPHER_SUITE_PAGE_LEN
                {
                    let index = (self.offered.len() / CIPHER_SUITE_PAGE_LEN) as u8;
                    return Ok(ClientEvent::Send(self.cipher_suite_request(index)));
                }
                self.open_session()
            }
            _ => Ok(ClientEvent::Ignored),
        }
    }

    fn cipher_suite_request(&mut self, index: u8) -> Vec<u8> {
        self.sessionless::<GetChannelCipherSuites>(&CipherSuitesRequest {
            channel: CURRENT_CHANNEL,
            payload_type: PayloadType::IPMI.0,
            list_by_suite: true,
            index,
        })
    }

    fn open_session(&mut self) -> Result<ClientEvent, ClientError> {
        let offered = suite_ids(&self.offered);
        let suite = self
            .config
            .cipher_suites
            .iter()
            .find(|id| offered.contains(id))
            .and_then(|id| CipherSuite::by_id(*id))
            .ok_or_else(|| ClientError::NoCipherSuite(offered.clone()))?;
        self.suite = Some(suite);
        while self.console_id == 0 {
            self.console_id = self.rng.next_u32();
        }
        let mut p = Vec::new();
        OpenSessionRequest {
            tag: 0,
            max_privilege: self.config.privilege.as_u8(),
            console_session_id: self.console_id,
            auth: Some(suite.auth.code()),
            integrity: Some(suite.integrity.code()),
            confidentiality: Some(suite.confidentiality.code()),
        }
        .emit(&mut p);
        self.phase = Phase::Open;
        Ok(ClientEvent::Send(
            self.setup_packet(PayloadType::OPEN_SESSION_REQUEST, &p),
        ))
    }

    fn setup_payload(p: &[u8], ty: PayloadType) -> Option<&[u8]> {
        let parsed = ipmi20::Repr::parse(p).ok()?;
        (parsed.header.payload_type == ty).then_some(parsed.payload)
    }

    fn open_response(&mut self, p: &[u8]) -> Result<ClientEvent, ClientError> {
        let Some(r) = Self::setup_payload(p, PayloadType::OPEN_SESSION_RESPONSE)
            .and_then(|b| OpenSessionResponse::parse(b).ok())
        else {
            return Ok(ClientEvent::Ignored);
        };
        // The ID first, as for RAKP 2 and 4: an error for another session is not ours.
        if r.console_session_id != self.console_id {
            return Ok(ClientEvent::Ignored);
        }
        if r.status != Status::OK {
            return Err(ClientError::Status {
                step: "Open Session",
                status: r.status.0,
            });
        }
        self.bmc_id = r.bmc_session_id;
        self.rng.fill_bytes(&mut self.console_random);
        let mut p = Vec::new();
        Rakp1 {
            tag: 0,
            bmc_session_id: self.bmc_id,
            console_random: self.console_random,
            role: 0x10 | self.config.privilege.as_u8(),
            username: self.config.username.as_bytes().to_vec(),
        }
        .emit(&mut p);
        self.phase = Phase::Rakp2;
        Ok(ClientEvent::Send(self.setup_packet(PayloadType::RAKP1, &p)))
    }

    fn rakp2(&mut self, p: &[u8]) -> Result<ClientEvent, ClientError> {
        let Some(r) = Self::setup_payload(p, PayloadType::RAKP2).and_then(|b| Rakp2::parse(b).ok())
        else {
            return Ok(ClientEvent::Ignored);
        };
        // Only an answer for our session may end the login: anyone who saw it start could send
        // an error for another ID.
        if r.console_session_id != self.console_id {
            return Ok(ClientEvent::Ignored);
        }
        if r.status != Status::OK {
            return Err(ClientError::Status {
                step: "RAKP 2",
                status: r.status.0,
            });
        }
        let suite = self.suite.ok_or(ClientError::State)?;
        let x = Exchange {
            console_session_id: self.console_id,
            bmc_session_id: self.bmc_id,
            console_random: self.console_random,
            bmc_random: r.bmc_random,
            bmc_guid: r.bmc_guid,
            role: 0x10 | self.config.privilege.as_u8(),
            username: self.config.username.as_bytes().to_vec(),
        };
        let pw = self.config.password.expose();
        if !ct_eq(&r.auth_code, &x.rakp2_auth_code(suite.auth, pw)) {
            return Err(ClientError::BadPassword);
        }
        let kg = self.config.kg.as_ref().map_or(pw, |k| k.expose());
        self.sik = x.sik(suite.auth, kg);
        self.k1 = derive_key(suite.auth, &self.sik, 1);
        self.k2 = derive_key(suite.auth, &self.sik, 2);
        let mut p = Vec::new();
        Rakp3 {
            tag: 0,
            status: Status::OK,
            bmc_session_id: self.bmc_id,
            auth_code: x.rakp3_auth_code(suite.auth, pw),
        }
        .emit(&mut p);
        self.exchange = Some(x);
        self.phase = Phase::Rakp4;
        Ok(ClientEvent::Send(self.setup_packet(PayloadType::RAKP3, &p)))
    }

    fn rakp4(&mut self, p: &[u8]) -> Result<ClientEvent, ClientError> {
        let Some(r) = Self::setup_payload(p, PayloadType::RAKP4).and_then(|b| Rakp4::parse(b).ok())
        else {
            return Ok(ClientEvent::Ignored);
        };
        if r.console_session_id != self.console_id {
            return Ok(ClientEvent::Ignored);
        }
        if r.status != Status::OK {
            return Err(ClientError::Status {
                step: "RAKP 4",
                status: r.status.0,
            });
        }
        let (suite, x) = match (self.suite, &self.exchange) {
            (Some(s), Some(x)) => (s, x),
            _ => return Err(ClientError::State),
        };
        if !ct_eq(&r.icv, &x.rakp4_icv(suite.auth, &self.sik)) {
            return Err(ClientError::BadRakp4);
        }
        self.phase = Phase::SetPrivilege;
        let level = SetSessionPrivilegeRequest {
            level: Some(self.config.privilege),
        };
        Ok(ClientEvent::Send(
            self.command::<SetSessionPrivilegeLevel>(&level)?,
        ))
    }

    fn session_response(&mut self, p: &[u8]) -> Result<ClientEvent, ClientError> {
        let Ok(packet) = ipmi20::Packet::new_checked(p) else {
            return Ok(ClientEvent::Ignored);
        };
        let Some(suite) = self.suite else {
            return Err(ClientError::State);
        };
        if packet.payload_type() != PayloadType::IPMI || packet.session_id() != self.console_id {
            return Ok(ClientEvent::Ignored);
        }
        let keys = Keys {
            suite,
            k1: &self.k1,
            k2: &self.k2,
        };
        let Ok(body) = open_v20(&packet, &keys) else {
            return Ok(ClientEvent::Ignored);
        };
        if !self.inbound.accept(packet.sequence()) {
            return Ok(ClientEvent::Ignored);
        }
        let Ok(r) = message::Response::parse(&body) else {
            return Ok(ClientEvent::Ignored);
        };
        // A late answer to an earlier try of a request already answered is nobody's answer.
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
}

/// Payloads other than IPMI messages in the session (Serial over LAN): sealed and opened with the
/// session's cipher suite, numbered in its sequence like its requests.
impl Client {
    /// Wraps a payload of type `ty` in the session. Returns the datagram to send.
    pub fn payload(&mut self, ty: PayloadType, payload: &[u8]) -> Result<Vec<u8>, ClientError> {
        let suite = match (self.phase, self.suite) {
            (Phase::Active, Some(s)) => s,
            _ => return Err(ClientError::State),
        };
        self.out_seq = seqwin::next(self.out_seq);
        let keys = Keys {
            suite,
            k1: &self.k1,
            k2: &self.k2,
        };
        Ok(seal_v20(
            ty,
            self.bmc_id,
            self.out_seq,
            payload,
            Some(keys),
            &mut self.rng,
        ))
    }

    /// The clear payload of a datagram of this session carrying payload type `ty`. `None` for
    /// anything else, which is left untouched for [`Client::handle`] (an IPMI response), and
    /// for a packet that does not open or repeats a sequence number.
    pub fn open_payload(&mut self, ty: PayloadType, datagram: &[u8]) -> Option<Vec<u8>> {
        let packet = rmcp::Packet::new_checked(datagram).ok()?;
        let packet = ipmi20::Packet::new_checked(packet.payload()).ok()?;
        if self.phase != Phase::Active
            || packet.payload_type() != ty
            || packet.session_id() != self.console_id
        {
            return None;
        }
        let keys = Keys {
            suite: self.suite?,
            k1: &self.k1,
            k2: &self.k2,
        };
        let body = open_v20(&packet, &keys).ok()?.into_owned();
        self.inbound.accept(packet.sequence()).then_some(body)
    }
}
