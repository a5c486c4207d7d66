//! Graceful shutdown of `serve`: the first SIGTERM or SIGINT stops taking new sessions and new
//! requests, lets the requests in flight be answered and their clients close their sessions,
//! closes every BMC and the sessions left, and exits 0; a second signal exits at once (see
//! `Fleet::shut_down`). SIGHUP asks for a reload of the configuration instead (`crate::reload`).

use backend_config::REQUEST_DEADLINE;
use ipmi_proto::wire::{ipmi15, ipmi20, rmcp};
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// How long the requests in flight get to be answered. Every request is answered within
/// [`REQUEST_DEADLINE`] (by its backend, or with 0xC3 at the deadline), so this lets each one
/// end the way it would have without the shutdown; the margin covers sealing and sending.
pub const DRAIN: Duration = REQUEST_DEADLINE.saturating_add(Duration::from_secs(1));

/// SIGTERM, SIGINT and SIGHUP, caught from the moment this is made (so that a signal during
/// start-up is not lost, nor kills the process half-way).
pub struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

/// What a signal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    /// To end (SIGTERM, SIGINT).
    Stop(Stop),
    /// To read the configuration again (SIGHUP).
    Reload,
}

/// A signal that asks the process to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM: systemd, Kubernetes, `kill`.
    Term,
    /// SIGINT: Ctrl-C.
    Int,
}

impl Stop {
    /// The signal's name, for the log.
    pub fn name(self) -> &'static str {
        match self {
            Stop::Term => "SIGTERM",
            Stop::Int => "SIGINT",
        }
    }

    /// The exit status of a process ended at once by a second such signal: 128 + the signal's
    /// number, as the shell reports a death by that signal.
    pub fn exit_status(self) -> u8 {
        match self {
            Stop::Term => 128 + 15,
            Stop::Int => 128 + 2,
        }
    }
}

impl Signals {
    /// Starts catching SIGTERM, SIGINT and SIGHUP (inside the tokio runtime).
    pub fn catch() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The next SIGTERM, SIGINT or SIGHUP.
    pub async fn next(&mut self) -> Asked {
        tokio::select! {
            _ = self.term.recv() => Asked::Stop(Stop::Term),
            _ = self.int.recv() => Asked::Stop(Stop::Int),
            _ = self.hup.recv() => Asked::Reload,
        }
    }
}

/// How `serve` ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// Drained (or the drain's deadline passed): exit 0.
    Clean,
    /// A second signal during the drain: exit at once.
    Forced(Stop),
}

/// Whether a datagram belongs to an open session (a non-zero session ID), which a shutting-down
/// BMC still takes so that its clients can close their sessions. Everything that opens one
/// (Get Channel Authentication Capabilities, Get Session Challenge, the RMCP+ Open Session and
/// RAKP messages) travels outside a session, as do ASF presence pings: all dropped.
pub fn in_session(datagram: &[u8]) -> bool {
    let Ok(packet) = rmcp::Packet::new_checked(datagram) else {
        return false;
    };
    if packet.class() != rmcp::Class::Ipmi {
        return false;
    }
    let body = packet.payload();
    match ipmi20::is_rmcp_plus(body) {
        Some(true) => ipmi20::Packet::new_checked(body).is_ok_and(|p| p.session_id() != 0),
        Some(false) => ipmi15::Packet::new_checked(body).is_ok_and(|p| p.session_id() != 0),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::in_session;

    const RMCP_IPMI: [u8; 4] = [0x06, 0x00, 0xff, 0x07];

    fn rmcp_plus(payload_type: u8, session_id: u32) -> Vec<u8> {
        let mut d = RMCP_IPMI.to_vec();
        d.extend([0x06, payload_type]);
        d.extend(session_id.to_le_bytes());
        d.extend(0u32.to_le_bytes());
        d.extend(4u16.to_le_bytes());
        d.extend([0; 4]);
        d
    }

    fn ipmi15(session_id: u32) -> Vec<u8> {
        let mut d = RMCP_IPMI.to_vec();
        d.push(0x00);
        d.extend(0u32.to_le_bytes());
        d.extend(session_id.to_le_bytes());
        d.push(7);
        d.extend([0x20, 0x18, 0xc8, 0x81, 0x00, 0x38, 0x47]);
        d
    }

    #[test]
    fn only_datagrams_of_open_sessions_are_in_session() {
        let ping = [
            0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe, 0x80, 0x01, 0x00, 0x00,
        ];
        assert!(!in_session(&ping));
        assert!(!in_session(&rmcp_plus(0x10, 0)), "Open Session Request");
        assert!(!in_session(&rmcp_plus(0x12, 0)), "RAKP 1");
        assert!(
            in_session(&rmcp_plus(0xc0, 0x0102_0304)),
            "an IPMI request in a session"
        );
        assert!(
            !in_session(&ipmi15(0)),
            "Get Channel Authentication Capabilities"
        );
        assert!(in_session(&ipmi15(0x0a0b_0c0d)));
        assert!(!in_session(&[]));
        assert!(!in_session(&RMCP_IPMI));
        assert!(!in_session(&rmcp_plus(0xc0, 7)[..12]), "truncated");
    }
}
