//! Serial over LAN inside a session (IPMI 2.0 section 15): the one SOL instance of a BMC, its
//! packet stream to and from the remote console, and what the runtime must do for it.
//!
//! The console's characters go out in packets numbered 1..=15, one at a time: a packet waits for
//! its acknowledgement and is sent again, unchanged, every retry interval up to the retry count
//! (clients drop a repeated packet by its number). An acknowledgement may accept only part of a
//! packet; the rest goes out again in the next packet. A NACK, or the console deasserting CTS,
//! holds the output until the console sends a packet without it. Characters from the console are
//! taken as far as the input buffer has room and acknowledged with the count taken; a packet
//! repeated (the same number as the last) is acknowledged again and not taken twice.
//!
//! Sans-IO like the rest: the server feeds packets in, [`Sol::output`] takes the console's
//! output, and [`Sol::poll`] says what to send, what to type into the console, what happened,
//! and when to poll again.

use super::action::Action;
use super::cipher_suite::{ConfidentialityAlgorithm, IntegrityAlgorithm};
use super::seal::{open_v20_as, seal_v20_as, Keys};
use super::seqwin;
use super::sol_config::{SolConfig, SolParameters};
use super::table::{Protocol, Session, SessionTable};
use crate::types::Privilege;
use crate::wire::ipmi20::{self, PayloadType};
use crate::wire::sol::{self as wire, next_seq, op, status};
use rand::RngCore;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

/// The most characters in one packet (the accepted-character count is one byte).
pub const MAX_CHARS: usize = 255;
/// The console output held for the remote console at most; beyond it the runtime stops reading
/// the console until the remote console has taken some (flow control, as CTS would).
pub const OUTPUT_BUFFER: usize = 64 * 1024;
/// The characters from the remote console held for the machine's console at most.
pub const INPUT_BUFFER: usize = 4096;

/// A session that activated or deactivated SOL, for the audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SolSession {
    /// The session's user.
    pub user: String,
    /// The remote console's address.
    pub peer: SocketAddr,
    /// The session's privilege when it acted.
    pub privilege: Privilege,
}

/// Something that happened to the SOL instance, for the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SolEvent {
    /// An instance was activated by `user` from `peer`: connect the console to it.
    Activated {
        /// The session's user.
        user: String,
        /// The remote console's address.
        peer: SocketAddr,
        /// The session's privilege.
        privilege: Privilege,
    },
    /// The instance ended.
    Deactivated {
        /// Why, for the log.
        why: &'static str,
        /// The other session that ended it (Deactivate Payload from another session), if one
        /// did: the audit names who ended whose console.
        by: Option<SolSession>,
    },
    /// The remote console asked for a break on the serial line.
    Break,
}

/// What the runtime must do for SOL now.
#[derive(Debug, Default)]
pub struct SolPoll {
    /// Datagrams to send.
    pub send: Vec<(SocketAddr, Vec<u8>)>,
    /// Characters typed at the remote console, for the machine's console.
    pub input: Vec<u8>,
    /// What happened since the last poll.
    pub events: Vec<SolEvent>,
    /// When to poll again at the latest (a packet to send again, characters to send).
    pub next: Option<Instant>,
}

/// A packet sent and not yet acknowledged.
struct InFlight {
    seq: u8,
    flags: u8,
    data: Vec<u8>,
    sent_at: Instant,
    sends: u8,
}

/// The active instance.
struct Instance {
    session_id: u32,
    peer: SocketAddr,
    /// (encrypted, authenticated), as activated.
    protection: (bool, bool),
    /// Console output not yet in a packet, and since when the oldest of it waits.
    pending: VecDeque<u8>,
    pending_since: Option<Instant>,
    in_flight: Option<InFlight>,
    next_seq: u8,
    /// The console NACKed or deasserted CTS: hold the output.
    held: bool,
    /// Characters the console did not take wait first, to go out at once.
    urgent: bool,
    /// Characters were given up on: the next packet says so (transmit overrun).
    overrun: bool,
    /// The last packet taken from the console and how many of its characters.
    last_in: (u8, u8),
}

/// The SOL state of a BMC: its configuration and its one instance.
pub(crate) struct Sol {
    pub(crate) params: SolParameters,
    /// Boxed: most BMCs have none, most of the time (thousands in one process).
    active: Option<Box<Instance>>,
    input: Vec<u8>,
    events: Vec<SolEvent>,
    send: Vec<(SocketAddr, Vec<u8>)>,
    /// Something for the runtime to do.
    dirty: bool,
    /// Someone else types into the console (the runtime's browser console): no instance may
    /// be activated meanwhile, as if one were active in another session.
    taken_elsewhere: bool,
}

/// Whether a session's cipher suite can encrypt, and authenticate, its packets.
pub(crate) fn suite_can(s: &Session) -> (bool, bool) {
    match &s.protocol {
        Protocol::V20 { suite, .. } => (
            suite.confidentiality != ConfidentialityAlgorithm::None,
            suite.integrity != IntegrityAlgorithm::None,
        ),
        Protocol::V15 { .. } => (false, false),
    }
}

/// Seals a SOL payload for session `s`, protected as activated, under its next sequence number.
fn seal(
    s: &mut Session,
    protection: (bool, bool),
    payload: &[u8],
    rng: &mut impl RngCore,
) -> Option<Vec<u8>> {
    let Protocol::V20 {
        suite,
        console_id,
        k1,
        k2,
        out_seq_unauth,
        ..
    } = &mut s.protocol
    else {
        return None;
    };
    // Packets without integrity are numbered apart (section 6.12.13).
    let counter = if protection.1 && suite.integrity != IntegrityAlgorithm::None {
        &mut s.out_seq
    } else {
        out_seq_unauth
    };
    let seq = *counter;
    *counter = seqwin::next(seq);
    let keys = Keys {
        suite: *suite,
        k1,
        k2,
    };
    Some(seal_v20_as(
        PayloadType::SOL,
        *console_id,
        seq,
        payload,
        Some(keys),
        protection,
        rng,
    ))
}

impl Sol {
    pub(crate) fn new(config: SolConfig) -> Self {
        Sol {
            params: SolParameters::new(config),
            active: None,
            input: Vec::new(),
            events: Vec::new(),
            send: Vec::new(),
            dirty: false,
            taken_elsewhere: false,
        }
    }

    pub(crate) fn config(&self) -> &SolConfig {
        &self.params.config
    }

    /// The session the instance runs in, if one is active.
    pub(crate) fn active_session(&self) -> Option<u32> {
        self.active.as_ref().map(|i| i.session_id)
    }

    /// Whether someone outside SOL types into the console now.
    pub(crate) fn taken_elsewhere(&self) -> bool {
        self.taken_elsewhere
    }

    /// Takes the console's keyboard for a writer outside SOL (`true`), or gives it back.
    /// Refused (false) while an instance is active: one writer at a time.
    pub(crate) fn take_elsewhere(&mut self, take: bool) -> bool {
        if take && self.active.is_some() {
            return false;
        }
        self.taken_elsewhere = take;
        true
    }

    /// Whether the runtime has something to do ([`Sol::poll`]).
    pub(crate) fn dirty(&self) -> bool {
        self.dirty
    }

    /// Starts the instance in session `s`.
    pub(crate) fn activate(&mut self, s: &Session, protection: (bool, bool)) {
        self.active = Some(Box::new(Instance {
            session_id: s.id,
            peer: s.peer,
            protection,
            pending: VecDeque::new(),
            pending_since: None,
            in_flight: None,
            next_seq: 1,
            held: false,
            urgent: false,
            overrun: false,
            last_in: (0, 0),
        }));
        self.input.clear();
        self.events.push(SolEvent::Activated {
            user: s.user_name.clone(),
            peer: s.peer,
            privilege: s.privilege,
        });
        self.dirty = true;
        tracing::info!(user = ?s.user_name, peer = %s.peer, privilege = %s.privilege, encrypted = protection.0, authenticated = protection.1, "SOL activated");
    }

    /// Ends the instance. If `notify` holds the session it ran in (deactivated by another
    /// session, `by`), its console is told: a last packet with "SOL deactivating", then an
    /// empty datagram, on which ipmitool ends with "SOL session closed by BMC".
    pub(crate) fn deactivate(
        &mut self,
        why: &'static str,
        (notify, by): (Option<&mut Session>, Option<SolSession>),
        rng: &mut impl RngCore,
    ) {
        let Some(i) = self.active.take() else {
            return;
        };
        if let Some(s) = notify.filter(|s| s.id == i.session_id) {
            let last = wire::Repr {
                seq: i.next_seq,
                flags: status::DEACTIVATING,
                ..wire::Repr::default()
            };
            if let Some(bytes) = seal(s, i.protection, &last.to_bytes(), rng) {
                self.send.push((i.peer, bytes));
                self.send.push((i.peer, Vec::new()));
            }
        }
        self.input.clear();
        self.dirty = true;
        match &by {
            Some(b) => {
                tracing::info!(peer = %i.peer, why, by = ?b.user, by_peer = %b.peer, by_privilege = %b.privilege, "SOL deactivated")
            }
            None => tracing::info!(peer = %i.peer, why, "SOL deactivated"),
        }
        self.events.push(SolEvent::Deactivated { why, by });
    }

    /// Ends the instance if its session is gone (closed or timed out).
    pub(crate) fn forget_missing(&mut self, table: &SessionTable, rng: &mut impl RngCore) {
        if let Some(id) = self.active_session() {
            if !table.sessions.contains_key(&id) {
                self.deactivate("its session ended", (None, None), rng);
            }
        }
    }

    /// How much console output [`Sol::output`] takes now (0 without an instance: nothing is
    /// held for nobody, and the runtime need not wait).
    pub(crate) fn room(&self) -> usize {
        self.active
            .as_ref()
            .map_or(0, |i| OUTPUT_BUFFER.saturating_sub(i.pending.len()))
    }

    /// Takes console output for the remote console: as much as there is room for.
    pub(crate) fn output(&mut self, now: Instant, data: &[u8]) -> usize {
        let room = self.room();
        let Some(i) = self.active.as_mut() else {
            return 0;
        };
        let n = data.len().min(room);
        if n > 0 {
            i.pending.extend(&data[..n]);
            i.pending_since.get_or_insert(now);
            self.dirty = true;
        }
        n
    }

    /// A SOL packet in session `id` from `peer` (RMCP+ checked view, session ID known).
    pub(crate) fn packet(
        &mut self,
        table: &mut SessionTable,
        rng: &mut impl RngCore,
        now: Instant,
        peer: SocketAddr,
        packet: &ipmi20::Packet<&[u8]>,
    ) -> Action {
        let Some(s) = table.sessions.get_mut(&packet.session_id()) else {
            return Action::Drop("SOL packet for an unknown session");
        };
        if s.peer.ip() != peer.ip() {
            return Action::Drop("session belongs to another address");
        }
        let Some(i) = self.active.as_mut().filter(|i| i.session_id == s.id) else {
            return Action::Drop("SOL packet in a session without SOL");
        };
        let Protocol::V20 {
            suite,
            k1,
            k2,
            in_unauth,
            ..
        } = &mut s.protocol
        else {
            return Action::Drop("SOL packet in an IPMI 1.5 session");
        };
        let keys = Keys {
            suite: *suite,
            k1,
            k2,
        };
        let bytes = match open_v20_as(packet, &keys, i.protection) {
            Ok(b) => b,
            Err(e) => return Action::Drop(e.reason()),
        };
        let window = if i.protection.1 && suite.integrity != IntegrityAlgorithm::None {
            &mut s.inbound
        } else {
            in_unauth
        };
        if !window.accept(packet.sequence()) {
            return Action::Drop("session sequence number replayed or out of window");
        }
        let Ok(p) = wire::Repr::parse(&bytes) else {
            return Action::Drop("malformed SOL packet");
        };
        s.last_activity = now;
        s.replay = None;
        let repeat = p.seq != 0 && p.seq == i.last_in.0;
        if repeat {
            // The console missed our acknowledgement and sent the packet again (clients keep
            // its number for that): the same answer, and nothing typed twice.
            tracing::debug!(
                seq = p.seq,
                accepted = i.last_in.1,
                "SOL packet repeated: acknowledged again, its characters not taken again"
            );
        } else {
            self.operations(&p);
        }
        let i = self.active.as_mut().expect("still active");
        if p.ack_seq != 0 {
            acked(i, &p, now);
            self.dirty = true;
        }
        if p.seq == 0 {
            return Action::Drop("SOL acknowledgement: nothing to answer");
        }
        if !repeat {
            let room = INPUT_BUFFER.saturating_sub(self.input.len());
            let n = p.data.len().min(room).min(MAX_CHARS);
            self.input.extend_from_slice(&p.data[..n]);
            i.last_in = (p.seq, n as u8);
            if n > 0 {
                self.dirty = true;
            }
        }
        let ack = wire::Repr {
            ack_seq: i.last_in.0,
            accepted: i.last_in.1,
            ..wire::Repr::default()
        };
        let protection = i.protection;
        match seal(s, protection, &ack.to_bytes(), rng) {
            Some(bytes) => Action::Reply(bytes),
            None => Action::Drop("session cannot carry SOL"),
        }
    }

    /// The operation bits of a new packet from the console.
    fn operations(&mut self, p: &wire::Repr) {
        let Some(i) = self.active.as_mut() else {
            return;
        };
        if p.has(op::FLUSH_OUTBOUND) {
            i.pending.clear();
            i.pending_since = None;
            i.in_flight = None;
        }
        if p.has(op::FLUSH_INBOUND) {
            self.input.clear();
        }
        if p.has(op::BREAK) {
            self.events.push(SolEvent::Break);
            self.dirty = true;
        }
        let hold = p.has(op::DEASSERT_CTS) || (p.has(op::NACK) && p.ack_seq != 0);
        if i.held && !hold {
            self.dirty = true;
        }
        i.held = hold;
    }

    /// What the runtime must do now: packets to send or send again, input for the console,
    /// events; and when to come back.
    pub(crate) fn poll(
        &mut self,
        table: &mut SessionTable,
        rng: &mut impl RngCore,
        now: Instant,
    ) -> SolPoll {
        self.dirty = false;
        let mut out = SolPoll {
            send: std::mem::take(&mut self.send),
            input: std::mem::take(&mut self.input),
            events: std::mem::take(&mut self.events),
            next: None,
        };
        let config = self.params.config.clone();
        let Some(i) = self.active.as_mut() else {
            return out;
        };
        let Some(s) = table.sessions.get_mut(&i.session_id) else {
            return out;
        };
        if let Some(f) = i.in_flight.as_mut() {
            let due = f.sent_at + config.retry_after();
            if now < due {
                out.next = Some(due);
                return out;
            }
            if f.sends > config.retry_count {
                // Given up: the characters are lost for this console (the log keeps them).
                tracing::warn!(peer = %i.peer, chars = f.data.len(), "SOL packet not acknowledged after the retries: dropped");
                i.in_flight = None;
                i.overrun = true;
            } else {
                let p = wire::Repr {
                    seq: f.seq,
                    flags: f.flags,
                    data: f.data.clone(),
                    ..wire::Repr::default()
                };
                f.sends += 1;
                f.sent_at = now;
                out.send
                    .extend(seal(s, i.protection, &p.to_bytes(), rng).map(|b| (i.peer, b)));
                out.next = Some(now + config.retry_after());
                return out;
            }
        }
        if i.pending.is_empty() || i.held {
            out.next = i.held.then(|| now + config.retry_after());
            return out;
        }
        let since = *i.pending_since.get_or_insert(now);
        let ready = i.urgent
            || i.pending.len() >= usize::from(config.send_threshold.max(1))
            || now >= since + config.accumulate();
        if !ready {
            out.next = Some(since + config.accumulate());
            return out;
        }
        let n = i.pending.len().min(MAX_CHARS);
        let data: Vec<u8> = i.pending.drain(..n).collect();
        i.pending_since = (!i.pending.is_empty()).then_some(now);
        i.urgent = false;
        let seq = i.next_seq;
        i.next_seq = next_seq(seq);
        let flags = if std::mem::take(&mut i.overrun) {
            status::TRANSMIT_OVERRUN
        } else {
            0
        };
        let p = wire::Repr {
            seq,
            flags,
            data: data.clone(),
            ..wire::Repr::default()
        };
        out.send
            .extend(seal(s, i.protection, &p.to_bytes(), rng).map(|b| (i.peer, b)));
        i.in_flight = Some(InFlight {
            seq,
            flags,
            data,
            sent_at: now,
            sends: 1,
        });
        out.next = Some(now + config.retry_after());
        out
    }
}

/// The console acknowledged (or NACKed) packet `p.ack_seq`.
fn acked(i: &mut Instance, p: &wire::Repr, now: Instant) {
    let Some(f) = i.in_flight.as_ref().filter(|f| f.seq == p.ack_seq) else {
        return;
    };
    let taken = if p.has(op::NACK) {
        0
    } else {
        usize::from(p.accepted).min(f.data.len())
    };
    let f = i.in_flight.take().expect("checked");
    // What was not taken goes out first in the next packet, under a new number.
    for b in f.data[taken..].iter().rev() {
        i.pending.push_front(*b);
    }
    // Sent at once: it has waited its accumulate interval already.
    i.urgent = !i.pending.is_empty();
    i.pending_since.get_or_insert(now);
}
