//! Inside an established session: what gets past the integrity check.
//!
//! A real client ([`Real`]) and the harness's [`Console`] log in to the server in memory (from
//! two ports of one address) in the mode the first input byte picks from [`MODES`]; the rest of
//! the input is a list of ops (tag byte, length byte, data; see the `OP_` constants). Properties,
//! besides not panicking and the [`checks`](super::checks) on everything the server sends:
//! - the server dispatches exactly the request the client sealed, and the client takes the
//!   server's sealed answer as the response to it (while the session is certainly alive);
//! - a sealed packet changed anywhere its integrity check covers is never accepted into the
//!   session (in modes with integrity), and does not stop the genuine packet after it;
//! - the same holds for the server's answer on its way to the client;
//! - a packet the server accepted before is dropped when it comes again (replay).

use super::checks::{check_dispatch, check_reply, check_server, differs_in_covered, in_session};
use super::console::{request_message, Console};
use super::fixtures::{answer, peers, server, Clock, ADMIN};
use super::input::{mutate, Reader};
use super::real::{login, Mode, Real, MODES};
use ipmi_proto::session::client15::MAX_REQUEST_DATA;
use ipmi_proto::session::{seqwin, Action, ClientError, ClientEvent, Request, Server};
use ipmi_proto::types::{CompletionCode, NetFn};
use ipmi_proto::wire::message;
use std::net::SocketAddr;
use std::time::Duration;

/// The real client sends `[netfn, cmd, data...]` (NetFn masked to 6 bits). The IPMI 1.5 client
/// refuses more than 248 bytes of data ([`MAX_REQUEST_DATA`]) with `ClientError::TooLong`.
pub const OP_REQUEST: u8 = 0;
/// The console seals the data as the IPMI message, as it is.
pub const OP_RAW: u8 = 1;
/// The console seals `[rs_addr, netfn|lun, rq_addr, seq|lun, cmd, data...]` with both checksums
/// put in.
pub const OP_RAW_FIXED: u8 = 2;
/// `[who, mutation spec...]`: a fresh sealed Get Device ID from the client (`who` even) or the
/// console (odd) is mutated ([`mutate`]) and sent, then the genuine one; the client's answer is
/// mutated the same way on its way back.
pub const OP_MUTATE: u8 = 3;
/// `[index]`: a packet the server accepted earlier is sent again.
pub const OP_REPLAY: u8 = 4;
/// `[step]`: the clock moves on (see [`STEPS`](super::fixtures::STEPS)) and the server expires.
pub const OP_TIME: u8 = 5;
/// The client closes its session.
pub const OP_CLOSE: u8 = 6;
/// The client retransmits its last request.
pub const OP_RETRANSMIT: u8 = 7;
const OPS: u8 = 8;

/// The most response data an IPMI 1.5 message carries (255 less the response's 8 other bytes).
const MAX_V15_ANSWER_DATA: usize = 247;

/// What the server did with a datagram.
struct Outcome {
    /// The request it dispatched, if any.
    dispatched: Option<Request>,
    /// What it sent back (its own answer, or the sealed answer to the dispatched request).
    reply: Option<Vec<u8>>,
    /// Why it dropped the datagram, if it did.
    dropped: Option<&'static str>,
}

impl Outcome {
    /// Whether the datagram was taken as part of a session.
    fn in_session(&self) -> bool {
        self.dispatched
            .as_ref()
            .is_some_and(|r| r.context.privilege.is_some())
            || self.reply.as_deref().is_some_and(in_session)
    }
}

struct World {
    mode: Mode,
    server: Server,
    clock: Clock,
    peers: [SocketAddr; 3],
    client: Real,
    console: Console,
    console_seq: u8,
    /// In-session datagrams the server accepted, with their senders.
    history: Vec<(SocketAddr, Vec<u8>)>,
    /// Per side (client, console): whether its session is certainly still open.
    certain: [bool; 2],
    /// Per side: time since the server last accepted a packet of its session.
    idle: [Duration; 2],
    /// Console packets the server dropped since it last accepted one. An IPMI 1.5 server parses
    /// the message before it checks the sequence number, so each dropped malformed message
    /// leaves a gap; after [`seqwin::AHEAD`] of them the next number is out of the window.
    console_dropped: u32,
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Reader::new(data);
    let Some(sel) = input.byte() else {
        return;
    };
    let mut w = World::new(MODES[usize::from(sel) % MODES.len()]);
    while let (Some(tag), Some(chunk)) = (input.byte(), input.chunk()) {
        match tag % OPS {
            OP_REQUEST => w.request(chunk),
            OP_RAW => w.raw(chunk.to_vec()),
            OP_RAW_FIXED => w.raw(with_checksums(chunk)),
            OP_MUTATE => w.mutated(chunk),
            OP_REPLAY => w.replay(chunk),
            OP_TIME => w.time(chunk),
            OP_CLOSE => w.close(),
            _ => w.retransmit(),
        }
        check_server(&w.server);
    }
}

/// `[rs_addr, netfn|lun, rq_addr, seq|lun, cmd, data...]` as a message with valid checksums.
fn with_checksums(chunk: &[u8]) -> Vec<u8> {
    if chunk.len() < 5 {
        return chunk.to_vec();
    }
    let mut v = chunk[..2].to_vec();
    v.push(message::checksum(&chunk[..2]));
    v.extend_from_slice(&chunk[2..]);
    v.push(message::checksum(&chunk[2..]));
    v
}

fn is_close(netfn: NetFn, cmd: u8) -> bool {
    netfn == NetFn::APP && cmd == 0x3c
}

impl World {
    fn new(mode: Mode) -> World {
        let mut server = server();
        let clock = Clock::new();
        let peers = peers();
        let client = login(&mut server, clock.now(), peers[0], mode);
        let (user, password) = ADMIN;
        let console = match mode {
            Mode::Suite(s) => {
                Console::login_v20(&mut server, clock.now(), peers[1], s, user, password)
            }
            Mode::V15 => Console::login_v15(&mut server, clock.now(), peers[1], user, password),
        };
        World {
            mode,
            server,
            clock,
            peers,
            client,
            console,
            console_seq: 0,
            history: Vec::new(),
            certain: [true; 2],
            idle: [Duration::ZERO; 2],
            console_dropped: 0,
        }
    }

    /// Hands a datagram to the server, answers a dispatched request, checks what comes out.
    fn deliver(&mut self, side: usize, datagram: &[u8]) -> Outcome {
        let now = self.clock.now();
        let mut out = Outcome {
            dispatched: None,
            reply: None,
            dropped: None,
        };
        match self.server.handle(now, self.peers[side], datagram) {
            Action::Reply(bytes) => out.reply = Some(bytes),
            Action::Dispatch(req) => {
                check_dispatch(self.server.config(), &req);
                let (ccode, body) = answer(&req);
                out.reply = self.server.seal(now, &req.context, ccode, &body);
                out.dispatched = Some(req);
            }
            Action::Drop(why) => out.dropped = Some(why),
        }
        if let Some(bytes) = &out.reply {
            check_reply(bytes);
        }
        if out.dropped.is_none() && in_session(datagram) {
            self.history.push((self.peers[side], datagram.to_vec()));
            self.idle[side] = Duration::ZERO;
        }
        out
    }

    fn request(&mut self, chunk: &[u8]) {
        let [netfn, cmd, data @ ..] = chunk else {
            return;
        };
        let (netfn, cmd) = (NetFn(netfn & 0x3f), *cmd);
        let packet = match self.client.request(netfn, cmd, data) {
            Ok(packet) => packet,
            Err(ClientError::TooLong { max }) => {
                // Once an IPMI 1.5 request made a corrupt packet instead (docs/fuzzing.md).
                assert!(
                    matches!(self.mode, Mode::V15) && max == MAX_REQUEST_DATA && data.len() > max,
                    "{:?}: {} bytes refused as too long (at most {max})",
                    self.mode,
                    data.len()
                );
                return;
            }
            Err(_) => return,
        };
        let certain = self.certain[0];
        let out = self.deliver(0, &packet);
        if let Some(req) = &out.dispatched {
            assert_eq!(
                (req.netfn, req.cmd, &req.data[..]),
                (netfn, cmd, data),
                "the server dispatched other than what the client sealed"
            );
        }
        if is_close(netfn, cmd) {
            self.certain = [false; 2];
        }
        match out.reply {
            Some(reply) => {
                let event = self.client.handle(&reply);
                if certain {
                    assert!(
                        matches!(&event, Ok(ClientEvent::Response(r))
                            if r.cmd == cmd && r.netfn == netfn.response()),
                        "the client did not take the server's answer to {netfn:?}/{cmd:#04x}: {event:?}"
                    );
                }
                if let (Ok(ClientEvent::Response(r)), Some(req)) = (&event, &out.dispatched) {
                    self.check_answer(req, r);
                }
            }
            None => assert!(
                !certain,
                "{:?}: the server dropped the client's {netfn:?}/{cmd:#04x} in an open session: {:?}",
                self.mode,
                out.dropped
            ),
        }
    }

    /// The client gets the model's answer as it was, or 0xCA without data where it is too long
    /// for an IPMI 1.5 message (once a corrupt packet, docs/fuzzing.md).
    fn check_answer(&self, req: &Request, got: &message::Response) {
        let (ccode, data) = answer(req);
        let fits = !matches!(self.mode, Mode::V15) || data.len() <= MAX_V15_ANSWER_DATA;
        let expect = if fits {
            (ccode, data)
        } else {
            (CompletionCode::CANNOT_RETURN_BYTES, Vec::new())
        };
        assert_eq!(
            (got.ccode, &got.data),
            (expect.0, &expect.1),
            "{:?}: the answer to {:?}/{:#04x} changed on its way",
            self.mode,
            req.netfn,
            req.cmd
        );
    }

    fn raw(&mut self, msg: Vec<u8>) {
        let mut msg = msg;
        msg.truncate(255);
        let parsed = message::Request::parse(&msg).ok();
        let packet = self.console.seal(&msg);
        let certain = self.certain[1] && self.console_dropped < seqwin::AHEAD;
        let out = self.deliver(1, &packet);
        self.console_dropped = if out.dropped.is_some() {
            self.console_dropped + 1
        } else {
            0
        };
        if let Some(p) = &parsed {
            if let Some(req) = &out.dispatched {
                assert_eq!(
                    (req.netfn, req.cmd, &req.data),
                    (p.netfn, p.cmd, &p.data),
                    "the server dispatched other than what the console sealed"
                );
            }
            if let (true, Some(why)) = (certain, out.dropped) {
                panic!(
                    "{:?}: the server dropped a well-formed message in an open session ({why}): {msg:02x?}",
                    self.mode
                );
            }
            if is_close(p.netfn, p.cmd) {
                self.certain = [false; 2];
            }
        }
    }

    fn mutated(&mut self, chunk: &[u8]) {
        let Some((&who, spec)) = chunk.split_first() else {
            return;
        };
        let side = usize::from(who & 1);
        let genuine = if side == 0 {
            match self.client.request(NetFn::APP, 0x01, &[]) {
                Ok(p) => p,
                Err(_) => return,
            }
        } else {
            self.console_seq = (self.console_seq + 1) & 0x3f;
            let msg = request_message(NetFn::APP, self.console_seq, 0x01, &[]);
            self.console.seal(&msg)
        };
        let forged = mutate(&genuine, spec);
        let strict = self.mode.has_integrity() && differs_in_covered(&genuine, &forged);
        let out = self.deliver(side, &forged);
        let forged_in = out.in_session();
        assert!(
            !(strict && forged_in),
            "{:?}: a forged packet got into the session:\n genuine {genuine:02x?}\n forged  {forged:02x?}",
            self.mode
        );
        if !self.mode.has_integrity() {
            // Without integrity a forgery may be anything (Close Session included), and even a
            // dropped one may have moved a sequence-number window (the window moves before the
            // message is parsed): nothing about the sessions is certain any more.
            self.certain = [false; 2];
        }
        let certain = self.certain[side] && (side == 0 || self.console_dropped < seqwin::AHEAD);
        let out = self.deliver(side, &genuine);
        if side == 1 {
            self.console_dropped = if out.dropped.is_some() {
                self.console_dropped + 1
            } else {
                0
            };
        }
        if certain && !forged_in {
            assert!(
                out.dropped.is_none(),
                "{:?}: the genuine packet was dropped after a forged one: {:?}",
                self.mode,
                out.dropped
            );
        }
        if side == 1 {
            return;
        }
        let Some(reply) = out.reply else {
            return;
        };
        let forged_reply = mutate(&reply, spec);
        let strict = self.mode.has_integrity() && differs_in_covered(&reply, &forged_reply);
        let event = self.client.handle(&forged_reply);
        let taken = matches!(
            event,
            Ok(ClientEvent::Response(_) | ClientEvent::Established)
        );
        assert!(
            !(strict && taken),
            "{:?}: the client took a forged answer:\n genuine {reply:02x?}\n forged  {forged_reply:02x?}",
            self.mode
        );
        let event = self.client.handle(&reply);
        if self.certain[0] && !taken {
            assert!(
                matches!(event, Ok(ClientEvent::Response(_))),
                "{:?}: the client refused the genuine answer after a forged one: {event:?}",
                self.mode
            );
        }
    }

    fn replay(&mut self, chunk: &[u8]) {
        if self.history.is_empty() {
            return;
        }
        let i = usize::from(chunk.first().copied().unwrap_or(0)) % self.history.len();
        let (peer, datagram) = self.history[i].clone();
        let side = usize::from(peer != self.peers[0]);
        let out = self.deliver(side, &datagram);
        assert!(
            out.dropped.is_some(),
            "{:?}: a replayed packet was not dropped: {datagram:02x?}",
            self.mode
        );
    }

    fn time(&mut self, chunk: &[u8]) {
        let step = self.clock.advance(chunk.first().copied().unwrap_or(0));
        for side in 0..2 {
            self.idle[side] += step;
            // The server closes a session idle for more than its 60 s timeout.
            if self.idle[side] >= Duration::from_secs(60) {
                self.certain[side] = false;
            }
        }
        self.server.expire(self.clock.now());
    }

    fn close(&mut self) {
        let Ok(packet) = self.client.close() else {
            return;
        };
        let out = self.deliver(0, &packet);
        self.certain[0] = false;
        if let Some(reply) = out.reply {
            let _ = self.client.handle(&reply);
        }
    }

    fn retransmit(&mut self) {
        let packet = self.client.retransmission();
        let out = self.deliver(0, &packet);
        if let Some(reply) = out.reply {
            let _ = self.client.handle(&reply);
        }
    }
}
