//! The clients against the server in memory, with the faults a network brings: answers that come
//! late or twice, and answers forged by someone who saw the login start.

use super::{client15_login, client_login, peer, reply, server, server_with, v20_setup};
use crate::session::action::Action;
use crate::session::config::ServerConfig;
use crate::session::server::Server;
use crate::session::{Client, Client15, ClientConfig, ClientError, ClientEvent, Request, Secret};
use crate::types::{CompletionCode, NetFn, Privilege};
use crate::wire::ipmi15::{self, AuthType};
use crate::wire::ipmi20::{self, PayloadType};
use crate::wire::message;
use crate::wire::rakp::{OpenSessionResponse, Rakp2, Rakp4, Status};
use std::time::Instant;

/// What the tests need of either client.
trait Console {
    fn send(&mut self, netfn: NetFn, cmd: u8, data: &[u8]) -> Vec<u8>;
    fn again(&mut self) -> Vec<u8>;
    fn take(&mut self, datagram: &[u8]) -> Result<ClientEvent, ClientError>;
}

impl Console for Client {
    fn send(&mut self, netfn: NetFn, cmd: u8, data: &[u8]) -> Vec<u8> {
        self.request(netfn, cmd, data).unwrap()
    }
    fn again(&mut self) -> Vec<u8> {
        self.retransmission()
    }
    fn take(&mut self, datagram: &[u8]) -> Result<ClientEvent, ClientError> {
        self.handle(datagram)
    }
}

impl Console for Client15 {
    fn send(&mut self, netfn: NetFn, cmd: u8, data: &[u8]) -> Vec<u8> {
        self.request(netfn, cmd, data).unwrap()
    }
    fn again(&mut self) -> Vec<u8> {
        self.retransmission()
    }
    fn take(&mut self, datagram: &[u8]) -> Result<ClientEvent, ClientError> {
        self.handle(datagram)
    }
}

fn dispatch(s: &mut Server, pkt: &[u8]) -> Request {
    match s.handle(Instant::now(), peer(), pkt) {
        Action::Dispatch(r) => r,
        other => panic!("expected a dispatched request, got {other:?}"),
    }
}

fn answer(s: &mut Server, req: &Request, data: &[u8]) -> Vec<u8> {
    s.seal(Instant::now(), &req.context, CompletionCode::OK, data)
        .expect("session alive")
}

fn response(ev: Result<ClientEvent, ClientError>) -> message::Response {
    match ev {
        Ok(ClientEvent::Response(r)) => r,
        other => panic!("expected a response, got {other:?}"),
    }
}

/// The BMC answers slower than the client's timeout: the client sends its request again and both
/// copies are answered. The second answer, still on its way when the client has moved on, must
/// not be taken as the reply to the next request.
fn late_answer_is_not_the_next_reply(c: &mut dyn Console, s: &mut Server) {
    let status = [0x01, 0x00, 0x00];
    // Get Chassis Status, sent twice, answered twice.
    let first = c.send(NetFn::CHASSIS, 0x01, &[]);
    let a = dispatch(s, &first);
    let answer_a = answer(s, &a, &status);
    let a2 = dispatch(s, &c.again());
    let late = answer(s, &a2, &status);
    let r = response(c.take(&answer_a));
    assert_eq!((r.cmd, r.data.as_slice()), (0x01, &status[..]));
    // A third copy answered before any new request: nothing is outstanding, it is nobody's.
    let a3 = dispatch(s, &c.again());
    let dup = answer(s, &a3, &status);
    assert_eq!(
        c.take(&dup),
        Ok(ClientEvent::Ignored),
        "answer with nothing outstanding"
    );
    // Chassis Control (power off): the late Get Chassis Status answer arrives first.
    let control = c.send(NetFn::CHASSIS, 0x02, &[0x00]);
    assert_eq!(
        c.take(&late),
        Ok(ClientEvent::Ignored),
        "a late Get Chassis Status answer taken as the reply to Chassis Control"
    );
    let b = dispatch(s, &control);
    let answer_b = answer(s, &b, &[]);
    let r = response(c.take(&answer_b));
    assert_eq!(
        (r.netfn, r.cmd, r.data.len()),
        (NetFn::CHASSIS.response(), 0x02, 0)
    );
}

#[test]
fn client_matches_each_answer_to_its_request() {
    let mut s = server();
    let mut c = client_login(&mut s, &[17], "admin", b"secret").unwrap();
    late_answer_is_not_the_next_reply(&mut c, &mut s);
}

#[test]
fn client15_matches_each_answer_to_its_request() {
    let mut s = server();
    let mut c = client15_login(&mut s, b"secret").unwrap();
    late_answer_is_not_the_next_reply(&mut c, &mut s);
}

/// Forged answers of the same type as `real` that anyone who saw the login start could send: an
/// error status, and (for RAKP 4) a wrong proof, each under another console session ID (0, as a
/// BMC answers when it does not know the ID, and the real one with one bit flipped).
fn forgeries(real: &[u8]) -> Vec<Vec<u8>> {
    // The first steps are answered in the IPMI 1.5 wrapper.
    let Ok(parsed) = ipmi20::Repr::parse(&real[4..]) else {
        return Vec::new();
    };
    let ty = parsed.header.payload_type;
    let mut out = Vec::new();
    let mut forge = |p: Vec<u8>| out.push(v20_setup(ty, &p));
    match ty {
        PayloadType::OPEN_SESSION_RESPONSE => {
            let r = OpenSessionResponse::parse(parsed.payload).unwrap();
            for id in [0, r.console_session_id ^ 1] {
                let mut p = Vec::new();
                OpenSessionResponse {
                    status: Status::INSUFFICIENT_RESOURCES,
                    console_session_id: id,
                    ..r
                }
                .emit(&mut p);
                forge(p);
            }
        }
        PayloadType::RAKP2 => {
            let r = Rakp2::parse(parsed.payload).unwrap();
            for id in [0, r.console_session_id ^ 1] {
                let mut p = Vec::new();
                Rakp2 {
                    status: Status::UNAUTHORIZED_NAME,
                    console_session_id: id,
                    auth_code: Vec::new(),
                    ..r.clone()
                }
                .emit(&mut p);
                forge(p);
            }
        }
        PayloadType::RAKP4 => {
            let r = Rakp4::parse(parsed.payload).unwrap();
            for id in [0, r.console_session_id ^ 1] {
                for (status, icv) in [
                    (Status::INVALID_INTEGRITY_CHECK, Vec::new()),
                    (Status::OK, vec![0; r.icv.len()]),
                ] {
                    let mut p = Vec::new();
                    Rakp4 {
                        status,
                        console_session_id: id,
                        icv,
                        ..r.clone()
                    }
                    .emit(&mut p);
                    forge(p);
                }
            }
        }
        _ => {}
    }
    out
}

/// Before each real answer of the RMCP+ login, forged errors for other console session IDs
/// arrive: the client ignores them and logs in.
#[test]
fn client_ignores_login_answers_for_other_session_ids() {
    let mut s = server();
    let mut c = Client::new(ClientConfig {
        username: "admin".into(),
        password: Secret::new(b"secret".to_vec()),
        kg: None,
        privilege: Privilege::Administrator,
        cipher_suites: vec![17],
        interface: Default::default(),
    });
    let mut out = c.start();
    let mut forged = 0;
    for _ in 0..20 {
        let Action::Reply(back) = s.handle(Instant::now(), peer(), &out) else {
            panic!("login step not answered")
        };
        for f in forgeries(&back) {
            assert_eq!(c.handle(&f), Ok(ClientEvent::Ignored), "forged {f:02x?}");
            forged += 1;
        }
        match c.handle(&back).unwrap() {
            ClientEvent::Send(next) => out = next,
            ClientEvent::Established => {
                assert_eq!(forged, 2 + 2 + 4, "every step was tried");
                return;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("login did not finish")
}

#[test]
fn own_client_logs_in_with_every_suite_and_gets_answers() {
    for suite in [17u8, 16, 15, 3, 2, 1] {
        // Suites without integrity or confidentiality are off by default: offer every one.
        let mut s = server_with(|c| ServerConfig {
            cipher_suites: vec![3, 17, 1, 2, 15, 16],
            ..c
        });
        let mut c = client_login(&mut s, &[suite], "admin", b"secret").unwrap();
        assert_eq!(c.cipher_suite(), Some(suite));
        let pkt = c.request(NetFn::CHASSIS, 0x01, &[]).unwrap();
        let Action::Dispatch(req) = s.handle(Instant::now(), peer(), &pkt) else {
            panic!("expected dispatch")
        };
        assert_eq!(req.context.privilege, Some(Privilege::Administrator));
        let out = s
            .seal(
                Instant::now(),
                &req.context,
                CompletionCode::OK,
                &[1, 0, 0x40],
            )
            .unwrap();
        match c.handle(&out).unwrap() {
            ClientEvent::Response(r) => assert_eq!(r.data, vec![1, 0, 0x40]),
            other => panic!("unexpected {other:?}"),
        }
        let close = c.close().unwrap();
        let _ = reply(s.handle(Instant::now(), peer(), &close));
        assert_eq!(s.active_sessions(), 0);
    }
}

#[test]
fn own_client_sees_wrong_password_and_missing_suite() {
    let mut s = server();
    assert_eq!(
        client_login(&mut s, &[17], "admin", b"nope").err(),
        Some(ClientError::BadPassword)
    );
    assert!(matches!(
        client_login(&mut s, &[0], "admin", b"secret").err(),
        Some(ClientError::NoCipherSuite(_))
    ));
}

#[test]
fn own_ipmi15_client_logs_in_with_md5_and_rejects_forged_answers() {
    let mut s = server();
    let mut c = client15_login(&mut s, b"secret").unwrap();
    assert!(c.is_active());
    for round in 0..3u8 {
        let pkt = c.request(NetFn::CHASSIS, 0x01, &[]).unwrap();
        let Action::Dispatch(req) = s.handle(Instant::now(), peer(), &pkt) else {
            panic!("expected dispatch in round {round}")
        };
        assert_eq!(req.context.privilege, Some(Privilege::Operator));
        let out = s
            .seal(Instant::now(), &req.context, CompletionCode::OK, &[round])
            .unwrap();
        // A copy with one bit of the message flipped fails the MD5 check and is ignored.
        let mut forged = out.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(c.handle(&forged).unwrap(), ClientEvent::Ignored);
        // The same answer without authentication (auth type NONE) is refused too.
        let (hdr, msg) = ipmi15::Repr::parse(&out[4..]).unwrap();
        let plain =
            crate::session::seal::seal_v15(AuthType::None, hdr.sequence, hdr.session_id, None, msg)
                .unwrap();
        assert_eq!(c.handle(&plain).unwrap(), ClientEvent::Ignored);
        match c.handle(&out).unwrap() {
            ClientEvent::Response(r) => assert_eq!(r.data, vec![round]),
            other => panic!("unexpected {other:?}"),
        }
        // The same answer again is a replay.
        assert_eq!(c.handle(&out).unwrap(), ClientEvent::Ignored);
    }
    let close = c.close().unwrap();
    let _ = reply(s.handle(Instant::now(), peer(), &close));
    assert_eq!(s.active_sessions(), 0);
}

#[test]
fn own_ipmi15_client_sees_wrong_password() {
    let mut s = server();
    assert!(matches!(
        client15_login(&mut s, b"wrong"),
        Err(ClientError::Completion {
            step: "Activate Session",
            ..
        })
    ));
}
