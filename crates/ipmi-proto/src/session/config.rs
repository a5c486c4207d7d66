//! The configuration of a BMC's LAN channel as the session layer sees it: user accounts, enabled
//! IPMI 1.5 authentication types and RMCP+ cipher suites, session limits and the failed-login
//! policy.

use super::sol_config::SolConfig;
use crate::crypto::Secret;
use crate::types::Privilege;
use crate::wire::ipmi15::AuthType;
use std::time::Duration;

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

/// Limits on failed logins, per remote address: for each user name, and for the address as a
/// whole (four times as many, unknown user names included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failures allowed within `window` before logins from that address for that user are refused;
    /// four times as many of any names lock the address out whole. 0: no limit.
    pub max_failures: u32,
    /// The window failures are counted in.
    pub window: Duration,
    /// How long further attempts are refused once the limit is reached (any length: past the end
    /// of the clock it saturates).
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

/// The most sessions a LAN channel can have: each needs a handle, and handles are 1 to 255.
pub const MAX_SESSIONS: usize = 255;

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
    /// At most [`MAX_SESSIONS`] (session handles are 8 bits); a larger value counts as that.
    pub max_sessions: usize,
    /// A session without traffic for this long is closed.
    pub session_timeout: Duration,
    /// Failed-login rate limit.
    pub login_policy: LoginPolicy,
    /// Serial over LAN, as configured at start (Set SOL Configuration Parameters changes it).
    pub sol: SolConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            guid: [0; 16],
            channel: 1,
            users: Vec::new(),
            cipher_suites: vec![3, 17],
            auth_types: AuthTypes::default(),
            ipmi15: true,
            kg: None,
            max_sessions: 64,
            session_timeout: Duration::from_secs(60),
            login_policy: LoginPolicy::default(),
            sol: SolConfig::default(),
        }
    }
}

impl ServerConfig {
    /// The most sessions open at once: `max_sessions`, within 1 to [`MAX_SESSIONS`].
    pub fn session_limit(&self) -> usize {
        self.max_sessions.clamp(1, MAX_SESSIONS)
    }

    /// Whether IPMI 1.5 sessions may use authentication type `t` (never when `ipmi15` is off).
    pub fn auth_type_enabled(&self, t: AuthType) -> bool {
        let a = &self.auth_types;
        self.ipmi15
            && match t {
                AuthType::None => a.none,
                AuthType::Md2 => a.md2,
                AuthType::Md5 => a.md5,
                AuthType::Straight => a.straight,
                AuthType::Oem | AuthType::RmcpPlus => false,
            }
    }

    /// The enabled account with this user name.
    pub fn user_by_name(&self, name: &[u8]) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.enabled && u.name.as_bytes() == name)
    }

    /// The account with this user ID.
    pub fn user_by_id(&self, id: u8) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The enabled IPMI 1.5 authentication types as the bit mask of Get Channel Authentication
    /// Capabilities and LAN parameters 1 and 2 (bit 0 none, 1 MD2, 2 MD5, 4 straight).
    pub fn auth_type_mask(&self) -> u8 {
        [
            AuthType::None,
            AuthType::Md2,
            AuthType::Md5,
            AuthType::Straight,
        ]
        .into_iter()
        .filter(|t| self.auth_type_enabled(*t))
        .fold(0, |m, t| m | t.mask_bit())
    }
}
