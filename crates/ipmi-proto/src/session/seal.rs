//! Sealing and opening of session packets, shared by the server and both clients: the IPMI 1.5
//! wrapper with its per-message auth code (IPMI 2.0 section 22.17.1), and the RMCP+ wrapper with
//! the integrity and confidentiality of the session's cipher suite (sections 13.28 and 13.29).
//!
//! Sealing builds a whole datagram, RMCP header included. Opening checks a packet the caller has
//! already wrapped in a checked view; which session it belongs to and its sequence number are the
//! caller's business.

use super::cipher_suite::{CipherSuite, ConfidentialityAlgorithm, IntegrityAlgorithm};
use crate::crypto::{aes_cbc, auth15, ct_eq, integrity};
use crate::types::CompletionCode;
use crate::wire::ipmi15::{self, AuthType};
use crate::wire::ipmi20::{self, PayloadType};
use crate::wire::{message, rmcp, WireError};
use rand::RngCore;
use std::borrow::Cow;

/// The packet format a request came in, which its response uses too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// The IPMI 1.5 session wrapper.
    V15,
    /// The RMCP+ session wrapper.
    V20,
}

/// The cipher suite and keys of an RMCP+ session.
#[derive(Clone, Copy)]
pub(crate) struct Keys<'a> {
    /// The negotiated cipher suite.
    pub(crate) suite: CipherSuite,
    /// K1, the integrity key.
    pub(crate) k1: &'a [u8],
    /// K2, whose first 16 bytes are the confidentiality key.
    pub(crate) k2: &'a [u8],
}

impl Keys<'_> {
    fn integrity(&self) -> bool {
        self.suite.integrity != IntegrityAlgorithm::None
    }
    fn confidentiality(&self) -> bool {
        self.suite.confidentiality != ConfidentialityAlgorithm::None
    }
}

/// Why a session packet was not opened. [`OpenError::reason`] says it for debug logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// IPMI 1.5: the packet's auth type is not the session's.
    WrongAuthType,
    /// IPMI 1.5: the auth code does not match.
    BadAuthCode,
    /// RMCP+: no session trailer in a session with integrity.
    Unauthenticated,
    /// RMCP+: a session trailer in a session without integrity.
    UnexpectedTrailer,
    /// RMCP+: the trailer is not pad, pad length, next header and an auth code.
    MalformedTrailer,
    /// RMCP+: the integrity check value does not match.
    BadIntegrity,
    /// RMCP+: a clear payload in a session with confidentiality.
    Unencrypted,
    /// RMCP+: an encrypted payload in a session without confidentiality.
    UnexpectedEncryption,
    /// RMCP+: the payload does not decrypt.
    Decrypt,
}

impl OpenError {
    /// Why, in words.
    pub(crate) const fn reason(self) -> &'static str {
        match self {
            OpenError::WrongAuthType => "wrong auth type for session",
            OpenError::BadAuthCode => "bad IPMI 1.5 auth code",
            OpenError::Unauthenticated => "unauthenticated packet in an authenticated session",
            OpenError::UnexpectedTrailer => "authenticated packet in a session without integrity",
            OpenError::MalformedTrailer => "malformed session trailer",
            OpenError::BadIntegrity => "bad integrity check value",
            OpenError::Unencrypted => "unencrypted packet in an encrypted session",
            OpenError::UnexpectedEncryption => {
                "encrypted packet in a session without confidentiality"
            }
            OpenError::Decrypt => "payload does not decrypt",
        }
    }
}

/// An IPMI 1.5 datagram: RMCP header, session header (with the auth code computed over `msg`
/// when a password is given), and the message; [`WireError::TooLong`] for a message longer than
/// the one-byte length can announce ([`ipmi15::MAX_PAYLOAD`]).
pub(crate) fn seal_v15(
    auth_type: AuthType,
    seq: u32,
    session_id: u32,
    password: Option<&[u8]>,
    msg: &[u8],
) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(48 + msg.len());
    rmcp::Repr::ipmi().emit(&mut out);
    let auth_code = password.and_then(|pw| auth15::auth_code(auth_type, pw, session_id, msg, seq));
    ipmi15::Repr {
        auth_type,
        sequence: seq,
        session_id,
        auth_code: if auth_type == AuthType::None {
            None
        } else {
            Some(auth_code.unwrap_or([0; 16]))
        },
    }
    .emit(msg, &mut out)?;
    Ok(out)
}

/// Checks that an IPMI 1.5 packet of a session (or of a login in progress) has the session's auth
/// type and, for the types that have one, the right auth code for `password`.
pub(crate) fn open_v15(
    packet: &ipmi15::Packet<&[u8]>,
    auth_type: AuthType,
    password: &[u8],
) -> Result<(), OpenError> {
    if packet.auth_type() != auth_type {
        return Err(OpenError::WrongAuthType);
    }
    let expect = auth15::auth_code(
        auth_type,
        password,
        packet.session_id(),
        packet.payload(),
        packet.sequence(),
    );
    let authentic = match expect {
        Some(expect) => packet.auth_code().is_some_and(|c| ct_eq(&c, &expect)),
        None => auth_type == AuthType::None,
    };
    if authentic {
        Ok(())
    } else {
        Err(OpenError::BadAuthCode)
    }
}

/// The response message to `req` as the wrapper `form` can carry it. An answer too long for
/// IPMI 1.5's one-byte length ([`ipmi15::MAX_PAYLOAD`], 247 data bytes) becomes completion code
/// 0xCA, "cannot return number of requested data bytes", without data. It is not cut: a cut
/// answer would pass for a whole one (a FRU or SDR chunk shorter than asked, taken as all
/// there is), while 0xCA is the spec's answer to a read asking for too much, on which consoles
/// ask for less (ipmitool's FRU and SDR readers shrink their reads).
pub(crate) fn response_message(
    form: Form,
    req: &message::Request,
    ccode: CompletionCode,
    data: &[u8],
) -> Vec<u8> {
    let mut msg = Vec::with_capacity(8 + data.len());
    req.emit_response(ccode, data, &mut msg);
    if form == Form::V15 && msg.len() > ipmi15::MAX_PAYLOAD {
        msg.clear();
        req.emit_response(CompletionCode::CANNOT_RETURN_BYTES, &[], &mut msg);
    }
    msg
}

/// The response to `req` outside any session (session ID and sequence 0, no authentication), in
/// the wrapper the request came in.
pub(crate) fn sessionless_reply(
    form: Form,
    req: &message::Request,
    ccode: CompletionCode,
    data: &[u8],
    rng: &mut impl RngCore,
) -> Vec<u8> {
    let msg = response_message(form, req, ccode, data);
    match form {
        Form::V15 => seal_v15(AuthType::None, 0, 0, None, &msg)
            .expect("response_message fits the IPMI 1.5 wrapper"),
        Form::V20 => seal_v20(PayloadType::IPMI, 0, 0, &msg, None, rng),
    }
}

/// An RMCP+ datagram, encrypted and authenticated as the session's cipher suite asks (neither
/// without keys: session set-up messages and sessionless answers). Built in the one buffer it
/// returns: the payload is encrypted in place there, and the auth code computed over it there.
pub(crate) fn seal_v20(
    payload_type: PayloadType,
    session_id: u32,
    seq: u32,
    payload: &[u8],
    keys: Option<Keys<'_>>,
    rng: &mut impl RngCore,
) -> Vec<u8> {
    let encrypt = keys.is_some_and(|k| k.confidentiality());
    let authenticate = keys.is_some_and(|k| k.integrity());
    seal_v20_as(
        payload_type,
        session_id,
        seq,
        payload,
        keys,
        (encrypt, authenticate),
        rng,
    )
}

/// An RMCP+ datagram encrypted and authenticated as `(encrypt, authenticate)` say, which must be
/// within what the keys' suite can do (a payload activated with less protection than its
/// session's suite: Serial over LAN).
pub(crate) fn seal_v20_as(
    payload_type: PayloadType,
    session_id: u32,
    seq: u32,
    payload: &[u8],
    keys: Option<Keys<'_>>,
    (encrypt, authenticate): (bool, bool),
    rng: &mut impl RngCore,
) -> Vec<u8> {
    let encrypt = encrypt && keys.is_some_and(|k| k.confidentiality());
    let authenticate = authenticate && keys.is_some_and(|k| k.integrity());
    let body_len = if encrypt {
        aes_cbc::encrypted_len(payload.len())
    } else {
        payload.len()
    };
    // RMCP and session headers, then at most 3 pad bytes, pad length, next header and a 16-byte
    // auth code.
    let mut out = Vec::with_capacity(4 + 12 + body_len + 5 + 16);
    rmcp::Repr::ipmi().emit(&mut out);
    let start = out.len();
    ipmi20::Repr {
        payload_type,
        encrypted: encrypt,
        authenticated: authenticate,
        oem: None,
        session_id,
        sequence: seq,
    }
    .emit(body_len, &mut out);
    match keys {
        Some(k) if encrypt => {
            let mut iv = [0u8; 16];
            rng.fill_bytes(&mut iv);
            aes_cbc::encrypt_into(k.k2, iv, payload, &mut out);
        }
        _ => out.extend_from_slice(payload),
    }
    if let Some(k) = keys.filter(|_| authenticate) {
        ipmi20::emit_trailer_pad_after(&mut out, start);
        let code = integrity::auth_code_inline(k.suite.integrity, k.k1, &out[start..]);
        out.extend_from_slice(&code);
    }
    out
}

/// Checks an RMCP+ packet of a session against its cipher suite, integrity code first, and returns
/// the clear payload. The flags must match the suite: a session with integrity takes only
/// authenticated packets and one without takes none, and likewise for encryption.
pub(crate) fn open_v20<'a>(
    packet: &ipmi20::Packet<&'a [u8]>,
    keys: &Keys<'_>,
) -> Result<Cow<'a, [u8]>, OpenError> {
    open_v20_as(packet, keys, (keys.confidentiality(), keys.integrity()))
}

/// [`open_v20`] for a payload protected as `(encrypted, authenticated)` say rather than as the
/// suite could (within what it can do): packets must carry exactly that protection.
pub(crate) fn open_v20_as<'a>(
    packet: &ipmi20::Packet<&'a [u8]>,
    keys: &Keys<'_>,
    (encrypted, authenticated): (bool, bool),
) -> Result<Cow<'a, [u8]>, OpenError> {
    if authenticated && keys.integrity() {
        if !packet.authenticated() {
            return Err(OpenError::Unauthenticated);
        }
        let (signed, code) = packet
            .integrity_fields(keys.suite.integrity.code_len())
            .map_err(|_| OpenError::MalformedTrailer)?;
        if !ct_eq(
            code,
            &integrity::auth_code_inline(keys.suite.integrity, keys.k1, signed),
        ) {
            return Err(OpenError::BadIntegrity);
        }
    } else if packet.authenticated() {
        return Err(OpenError::UnexpectedTrailer);
    }
    if encrypted && keys.confidentiality() {
        if !packet.encrypted() {
            return Err(OpenError::Unencrypted);
        }
        aes_cbc::decrypt(keys.k2, packet.payload())
            .map(Cow::Owned)
            .map_err(|_| OpenError::Decrypt)
    } else if packet.encrypted() {
        Err(OpenError::UnexpectedEncryption)
    } else {
        Ok(Cow::Borrowed(packet.payload()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn keys(suite: u8) -> Keys<'static> {
        Keys {
            suite: CipherSuite::by_id(suite).unwrap(),
            k1: &[1; 20],
            k2: &[2; 20],
        }
    }

    fn session_part(datagram: &[u8]) -> &[u8] {
        rmcp::Packet::new_checked(datagram).unwrap().payload()
    }

    fn open(datagram: &[u8], keys: &Keys<'_>) -> Result<Vec<u8>, OpenError> {
        let packet = ipmi20::Packet::new_checked(session_part(datagram)).unwrap();
        open_v20(&packet, keys).map(|b| b.into_owned())
    }

    #[test]
    fn v20_round_trip_for_each_suite_and_tampering_caught() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for id in [0, 1, 2, 3, 15, 16, 17] {
            let k = keys(id);
            let sealed = seal_v20(PayloadType::IPMI, 7, 1, b"message", Some(k), &mut rng);
            assert_eq!(open(&sealed, &k).unwrap(), b"message", "suite {id}");
            let mut tampered = sealed.clone();
            let last = tampered.len() - 1;
            tampered[last] ^= 1;
            if k.integrity() {
                assert_eq!(open(&tampered, &k), Err(OpenError::BadIntegrity));
            }
            // A packet sealed without the suite's protection is refused by a protected session.
            let clear = seal_v20(PayloadType::IPMI, 7, 1, b"message", None, &mut rng);
            let expect = if k.integrity() {
                Err(OpenError::Unauthenticated)
            } else if k.confidentiality() {
                Err(OpenError::Unencrypted)
            } else {
                Ok(b"message".to_vec())
            };
            assert_eq!(open(&clear, &k), expect, "suite {id}");
        }
        let protected = seal_v20(PayloadType::IPMI, 7, 1, b"m", Some(keys(17)), &mut rng);
        assert_eq!(
            open(&protected, &keys(1)),
            Err(OpenError::UnexpectedTrailer)
        );
    }

    /// The one-buffer sealing builds, byte for byte, the datagram of the steps the
    /// specification lists: encrypt the payload, frame it, pad the trailer, sign it.
    #[test]
    fn v20_sealed_in_one_buffer_as_built_step_by_step() {
        for id in [0, 1, 2, 3, 15, 16, 17] {
            let k = keys(id);
            for len in 0..40 {
                let payload: Vec<u8> = (0..len as u8).collect();
                let mut rng = rand::rngs::StdRng::seed_from_u64(len as u64);
                let sealed = seal_v20(PayloadType::IPMI, 7, 9, &payload, Some(k), &mut rng);
                let mut rng = rand::rngs::StdRng::seed_from_u64(len as u64);
                let body = if k.confidentiality() {
                    let mut iv = [0u8; 16];
                    rng.fill_bytes(&mut iv);
                    aes_cbc::encrypt(k.k2, iv, &payload)
                } else {
                    payload.clone()
                };
                let mut packet = Vec::new();
                ipmi20::Repr {
                    payload_type: PayloadType::IPMI,
                    encrypted: k.confidentiality(),
                    authenticated: k.integrity(),
                    oem: None,
                    session_id: 7,
                    sequence: 9,
                }
                .emit(body.len(), &mut packet);
                packet.extend_from_slice(&body);
                if k.integrity() {
                    ipmi20::emit_trailer_pad(&mut packet);
                    let code = integrity::auth_code(k.suite.integrity, k.k1, &packet);
                    packet.extend_from_slice(&code);
                }
                assert_eq!(
                    session_part(&sealed),
                    &packet[..],
                    "suite {id}, {len} bytes"
                );
            }
        }
    }

    #[test]
    fn v15_auth_code_checked() {
        let sealed = seal_v15(AuthType::Md5, 5, 9, Some(b"pw"), b"msg").unwrap();
        let packet = ipmi15::Packet::new_checked(session_part(&sealed)).unwrap();
        assert_eq!(open_v15(&packet, AuthType::Md5, b"pw"), Ok(()));
        assert_eq!(
            open_v15(&packet, AuthType::Md5, b"other"),
            Err(OpenError::BadAuthCode)
        );
        assert_eq!(
            open_v15(&packet, AuthType::Md2, b"pw"),
            Err(OpenError::WrongAuthType)
        );
        let none = seal_v15(AuthType::None, 0, 0, None, b"msg").unwrap();
        let packet = ipmi15::Packet::new_checked(session_part(&none)).unwrap();
        assert_eq!(open_v15(&packet, AuthType::None, b""), Ok(()));
    }

    #[test]
    fn answers_too_long_for_ipmi15_become_0xca() {
        let req =
            message::Request::parse(&[0x20, 0x28, 0xb8, 0x81, 0x04, 0x11, 0, 0, 0, 0xff, 0x6b])
                .unwrap();
        let mut rng = rand::rngs::mock::StepRng::new(1, 1);
        for (form, len, expect) in [
            (Form::V15, 247, CompletionCode::OK),
            (Form::V15, 248, CompletionCode::CANNOT_RETURN_BYTES),
            (Form::V20, 248, CompletionCode::OK),
        ] {
            let sealed =
                sessionless_reply(form, &req, CompletionCode::OK, &[1; 248][..len], &mut rng);
            let msg = match form {
                Form::V15 => ipmi15::Repr::parse(session_part(&sealed))
                    .unwrap()
                    .1
                    .to_vec(),
                Form::V20 => ipmi20::Repr::parse(session_part(&sealed))
                    .unwrap()
                    .payload
                    .to_vec(),
            };
            let r = message::Response::parse(&msg).unwrap();
            assert_eq!(r.ccode, expect, "{form:?} {len}");
            assert_eq!(
                r.data.len(),
                if expect == CompletionCode::OK { len } else { 0 }
            );
        }
    }
}
