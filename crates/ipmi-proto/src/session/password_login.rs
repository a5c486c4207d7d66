//! A login by name and password from outside the LAN channel (the Redfish service's Basic auth
//! and sessions), checked against the same accounts and counted in the same failed-login limiter
//! as the channel's own logins: a wrong password over HTTP locks out IPMI logins from that
//! address, and the other way round.

use super::server::Server;
use super::stats::LoginFailure;
use crate::crypto::ct_eq;
use crate::types::Privilege;
use std::net::IpAddr;
use std::time::Instant;

/// What a password login found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordLogin {
    /// The name and password match an enabled account: its ID and privilege limit.
    Accepted {
        /// The account's user ID.
        id: u8,
        /// The account's privilege limit on the LAN channel.
        privilege: Privilege,
    },
    /// Unknown name or wrong password (counted as a failed login).
    Refused,
    /// Refused unchecked: too many failed logins from the address, or for the name.
    LockedOut,
}

impl Server {
    /// Checks `name` and `password` from `ip` at `now` against the channel's accounts, without
    /// counting anything: a caller that checks one login against several channels counts it
    /// with [`Server::count_password_login`] on those that matter.
    pub fn check_password(
        &self,
        now: Instant,
        ip: IpAddr,
        name: &str,
        password: &[u8],
    ) -> PasswordLogin {
        if self.table().limiter.locked(ip, name.as_bytes(), now) {
            return PasswordLogin::LockedOut;
        }
        let Some(user) = self.config().user_by_name(name.as_bytes()) else {
            return PasswordLogin::Refused;
        };
        // Compared in constant time, both padded as IPMI pads them (to 20 bytes with NULs), so
        // that a password is accepted by both front-ends alike.
        let mut given = zeroize::Zeroizing::new([0u8; 20]);
        let mut held = zeroize::Zeroizing::new([0u8; 20]);
        let secret = user.password.expose();
        if password.len() > given.len() || secret.len() > held.len() {
            return PasswordLogin::Refused;
        }
        given[..password.len()].copy_from_slice(password);
        held[..secret.len()].copy_from_slice(secret);
        if !ct_eq(&given[..], &held[..]) {
            return PasswordLogin::Refused;
        }
        PasswordLogin::Accepted {
            id: user.id,
            privilege: user.privilege,
        }
    }

    /// Counts a login from `ip` as `name` that [`Server::check_password`] found `outcome`, in
    /// the channel's failed-login limiter and statistics, as its own logins are counted.
    pub fn count_password_login(
        &mut self,
        now: Instant,
        ip: IpAddr,
        name: &str,
        outcome: PasswordLogin,
    ) {
        let (config, table) = self.config_and_table();
        let policy = config.login_policy;
        match outcome {
            PasswordLogin::Accepted { .. } => table.limiter.succeed(ip, name.as_bytes()),
            PasswordLogin::LockedOut => table.stats.fail(LoginFailure::LockedOut),
            PasswordLogin::Refused => {
                let known = config.user_by_name(name.as_bytes()).is_some();
                let locks = if known {
                    table.stats.fail(LoginFailure::BadPassword);
                    table.limiter.fail(ip, name.as_bytes(), now, &policy)
                } else {
                    table.stats.fail(LoginFailure::UnknownUser);
                    table.limiter.fail_unknown(ip, now, &policy)
                };
                if locks && table.log_budget.allow(now) {
                    tracing::warn!(peer = %ip, user = ?name, "too many failed logins: locked out for {:?}", policy.lockout);
                }
            }
        }
    }
}
