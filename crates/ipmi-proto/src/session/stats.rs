//! What the session layer has done, counted for the runtime's metrics: sessions opened and
//! closed, logins failed and why, lockouts, logins in progress dropped. Plain integers, bumped
//! where a login succeeds or fails (never on the path of a request in a session) and read with
//! [`Server::stats`](super::Server::stats): the server is behind its caller's lock already, so
//! no atomics are needed, and a snapshot is a copy.

/// Why a login failed or was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoginFailure {
    /// No account has the user name.
    UnknownUser,
    /// The client's proof of the password was wrong (RAKP 3, or IPMI 1.5 Activate Session).
    BadPassword,
    /// The client rejected the BMC's proof (RAKP 2): its password differs from the account's.
    RejectedByClient,
    /// The login ended after the BMC's proof (RAKP 2) without a RAKP 3: it timed out, was
    /// pushed out, or its console started over. What a client with the wrong password does
    /// (ipmitool, FreeIPMI), and what collecting RAKP 2 codes to crack offline looks like.
    AbandonedAfterRakp2,
    /// The privilege asked for is above the account's limit.
    Privilege,
    /// Refused without a check: too many failed logins from the address, or for the name.
    LockedOut,
    /// No enabled cipher suite matches the client's proposal (RMCP+ Open Session).
    NoCipherSuite,
    /// Every session slot of the channel is taken.
    NoSessionSlot,
}

impl LoginFailure {
    /// Every reason, in the order of [`ServerStats::logins_failed`].
    pub const ALL: [LoginFailure; 8] = [
        LoginFailure::UnknownUser,
        LoginFailure::BadPassword,
        LoginFailure::RejectedByClient,
        LoginFailure::AbandonedAfterRakp2,
        LoginFailure::Privilege,
        LoginFailure::LockedOut,
        LoginFailure::NoCipherSuite,
        LoginFailure::NoSessionSlot,
    ];

    /// A short lower-case name, for metric labels and logs.
    pub const fn name(self) -> &'static str {
        match self {
            LoginFailure::UnknownUser => "unknown_user",
            LoginFailure::BadPassword => "bad_password",
            LoginFailure::RejectedByClient => "rejected_by_client",
            LoginFailure::AbandonedAfterRakp2 => "abandoned_after_rakp2",
            LoginFailure::Privilege => "privilege",
            LoginFailure::LockedOut => "locked_out",
            LoginFailure::NoCipherSuite => "no_cipher_suite",
            LoginFailure::NoSessionSlot => "no_session_slot",
        }
    }
}

/// A snapshot of a server's counts since it was made (all but `sessions_open` only grow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Sessions active now.
    pub sessions_open: u64,
    /// RMCP+ (IPMI 2.0) sessions opened.
    pub opened_rmcp_plus: u64,
    /// IPMI 1.5 sessions opened.
    pub opened_ipmi15: u64,
    /// Sessions closed by Close Session.
    pub closed_by_request: u64,
    /// Sessions closed after the inactivity timeout.
    pub closed_idle: u64,
    /// Failed or refused logins, by reason (indexed as [`LoginFailure::ALL`]).
    pub logins_failed: [u64; LoginFailure::ALL.len()],
    /// Lockouts begun: an address, or a user name from an address, failed too often.
    pub lockouts: u64,
    /// Logins in progress pushed out by the bounds on them (a flood of half-open logins).
    pub handshakes_evicted: u64,
    /// Logins in progress never finished within the handshake timeout (those past RAKP 2 are
    /// counted as [`LoginFailure::AbandonedAfterRakp2`] as well).
    pub handshakes_expired: u64,
}

impl ServerStats {
    /// The failed logins for one reason.
    pub fn failed(&self, why: LoginFailure) -> u64 {
        self.logins_failed[why as usize]
    }

    /// Counts a failed login.
    pub(crate) fn fail(&mut self, why: LoginFailure) {
        self.logins_failed[why as usize] += 1;
    }

    /// Adds `other`'s counts to these (to sum the servers of several BMCs).
    pub fn add(&mut self, other: &ServerStats) {
        self.sessions_open += other.sessions_open;
        self.opened_rmcp_plus += other.opened_rmcp_plus;
        self.opened_ipmi15 += other.opened_ipmi15;
        self.closed_by_request += other.closed_by_request;
        self.closed_idle += other.closed_idle;
        for (sum, n) in self.logins_failed.iter_mut().zip(other.logins_failed) {
            *sum += n;
        }
        self.lockouts += other.lockouts;
        self.handshakes_evicted += other.handshakes_evicted;
        self.handshakes_expired += other.handshakes_expired;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_index_their_own_counts_and_sums_add_up() {
        for (i, why) in LoginFailure::ALL.iter().enumerate() {
            assert_eq!(*why as usize, i, "{why:?}");
        }
        let mut a = ServerStats::default();
        a.fail(LoginFailure::BadPassword);
        a.opened_rmcp_plus = 2;
        let mut sum = a;
        sum.add(&a);
        assert_eq!(sum.failed(LoginFailure::BadPassword), 2);
        assert_eq!(sum.failed(LoginFailure::UnknownUser), 0);
        assert_eq!(sum.opened_rmcp_plus, 4);
    }
}
