//! The server (BMC) side of IPMI over LAN as a sans-IO state machine.
//!
//! [`Server::handle`] takes one datagram and answers it itself (ASF ping, Get Channel Authentication
//! Capabilities, the IPMI 1.5 challenge/activate exchange, RMCP+ Open Session and RAKP 1-4, Set
//! Session Privilege Level, Close Session, Get Session Info, Get Channel Cipher Suites), drops it, or
//! hands an authenticated request up as [`Action::Dispatch`]. The caller answers that request with
//! [`Server::seal`], which wraps the response for the session it came from.

use crate::types::{CompletionCode, NetFn, Privilege};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// A secret (password or key) that is zeroed on drop and never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(Zeroizing::new(bytes.into()))
    }
    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A user account of the BMC.
#[derive(Clone, Debug)]
pub struct User {
    /// The user ID (1..=63); ID 1 is by convention the null (anonymous) user.
    pub id: u8,
    /// The user name (at most 16 bytes; empty for the null user).
    pub name: String,
    /// The password (at most 20 bytes for IPMI 2.0, 16 for IPMI 1.5).
    pub password: Secret,
    /// The highest privilege this user may reach on the LAN channel.
    pub privilege: Privilege,
    /// Whether the account may log in.
    pub enabled: bool,
}

/// The IPMI 1.5 authentication types the LAN channel accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthTypes {
    /// Auth type NONE (0): no authentication at all. Off by default.
    pub none: bool,
    /// MD2 (1). Off by default.
    pub md2: bool,
    /// MD5 (2). On by default.
    pub md5: bool,
    /// Straight password (4): the password in clear. Off by default.
    pub straight: bool,
}

impl Default for AuthTypes {
    fn default() -> Self {
        AuthTypes {
            none: false,
            md2: false,
            md5: true,
            straight: false,
        }
    }
}

/// Limits on failed logins, per remote address and user name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failures allowed within `window` before logins from that address for that user are refused.
    pub max_failures: u32,
    /// The window failures are counted in.
    pub window: Duration,
    /// How long further attempts are refused once the limit is reached.
    pub lockout: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            max_failures: 5,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(30),
        }
    }
}

/// Configuration of one BMC's LAN channel.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The BMC's GUID, used in RAKP (and answered by Get System GUID by the BMC model).
    pub guid: [u8; 16],
    /// The LAN channel number (1 on most BMCs).
    pub channel: u8,
    /// The user accounts.
    pub users: Vec<User>,
    /// Enabled RMCP+ cipher suite IDs, in the order they are listed to clients.
    pub cipher_suites: Vec<u8>,
    /// Enabled IPMI 1.5 authentication types.
    pub auth_types: AuthTypes,
    /// Whether IPMI 1.5 sessions are accepted at all.
    pub ipmi15: bool,
    /// The BMC key (Kg) for two-key logins; `None` uses the user's password (one-key login).
    pub kg: Option<Secret>,
    /// The most sessions open at once; further logins are refused with "insufficient resources".
    pub max_sessions: usize,
    /// A session without traffic for this long is closed.
    pub session_timeout: Duration,
    /// Failed-login rate limit.
    pub login_policy: LoginPolicy,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            guid: [0; 16],
            channel: 1,
            users: Vec::new(),
            cipher_suites: vec![3, 17, 1, 2, 15, 16],
            auth_types: AuthTypes::default(),
            ipmi15: true,
            kg: None,
            max_sessions: 64,
            session_timeout: Duration::from_secs(60),
            login_policy: LoginPolicy::default(),
        }
    }
}

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

/// The fields needed to build the response (private to the crate).
#[derive(Debug, Clone)]
pub(crate) struct ReplyInfo {
    pub(crate) _placeholder: (),
}

/// The server side of one BMC's LAN channel.
pub struct Server {
    _config: ServerConfig,
}

impl Server {
    /// Creates a server with the given configuration. Session IDs and RAKP randoms come from the
    /// operating system's CSPRNG.
    pub fn new(config: ServerConfig) -> Self {
        Server { _config: config }
    }

    /// Handles one datagram from `peer` received at `now`.
    pub fn handle(&mut self, _now: Instant, _peer: SocketAddr, _datagram: &[u8]) -> Action {
        todo!()
    }

    /// Builds the response datagram for a dispatched request. Returns `None` if its session has
    /// gone away since.
    pub fn seal(
        &mut self,
        _now: Instant,
        _ctx: &RequestContext,
        _ccode: CompletionCode,
        _data: &[u8],
    ) -> Option<Vec<u8>> {
        todo!()
    }

    /// Closes sessions idle for longer than the timeout. Call it now and then (e.g. every second).
    pub fn expire(&mut self, _now: Instant) {}

    /// The number of active sessions.
    pub fn active_sessions(&self) -> usize {
        0
    }
}
