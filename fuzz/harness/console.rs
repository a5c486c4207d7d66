//! A minimal remote console of the harness's own, built from ipmi-proto's public wire and crypto
//! modules, for what the real clients cannot do: seal arbitrary IPMI message bytes (bad
//! checksums, odd addresses and LUNs) into a session with the real keys. It logs in with fixed
//! randoms, so a run is reproducible.

use ipmi_proto::crypto::rakp::{derive_key, Exchange};
use ipmi_proto::crypto::{aes_cbc, auth15, integrity};
use ipmi_proto::session::cipher_suite::{ConfidentialityAlgorithm, IntegrityAlgorithm};
use ipmi_proto::session::{Action, CipherSuite, Server};
use ipmi_proto::types::{CompletionCode, NetFn};
use ipmi_proto::wire::ipmi15::{self, AuthType};
use ipmi_proto::wire::ipmi20::{self, PayloadType};
use ipmi_proto::wire::rakp::{OpenSessionRequest, OpenSessionResponse, Rakp1, Rakp2, Rakp3, Rakp4};
use ipmi_proto::wire::{message, rmcp};
use std::net::SocketAddr;
use std::time::Instant;

/// An open session of the console.
pub enum Console {
    /// RMCP+ with a cipher suite and its keys.
    V20 {
        /// The negotiated suite.
        suite: CipherSuite,
        /// The BMC's session ID (in packets to the BMC).
        bmc_id: u32,
        /// K1 (integrity) and K2 (confidentiality).
        keys: (Vec<u8>, Vec<u8>),
        /// The last session sequence number used.
        seq: u32,
        /// Varies the AES IV between packets.
        iv: u8,
    },
    /// IPMI 1.5 with MD5.
    V15 {
        /// The session ID.
        session_id: u32,
        /// The user's password.
        password: Vec<u8>,
        /// The next session sequence number.
        seq: u32,
    },
}

/// A well-formed request message from the console (software ID 0x81 to the BMC at 0x20).
pub fn request_message(netfn: NetFn, rq_seq: u8, cmd: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    message::Request {
        rs_addr: message::BMC_SLAVE_ADDR,
        netfn,
        rs_lun: 0,
        rq_addr: message::REMOTE_CONSOLE_SWID,
        rq_seq,
        rq_lun: 0,
        cmd,
        data: data.to_vec(),
    }
    .emit(&mut v);
    v
}

/// An IPMI 1.5 datagram with the auth code of `auth_type` over `msg` (at most 255 bytes: the
/// callers cut what they seal).
pub fn v15_datagram(
    auth_type: AuthType,
    seq: u32,
    session_id: u32,
    pw: &[u8],
    msg: &[u8],
) -> Vec<u8> {
    let mut v = Vec::new();
    rmcp::Repr::ipmi().emit(&mut v);
    ipmi15::Repr {
        auth_type,
        sequence: seq,
        session_id,
        auth_code: auth15::auth_code(auth_type, pw, session_id, msg, seq),
    }
    .emit(msg, &mut v)
    .expect("a message of at most 255 bytes");
    v
}

/// An unauthenticated RMCP+ datagram outside a session (set-up messages).
pub fn v20_setup(payload_type: PayloadType, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    rmcp::Repr::ipmi().emit(&mut v);
    ipmi20::Repr {
        payload_type,
        encrypted: false,
        authenticated: false,
        oem: None,
        session_id: 0,
        sequence: 0,
    }
    .emit(payload.len(), &mut v);
    v.extend_from_slice(payload);
    v
}

fn reply(action: Action, step: &str) -> Vec<u8> {
    match action {
        Action::Reply(bytes) => bytes,
        other => panic!("console login: {step} got {other:?}"),
    }
}

fn setup_payload(datagram: &[u8]) -> &[u8] {
    ipmi20::Repr::parse(&datagram[rmcp::HEADER_LEN..])
        .expect("RMCP+ set-up answer")
        .payload
}

impl Console {
    /// Logs in with RMCP+ `suite` as `user`/`password` at the user's own limit.
    pub fn login_v20(
        server: &mut Server,
        now: Instant,
        peer: SocketAddr,
        suite: u8,
        user: &str,
        password: &[u8],
    ) -> Console {
        let suite = CipherSuite::by_id(suite).expect("implemented suite");
        let mut p = Vec::new();
        OpenSessionRequest {
            tag: 1,
            max_privilege: 0,
            console_session_id: 0xc0_5e_55_10,
            auth: Some(suite.auth.code()),
            integrity: Some(suite.integrity.code()),
            confidentiality: Some(suite.confidentiality.code()),
        }
        .emit(&mut p);
        let r = reply(
            server.handle(now, peer, &v20_setup(PayloadType::OPEN_SESSION_REQUEST, &p)),
            "Open Session",
        );
        let open = OpenSessionResponse::parse(setup_payload(&r)).expect("Open Session Response");
        assert_eq!(open.status.0, 0, "console Open Session refused");
        let role = 0x10; // name-only lookup, highest privilege the user has
        let rakp1 = Rakp1 {
            tag: 2,
            bmc_session_id: open.bmc_session_id,
            console_random: *b"console-random!!",
            role,
            username: user.as_bytes().to_vec(),
        };
        p.clear();
        rakp1.emit(&mut p);
        let r = reply(
            server.handle(now, peer, &v20_setup(PayloadType::RAKP1, &p)),
            "RAKP 1",
        );
        let rakp2 = Rakp2::parse(setup_payload(&r)).expect("RAKP 2");
        assert_eq!(rakp2.status.0, 0, "console RAKP 1 refused");
        let x = Exchange {
            console_session_id: open.console_session_id,
            bmc_session_id: open.bmc_session_id,
            console_random: rakp1.console_random,
            bmc_random: rakp2.bmc_random,
            bmc_guid: rakp2.bmc_guid,
            role,
            username: rakp1.username.clone(),
        };
        p.clear();
        Rakp3 {
            tag: 3,
            status: ipmi_proto::wire::rakp::Status::OK,
            bmc_session_id: open.bmc_session_id,
            auth_code: x.rakp3_auth_code(suite.auth, password),
        }
        .emit(&mut p);
        let r = reply(
            server.handle(now, peer, &v20_setup(PayloadType::RAKP3, &p)),
            "RAKP 3",
        );
        let rakp4 = Rakp4::parse(setup_payload(&r)).expect("RAKP 4");
        assert_eq!(rakp4.status.0, 0, "console RAKP 3 refused");
        let sik = x.sik(suite.auth, password);
        let keys = (
            derive_key(suite.auth, &sik, 1).to_vec(),
            derive_key(suite.auth, &sik, 2).to_vec(),
        );
        Console::V20 {
            suite,
            bmc_id: open.bmc_session_id,
            keys,
            seq: 0,
            iv: 0,
        }
    }

    /// Logs in with IPMI 1.5 MD5 as `user`/`password` at operator level.
    pub fn login_v15(
        server: &mut Server,
        now: Instant,
        peer: SocketAddr,
        user: &str,
        password: &[u8],
    ) -> Console {
        let mut data = vec![AuthType::Md5 as u8];
        let mut name = [0u8; 16];
        name[..user.len()].copy_from_slice(user.as_bytes());
        data.extend_from_slice(&name);
        let msg = request_message(NetFn::APP, 1, 0x39, &data);
        let r = reply(
            server.handle(now, peer, &v15_datagram(AuthType::None, 0, 0, b"", &msg)),
            "Get Session Challenge",
        );
        let answer = v15_answer(&r);
        assert_eq!(answer.ccode, CompletionCode::OK, "challenge refused");
        let temp_id = u32::from_le_bytes(answer.data[0..4].try_into().unwrap());
        let first_out: u32 = 0x0100_0001;
        let mut data = vec![AuthType::Md5 as u8, 3];
        data.extend_from_slice(&answer.data[4..20]);
        data.extend_from_slice(&first_out.to_le_bytes());
        let msg = request_message(NetFn::APP, 2, 0x3a, &data);
        let r = reply(
            server.handle(
                now,
                peer,
                &v15_datagram(AuthType::Md5, 0, temp_id, password, &msg),
            ),
            "Activate Session",
        );
        let answer = v15_answer(&r);
        assert_eq!(answer.ccode, CompletionCode::OK, "activation refused");
        let session_id = u32::from_le_bytes(answer.data[1..5].try_into().unwrap());
        let seq = u32::from_le_bytes(answer.data[5..9].try_into().unwrap());
        Console::V15 {
            session_id,
            password: password.to_vec(),
            seq,
        }
    }

    /// Seals `msg` (any bytes) into the session under the next sequence number.
    pub fn seal(&mut self, msg: &[u8]) -> Vec<u8> {
        match self {
            Console::V15 {
                session_id,
                password,
                seq,
            } => {
                let s = *seq;
                *seq = seq.wrapping_add(1).max(1);
                v15_datagram(AuthType::Md5, s, *session_id, password, msg)
            }
            Console::V20 {
                suite,
                bmc_id,
                keys,
                seq,
                iv,
            } => {
                *seq = seq.wrapping_add(1).max(1);
                *iv = iv.wrapping_add(1);
                let encrypt = suite.confidentiality != ConfidentialityAlgorithm::None;
                let authenticate = suite.integrity != IntegrityAlgorithm::None;
                let body = if encrypt {
                    aes_cbc::encrypt(&keys.1, [*iv; 16], msg)
                } else {
                    msg.to_vec()
                };
                let mut signed = Vec::new();
                ipmi20::Repr {
                    payload_type: PayloadType::IPMI,
                    encrypted: encrypt,
                    authenticated: authenticate,
                    oem: None,
                    session_id: *bmc_id,
                    sequence: *seq,
                }
                .emit(body.len(), &mut signed);
                signed.extend_from_slice(&body);
                if authenticate {
                    ipmi20::emit_trailer_pad(&mut signed);
                    let code = integrity::auth_code(suite.integrity, &keys.0, &signed);
                    signed.extend_from_slice(&code);
                }
                let mut out = Vec::new();
                rmcp::Repr::ipmi().emit(&mut out);
                out.extend_from_slice(&signed);
                out
            }
        }
    }
}

/// The IPMI message of an IPMI 1.5 answer.
pub fn v15_answer(datagram: &[u8]) -> message::Response {
    let (_, m) = ipmi15::Repr::parse(&datagram[rmcp::HEADER_LEN..]).expect("IPMI 1.5 answer");
    message::Response::parse(m).expect("IPMI response")
}
