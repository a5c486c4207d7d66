//! The real clients fed genuine, mutated, stale and arbitrary answers in every login phase.
//!
//! The first input byte picks the mode ([`MODES`]) and whether the client has the right password;
//! the rest is a list of ops (tag byte, length byte, data; see the `OP_` constants). The client
//! talks to the harness's server in memory: `OP_GENUINE` hands it the server's real answer to
//! what it last sent, which moves the login on (after Get Channel Authentication Capabilities,
//! cipher suites / Get Session Challenge, Open Session, RAKP 2, RAKP 4 / Activate Session, Set
//! Session Privilege, then in the session), and the other ops feed it something else at that
//! point. Properties, besides not panicking:
//! - in the session (modes with integrity), an answer changed where its integrity check covers is
//!   never taken;
//! - an in-session answer the client already took is never taken again (replay), IPMI 1.5's
//!   Activate Session answer included;
//! - a set-up answer (Open Session Response, RAKP 2, RAKP 4) with another console session ID is
//!   ignored, not taken as an error that ends the login (issue 11, defect 7);
//! - in the session, an answer to an earlier request is not taken as the answer to the latest
//!   one (issue 11, defect 1).

use super::checks::{differs_in_covered, in_session};
use super::fixtures::{answer, peers, server, Clock, ADMIN};
use super::input::{mutate, Reader};
use super::real::{Mode, Real, MODES};
use ipmi_proto::session::{Action, ClientEvent, Server};
use ipmi_proto::types::NetFn;
use ipmi_proto::wire::ipmi20::{self, PayloadType};
use ipmi_proto::wire::rakp::{OpenSessionResponse, Rakp2, Rakp4};
use ipmi_proto::wire::rmcp;
use std::net::SocketAddr;

/// The server's answer to what the client last sent.
pub const OP_GENUINE: u8 = 0;
/// That answer mutated by the op's data ([`mutate`]).
pub const OP_MUTATED: u8 = 1;
/// The op's data as the datagram.
pub const OP_RAW: u8 = 2;
/// The client retransmits; the server's answer to that becomes the genuine one.
pub const OP_RETRANSMIT: u8 = 3;
/// `[netfn, cmd, data...]`: the client sends a request (in the session).
pub const OP_REQUEST: u8 = 4;
/// `[index]`: an earlier genuine answer again.
pub const OP_STALE: u8 = 5;
const OPS: u8 = 6;

/// A genuine answer of the server, and to which datagram and request of the client.
struct Answer {
    to: u32,
    request: u32,
    bytes: Vec<u8>,
    delivered: bool,
}

struct World {
    mode: Mode,
    server: Server,
    clock: Clock,
    peer: SocketAddr,
    client: Real,
    /// What the client last sent, and its serial number.
    out: Vec<u8>,
    serial: u32,
    /// The number of the request `out` carries: a retransmission carries the same request, so
    /// an answer to an earlier copy of it answers it as well as the answer to this copy.
    request: u32,
    /// The request whose answer the client took last.
    answered: Option<u32>,
    /// Whether `out` has been handed to the server.
    sent: bool,
    answers: Vec<Answer>,
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Reader::new(data);
    let Some(sel) = input.byte() else {
        return;
    };
    let mode = MODES[usize::from(sel) % MODES.len()];
    let (user, password) = ADMIN;
    let wrong = b"not-the-password";
    let password: &[u8] = if sel / 6 % 2 == 1 { wrong } else { password };
    let mut client = Real::new(mode, user, password);
    let out = client.start();
    let mut w = World {
        mode,
        server: server(),
        clock: Clock::new(),
        peer: peers()[0],
        client,
        out,
        serial: 0,
        request: 0,
        answered: None,
        sent: false,
        answers: Vec::new(),
    };
    while let (Some(tag), Some(chunk)) = (input.byte(), input.chunk()) {
        let go_on = match tag % OPS {
            OP_GENUINE => w.genuine().is_none_or(|i| w.feed_answer(i, None)),
            OP_MUTATED => w.genuine().is_none_or(|i| w.feed_answer(i, Some(chunk))),
            OP_RAW => {
                let event = w.client.handle(chunk);
                w.after(event)
            }
            OP_RETRANSMIT => {
                let out = w.client.retransmission();
                w.sends(out, false);
                true
            }
            OP_REQUEST => {
                if let [netfn, cmd, data @ ..] = chunk {
                    if let Ok(out) = w.client.request(NetFn(netfn & 0x3f), *cmd, data) {
                        w.sends(out, true);
                    }
                }
                true
            }
            _ => match chunk.first() {
                Some(&i) if !w.answers.is_empty() => {
                    w.feed_answer(usize::from(i) % w.answers.len(), None)
                }
                _ => true,
            },
        };
        if !go_on {
            return;
        }
    }
}

impl World {
    /// The client sends `out`: a new request, or a copy of the last one.
    fn sends(&mut self, out: Vec<u8>, new_request: bool) {
        self.out = out;
        self.serial += 1;
        self.request += u32::from(new_request);
        self.sent = false;
    }

    /// Checks that the client took at most one answer per request, and notes the one taken.
    fn took(&mut self, request: u32) {
        assert_ne!(
            self.answered,
            Some(request),
            "{:?}: the client took two answers to one request",
            self.mode
        );
        self.answered = Some(request);
    }

    /// The index of the server's answer to `out`, asking the server once.
    fn genuine(&mut self) -> Option<usize> {
        if !self.sent {
            self.sent = true;
            let now = self.clock.now();
            let bytes = match self.server.handle(now, self.peer, &self.out) {
                Action::Reply(bytes) => Some(bytes),
                Action::Dispatch(req) => {
                    let (ccode, body) = answer(&req);
                    self.server.seal(now, &req.context, ccode, &body)
                }
                Action::Drop(_) => None,
            };
            if let Some(bytes) = bytes {
                self.answers.push(Answer {
                    to: self.serial,
                    request: self.request,
                    bytes,
                    delivered: false,
                });
            }
        }
        let i = self.answers.len().checked_sub(1)?;
        (self.answers[i].to == self.serial).then_some(i)
    }

    /// Feeds answer `i`, mutated by `spec` if given. False once the client gave up.
    fn feed_answer(&mut self, i: usize, spec: Option<&[u8]>) -> bool {
        let genuine = self.answers[i].bytes.clone();
        let Some(spec) = spec else {
            let replayed = self.answers[i].delivered && in_session(&genuine);
            // An answer to an earlier copy of the same request answers it too.
            let stale = self.answers[i].request != self.request;
            let active = self.client.is_active();
            let event = self.client.handle(&genuine);
            let taken = matches!(event, Ok(ClientEvent::Response(_)));
            // Delivered means taken: one ignored (say, ahead of the window) may be taken later.
            self.answers[i].delivered |= matches!(
                event,
                Ok(ClientEvent::Response(_) | ClientEvent::Established | ClientEvent::Send(_))
            );
            assert!(
                !(replayed && taken),
                "{:?}: the client took a replayed answer: {genuine:02x?}",
                self.mode
            );
            assert!(
                !(active && stale && taken),
                "{:?} (defect 1): the client took the answer to an earlier request",
                self.mode
            );
            if taken {
                self.took(self.answers[i].request);
            }
            return self.after(event);
        };
        let forged = mutate(&genuine, spec);
        let active = self.client.is_active();
        let event = self.client.handle(&forged);
        let strict_integrity =
            active && self.mode.has_integrity() && differs_in_covered(&genuine, &forged);
        assert!(
            !(strict_integrity && matches!(event, Ok(ClientEvent::Response(_)))),
            "{:?}: the client took a forged answer:\n genuine {genuine:02x?}\n forged  {forged:02x?}",
            self.mode
        );
        if matches!(event, Ok(ClientEvent::Response(_))) {
            // Without integrity (suite 1) a changed answer can be taken, for the request.
            self.took(self.request);
        }
        if let (Some(a), Some(b)) = (console_id(&genuine), console_id(&forged)) {
            assert!(
                a == b || matches!(event, Ok(ClientEvent::Ignored)),
                "{:?} (defect 7): a set-up answer for console session {b:#x} (ours {a:#x}) gave {event:?}",
                self.mode
            );
        }
        self.after(event)
    }

    /// Goes on after the client handled a datagram: false once the login failed.
    fn after(&mut self, event: Result<ClientEvent, ipmi_proto::session::ClientError>) -> bool {
        match event {
            Ok(ClientEvent::Send(next)) => {
                self.sends(next, true);
                true
            }
            Ok(_) => true,
            Err(_) => false,
        }
    }
}

/// The console session ID of an RMCP+ set-up answer (Open Session Response, RAKP 2 or RAKP 4).
fn console_id(datagram: &[u8]) -> Option<u32> {
    let p = ipmi20::Repr::parse(datagram.get(rmcp::HEADER_LEN..)?).ok()?;
    match p.header.payload_type {
        PayloadType::OPEN_SESSION_RESPONSE => OpenSessionResponse::parse(p.payload)
            .ok()
            .map(|r| r.console_session_id),
        PayloadType::RAKP2 => Rakp2::parse(p.payload).ok().map(|r| r.console_session_id),
        PayloadType::RAKP4 => Rakp4::parse(p.payload).ok().map(|r| r.console_session_id),
        _ => None,
    }
}
