//! The server fed a sequence of datagrams from several peers, with the clock advancing.
//!
//! Input: datagrams separated by [`MARK`] plus one control byte. A file without a mark is one
//! datagram from the first peer, so a single captured datagram is a valid input as it is. The
//! control byte before each following datagram says: bits 0-1 the peer (of [`peers`]), bits 2-4
//! a clock step (of [`STEPS`](super::fixtures::STEPS)), bit 5 run the periodic `expire` first,
//! bit 6 leave dispatched requests unanswered (they stay in flight).
//!
//! The server is [`fixtures::server`](super::fixtures::server): fixed RNG, so a recorded login
//! replays and the fuzzer can go on from any handshake state. Besides not panicking, every reply
//! must pass [`check_reply`], every dispatched request [`check_dispatch`], and the session table
//! [`check_server`].

use super::checks::{check_dispatch, check_reply, check_server};
use super::fixtures::{answer, peers, server, Clock};
use ipmi_proto::session::Action;

/// Separates datagrams in the input.
pub const MARK: &[u8] = b"#dg#";

/// Splits an input into (control byte, datagram) pairs; the first has control byte 0.
pub fn split(data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut ctrl = 0;
    let mut rest = data;
    loop {
        match rest.windows(MARK.len()).position(|w| w == MARK) {
            Some(i) => {
                out.push((ctrl, &rest[..i]));
                let after = &rest[i + MARK.len()..];
                let Some((&c, tail)) = after.split_first() else {
                    return out;
                };
                ctrl = c;
                rest = tail;
            }
            None => {
                out.push((ctrl, rest));
                return out;
            }
        }
    }
}

/// Joins datagrams into an input that [`split`] takes apart again.
pub fn join(datagrams: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (ctrl, d)) in datagrams.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(MARK);
            out.push(*ctrl);
        }
        out.extend_from_slice(d);
    }
    out
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut server = server();
    let mut clock = Clock::new();
    let peers = peers();
    for (ctrl, datagram) in split(data) {
        clock.advance(ctrl >> 2 & 7);
        if ctrl & 0x20 != 0 {
            server.expire(clock.now());
        }
        let peer = peers[usize::from(ctrl & 3) % peers.len()];
        match server.handle(clock.now(), peer, datagram) {
            Action::Reply(bytes) => check_reply(&bytes),
            Action::Dispatch(req) => {
                check_dispatch(server.config(), &req);
                if ctrl & 0x40 == 0 {
                    let (ccode, body) = answer(&req);
                    if let Some(bytes) = server.seal(clock.now(), &req.context, ccode, &body) {
                        check_reply(&bytes);
                    }
                }
            }
            Action::Drop(_) => {}
        }
        check_server(&server);
    }
}
