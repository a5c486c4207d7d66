//! The project's real clients (RMCP+ [`Client`] and IPMI 1.5 [`Client15`]) behind one type, and
//! the in-memory login that drives one against the harness's server.

use ipmi_proto::session::{
    Action, Client, Client15, ClientConfig, ClientError, ClientEvent, Interface, Secret, Server,
};
use ipmi_proto::types::{NetFn, Privilege};
use std::net::SocketAddr;
use std::time::Instant;

/// How a session is set up: RMCP+ with one cipher suite, or IPMI 1.5 with MD5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// RMCP+ with this suite.
    Suite(u8),
    /// IPMI 1.5, MD5.
    V15,
}

impl Mode {
    /// Whether packets of the session carry an integrity check (RMCP+ integrity or 1.5 MD5).
    pub fn has_integrity(self) -> bool {
        match self {
            Mode::V15 => true,
            Mode::Suite(s) => !matches!(s, 0 | 1 | 15),
        }
    }
}

/// The modes the session harnesses choose from: 3 and 17 (what ipmitool and FreeIPMI use), IPMI
/// 1.5 MD5, and the other enabled suites (integrity without encryption, and none).
pub const MODES: [Mode; 6] = [
    Mode::Suite(3),
    Mode::Suite(17),
    Mode::V15,
    Mode::Suite(16),
    Mode::Suite(2),
    Mode::Suite(1),
];

/// One of the real clients.
pub enum Real {
    /// RMCP+.
    V20(Client),
    /// IPMI 1.5.
    V15(Client15),
}

/// The client configuration of the administrator account for `mode`.
pub fn client_config(mode: Mode, user: &str, password: &[u8]) -> ClientConfig {
    ClientConfig {
        username: user.into(),
        password: Secret::new(password.to_vec()),
        kg: None,
        privilege: Privilege::Administrator,
        cipher_suites: match mode {
            Mode::Suite(s) => vec![s],
            Mode::V15 => Vec::new(),
        },
        interface: match mode {
            Mode::Suite(_) => Interface::Lanplus,
            Mode::V15 => Interface::Lan,
        },
    }
}

impl Real {
    /// A client for `mode` (not started).
    pub fn new(mode: Mode, user: &str, password: &[u8]) -> Real {
        let config = client_config(mode, user, password);
        match mode {
            Mode::Suite(_) => Real::V20(Client::new(config)),
            Mode::V15 => Real::V15(Client15::new(config)),
        }
    }
    /// The first datagram of the login.
    pub fn start(&mut self) -> Vec<u8> {
        match self {
            Real::V20(c) => c.start(),
            Real::V15(c) => c.start(),
        }
    }
    /// Handles a received datagram.
    pub fn handle(&mut self, datagram: &[u8]) -> Result<ClientEvent, ClientError> {
        match self {
            Real::V20(c) => c.handle(datagram),
            Real::V15(c) => c.handle(datagram),
        }
    }
    /// Wraps a request in the session.
    pub fn request(&mut self, netfn: NetFn, cmd: u8, data: &[u8]) -> Result<Vec<u8>, ClientError> {
        match self {
            Real::V20(c) => c.request(netfn, cmd, data),
            Real::V15(c) => c.request(netfn, cmd, data),
        }
    }
    /// A Close Session request.
    pub fn close(&mut self) -> Result<Vec<u8>, ClientError> {
        match self {
            Real::V20(c) => c.close(),
            Real::V15(c) => c.close(),
        }
    }
    /// The datagram to send again after a timeout.
    pub fn retransmission(&mut self) -> Vec<u8> {
        match self {
            Real::V20(c) => c.retransmission(),
            Real::V15(c) => c.retransmission(),
        }
    }
    /// Whether the session is up.
    pub fn is_active(&self) -> bool {
        match self {
            Real::V20(c) => c.is_active(),
            Real::V15(c) => c.is_active(),
        }
    }
}

/// Logs a real client in to `server` in memory as the administrator; panics if the login fails
/// (it must not: the server, accounts and client are all the harness's own).
pub fn login(server: &mut Server, now: Instant, peer: SocketAddr, mode: Mode) -> Real {
    let (user, password) = super::fixtures::ADMIN;
    let mut client = Real::new(mode, user, password);
    let mut out = client.start();
    for _ in 0..20 {
        let back = match server.handle(now, peer, &out) {
            Action::Reply(bytes) => bytes,
            other => panic!("{mode:?} login: the server answered {other:?}"),
        };
        match client.handle(&back) {
            Ok(ClientEvent::Send(next)) => out = next,
            Ok(ClientEvent::Established) => return client,
            other => panic!("{mode:?} login: the client got {other:?}"),
        }
    }
    panic!("{mode:?} login did not finish")
}
