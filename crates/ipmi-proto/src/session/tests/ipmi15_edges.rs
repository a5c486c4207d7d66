//! IPMI 1.5 sessions at their edges: messages too long for the wrapper's one-byte length (both
//! ways), and the Activate Session answer replayed into the session (fuzz findings
//! `server_in_session/client15-request-over-255-bytes` and
//! `client_login/client15-takes-replayed-activate-answer`, docs/fuzzing.md).

use super::{client15_login, peer, server};
use crate::session::action::Action;
use crate::session::{Client15, ClientConfig, ClientError, ClientEvent, Interface, Secret};
use crate::types::{CompletionCode, NetFn, Privilege};
use crate::wire::{ipmi15, message, rmcp};
use std::time::Instant;

/// The longest request data an IPMI 1.5 message carries: 255 bytes less the 7 of the message's
/// own fields (addresses, NetFn/LUN, sequence, command, two checksums).
const MAX_REQUEST_DATA: usize = 248;
/// The longest response data: one byte less (the completion code).
const MAX_RESPONSE_DATA: usize = 247;

#[test]
fn client15_refuses_a_request_too_long_for_the_wrapper() {
    let mut s = server();
    let mut c = client15_login(&mut s, b"secret").unwrap();
    let too_long = [0x5a; MAX_REQUEST_DATA + 1];
    assert!(
        matches!(
            c.request(NetFn(0x30), 0x01, &too_long),
            Err(ClientError::TooLong {
                max: MAX_REQUEST_DATA
            })
        ),
        "a request whose length does not fit in one byte is an error, not a corrupt packet"
    );
    // The refusal changed nothing: the longest request that fits goes through and is answered.
    let longest = [0xa5; MAX_REQUEST_DATA];
    let pkt = c.request(NetFn(0x30), 0x01, &longest).unwrap();
    let Action::Dispatch(req) = s.handle(Instant::now(), peer(), &pkt) else {
        panic!("the longest request was not dispatched")
    };
    assert_eq!(req.data, longest);
    let back = s
        .seal(Instant::now(), &req.context, CompletionCode::OK, &[1])
        .unwrap();
    let Ok(ClientEvent::Response(r)) = c.handle(&back) else {
        panic!("the answer to the longest request was not taken")
    };
    assert_eq!((r.cmd, r.data), (0x01, vec![1]));
}

#[test]
fn server_answers_0xca_when_an_answer_is_too_long_for_ipmi15() {
    let mut s = server();
    let mut c = client15_login(&mut s, b"secret").unwrap();
    for (len, expect) in [
        (MAX_RESPONSE_DATA, CompletionCode::OK),
        (MAX_RESPONSE_DATA + 1, CompletionCode::CANNOT_RETURN_BYTES),
        (1000, CompletionCode::CANNOT_RETURN_BYTES),
    ] {
        let pkt = c.request(NetFn::STORAGE, 0x11, &[0, 0, 0, 0xff]).unwrap();
        let Action::Dispatch(req) = s.handle(Instant::now(), peer(), &pkt) else {
            panic!("not dispatched")
        };
        let back = s
            .seal(
                Instant::now(),
                &req.context,
                CompletionCode::OK,
                &vec![7; len],
            )
            .unwrap();
        let (_, msg) = ipmi15::Repr::parse(&back[rmcp::HEADER_LEN..]).expect("a whole packet");
        let r = message::Response::parse(msg).expect("a whole message");
        assert_eq!(r.ccode, expect, "{len} bytes");
        let Ok(ClientEvent::Response(taken)) = c.handle(&back) else {
            panic!("{len} bytes: the client did not take the answer")
        };
        if expect == CompletionCode::OK {
            assert_eq!(taken.data, vec![7; len]);
        } else {
            assert!(taken.data.is_empty(), "0xCA carries no data");
        }
    }
}

/// The Activate Session answer, replayed once the session is open, is not an answer in it. It
/// is authenticated and its sequence number is the first the session's window expects; unless
/// the client enters that number, the window takes it later (it is just behind the highest
/// seen), and it comes back as the response to a request of the same requester sequence number
/// and command: the 63rd request after Set Session Privilege Level, when none of them was
/// answered (lost, or a BMC slow to answer).
#[test]
fn client15_does_not_take_the_activate_answer_again() {
    let mut s = server();
    let mut c = Client15::new(ClientConfig {
        username: "admin".into(),
        password: Secret::new(b"secret".to_vec()),
        kg: None,
        privilege: Privilege::Operator,
        cipher_suites: Vec::new(),
        interface: Interface::Lan,
    });
    let mut out = c.start();
    let mut answers = Vec::new();
    loop {
        let Action::Reply(back) = s.handle(Instant::now(), peer(), &out) else {
            panic!("a login step was not answered")
        };
        answers.push(back.clone());
        match c.handle(&back).unwrap() {
            ClientEvent::Send(next) => out = next,
            ClientEvent::Established => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    // Capabilities, challenge, Activate Session, Set Session Privilege Level.
    assert_eq!(answers.len(), 4);
    let activate = answers[2].clone();
    // Requester sequence numbers 1 to 4 went to the login: 62 more wrap them round to 2.
    for _ in 0..62 {
        c.request(NetFn::CHASSIS, 0x01, &[]).unwrap();
    }
    // Activate Session again, in the session, under requester sequence number 3.
    c.request(NetFn::APP, 0x3a, &[0; 22]).unwrap();
    assert_eq!(
        c.handle(&activate),
        Ok(ClientEvent::Ignored),
        "the replayed Activate Session answer was taken in the session"
    );
}
