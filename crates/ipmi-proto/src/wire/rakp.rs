//! RMCP+ session set-up messages (IPMI 2.0 sections 13.17 to 13.23): Open Session Request and
//! Response, and RAKP Messages 1 to 4.

use super::{array, byte, u32_le, Result, WireError};

/// RMCP+ and RAKP status codes (IPMI 2.0 section 13.24, table 13-15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub u8);

impl Status {
    /// No errors.
    pub const OK: Status = Status(0x00);
    /// Insufficient resources to create a session.
    pub const INSUFFICIENT_RESOURCES: Status = Status(0x01);
    /// Invalid session ID.
    pub const INVALID_SESSION_ID: Status = Status(0x02);
    /// Invalid payload type.
    pub const INVALID_PAYLOAD_TYPE: Status = Status(0x03);
    /// Invalid authentication algorithm.
    pub const INVALID_AUTH_ALGORITHM: Status = Status(0x04);
    /// Invalid integrity algorithm.
    pub const INVALID_INTEGRITY_ALGORITHM: Status = Status(0x05);
    /// No matching authentication payload.
    pub const NO_MATCHING_AUTH_PAYLOAD: Status = Status(0x06);
    /// No matching integrity payload.
    pub const NO_MATCHING_INTEGRITY_PAYLOAD: Status = Status(0x07);
    /// Inactive session ID.
    pub const INACTIVE_SESSION_ID: Status = Status(0x08);
    /// Invalid role.
    pub const INVALID_ROLE: Status = Status(0x09);
    /// Unauthorized role or privilege level requested.
    pub const UNAUTHORIZED_ROLE: Status = Status(0x0a);
    /// Insufficient resources to create a session at the requested role.
    pub const INSUFFICIENT_RESOURCES_FOR_ROLE: Status = Status(0x0b);
    /// Invalid name length.
    pub const INVALID_NAME_LENGTH: Status = Status(0x0c);
    /// Unauthorized name.
    pub const UNAUTHORIZED_NAME: Status = Status(0x0d);
    /// Unauthorized GUID.
    pub const UNAUTHORIZED_GUID: Status = Status(0x0e);
    /// Invalid integrity check value.
    pub const INVALID_INTEGRITY_CHECK: Status = Status(0x0f);
    /// Invalid confidentiality algorithm.
    pub const INVALID_CONFIDENTIALITY_ALGORITHM: Status = Status(0x10);
    /// No cipher suite match with proposed security algorithms.
    pub const NO_CIPHER_SUITE_MATCH: Status = Status(0x11);
    /// Illegal or unrecognized parameter.
    pub const ILLEGAL_PARAMETER: Status = Status(0x12);
}

/// Where the message tag and the session ID are in every set-up message: byte 0 and bytes 4..8.
mod field {
    use core::ops::Range;

    /// Message tag.
    pub const TAG: usize = 0;
    /// The session ID that identifies the login (the console's in Open Session Request, the
    /// BMC's in RAKP 1 and RAKP 3).
    pub const SESSION_ID: Range<usize> = 4..8;
    /// RAKP 1: the user name length byte; the name follows it.
    pub const RAKP1_NAME_LEN: usize = 27;
}

/// The message tag and session ID of a set-up request (Open Session Request, RAKP 1, RAKP 3),
/// readable when the rest does not parse, so that an error answer can echo them.
pub fn tag_and_session_id(b: &[u8]) -> Option<(u8, u32)> {
    Some((
        byte(b, field::TAG).ok()?,
        u32_le(b, field::SESSION_ID.start).ok()?,
    ))
}

/// An Open Session Request (section 13.17).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenSessionRequest {
    /// Message tag, echoed in the response.
    pub tag: u8,
    /// Requested maximum privilege (bits 3:0; 0 = the highest the proposed algorithms allow).
    pub max_privilege: u8,
    /// The remote console's session ID (the BMC sends it back in every packet).
    pub console_session_id: u32,
    /// Proposed authentication algorithm; `None` if the payload was empty ("any").
    pub auth: Option<u8>,
    /// Proposed integrity algorithm; `None` if empty.
    pub integrity: Option<u8>,
    /// Proposed confidentiality algorithm; `None` if empty.
    pub confidentiality: Option<u8>,
}

/// Parses one algorithm payload record (type, reserved, reserved, length, algorithm, 3 reserved)
/// at `at`; returns the algorithm (or `None` for a zero-length record) and the next offset.
fn algorithm_payload(b: &[u8], at: usize, expect_type: u8) -> Result<(Option<u8>, usize)> {
    if byte(b, at)? != expect_type {
        return Err(WireError::Malformed);
    }
    match byte(b, at + 3)? {
        0 => Ok((None, at + 4)),
        8 => Ok((Some(byte(b, at + 4)? & 0x3f), at + 8)),
        _ => Err(WireError::Malformed),
    }
}

fn emit_algorithm_payload(out: &mut Vec<u8>, ty: u8, alg: Option<u8>) {
    match alg {
        Some(a) => out.extend_from_slice(&[ty, 0, 0, 8, a, 0, 0, 0]),
        None => out.extend_from_slice(&[ty, 0, 0, 0]),
    }
}

impl OpenSessionRequest {
    /// Parses an Open Session Request payload.
    pub fn parse(b: &[u8]) -> Result<Self> {
        let tag = byte(b, 0)?;
        let max_privilege = byte(b, 1)? & 0x0f;
        let console_session_id = u32_le(b, 4)?;
        let (auth, at) = algorithm_payload(b, 8, 0x00)?;
        let (integrity, at) = algorithm_payload(b, at, 0x01)?;
        let (confidentiality, _) = algorithm_payload(b, at, 0x02)?;
        Ok(OpenSessionRequest {
            tag,
            max_privilege,
            console_session_id,
            auth,
            integrity,
            confidentiality,
        })
    }

    /// Appends the encoded request.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.tag, self.max_privilege, 0, 0]);
        out.extend_from_slice(&self.console_session_id.to_le_bytes());
        emit_algorithm_payload(out, 0x00, self.auth);
        emit_algorithm_payload(out, 0x01, self.integrity);
        emit_algorithm_payload(out, 0x02, self.confidentiality);
    }
}

/// An Open Session Response (section 13.18).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenSessionResponse {
    /// The request's message tag.
    pub tag: u8,
    /// Status code; on error the rest but the console session ID is absent on the wire.
    pub status: Status,
    /// The maximum privilege level granted.
    pub max_privilege: u8,
    /// The remote console's session ID.
    pub console_session_id: u32,
    /// The BMC's session ID for this session.
    pub bmc_session_id: u32,
    /// Selected authentication algorithm.
    pub auth: u8,
    /// Selected integrity algorithm.
    pub integrity: u8,
    /// Selected confidentiality algorithm.
    pub confidentiality: u8,
}

impl OpenSessionResponse {
    /// Parses an Open Session Response payload.
    pub fn parse(b: &[u8]) -> Result<Self> {
        let tag = byte(b, 0)?;
        let status = Status(byte(b, 1)?);
        let console_session_id = u32_le(b, 4)?;
        if status != Status::OK {
            return Ok(OpenSessionResponse {
                tag,
                status,
                max_privilege: 0,
                console_session_id,
                bmc_session_id: 0,
                auth: 0,
                integrity: 0,
                confidentiality: 0,
            });
        }
        let (auth, at) = algorithm_payload(b, 12, 0x00)?;
        let (integrity, at) = algorithm_payload(b, at, 0x01)?;
        let (confidentiality, _) = algorithm_payload(b, at, 0x02)?;
        Ok(OpenSessionResponse {
            tag,
            status,
            max_privilege: byte(b, 2)? & 0x0f,
            console_session_id,
            bmc_session_id: u32_le(b, 8)?,
            auth: auth.ok_or(WireError::Malformed)?,
            integrity: integrity.ok_or(WireError::Malformed)?,
            confidentiality: confidentiality.ok_or(WireError::Malformed)?,
        })
    }

    /// Appends the encoded response (only the first 8 bytes when the status is an error).
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.tag, self.status.0, self.max_privilege, 0]);
        out.extend_from_slice(&self.console_session_id.to_le_bytes());
        if self.status != Status::OK {
            return;
        }
        out.extend_from_slice(&self.bmc_session_id.to_le_bytes());
        emit_algorithm_payload(out, 0x00, Some(self.auth));
        emit_algorithm_payload(out, 0x01, Some(self.integrity));
        emit_algorithm_payload(out, 0x02, Some(self.confidentiality));
    }
}

/// RAKP Message 1 (section 13.20).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rakp1 {
    /// Message tag.
    pub tag: u8,
    /// The BMC's session ID from the Open Session Response.
    pub bmc_session_id: u32,
    /// The remote console's random number.
    pub console_random: [u8; 16],
    /// Requested maximum privilege (role) byte as sent: bit 4 = name-only lookup, bits 3:0 level.
    /// The whole byte enters the RAKP hashes.
    pub role: u8,
    /// The user name (0 to 16 bytes).
    pub username: Vec<u8>,
}

impl Rakp1 {
    /// Parses a RAKP Message 1 payload.
    pub fn parse(b: &[u8]) -> Result<Self> {
        if Rakp1::name_too_long(b) {
            return Err(WireError::Malformed);
        }
        let len = byte(b, field::RAKP1_NAME_LEN)? as usize;
        let name = field::RAKP1_NAME_LEN + 1;
        let username = b
            .get(name..name + len)
            .ok_or(WireError::Truncated)?
            .to_vec();
        Ok(Rakp1 {
            tag: byte(b, 0)?,
            bmc_session_id: u32_le(b, 4)?,
            console_random: array(b, 8)?,
            role: byte(b, 24)?,
            username,
        })
    }

    /// Whether a RAKP 1 payload announces a user name longer than 16 bytes (answered with status
    /// "invalid name length" rather than "illegal parameter").
    pub fn name_too_long(b: &[u8]) -> bool {
        b.get(field::RAKP1_NAME_LEN).is_some_and(|n| *n > 16)
    }

    /// Appends the encoded message.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.tag, 0, 0, 0]);
        out.extend_from_slice(&self.bmc_session_id.to_le_bytes());
        out.extend_from_slice(&self.console_random);
        out.extend_from_slice(&[self.role, 0, 0, self.username.len() as u8]);
        out.extend_from_slice(&self.username);
    }
}

/// RAKP Message 2 (section 13.21).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rakp2 {
    /// Message tag.
    pub tag: u8,
    /// Status code; on error only the console session ID follows on the wire.
    pub status: Status,
    /// The remote console's session ID.
    pub console_session_id: u32,
    /// The BMC's random number.
    pub bmc_random: [u8; 16],
    /// The BMC's GUID.
    pub bmc_guid: [u8; 16],
    /// The key exchange authentication code (HMAC over the exchange so far, keyed with the password).
    pub auth_code: Vec<u8>,
}

impl Rakp2 {
    /// Parses a RAKP Message 2 payload.
    pub fn parse(b: &[u8]) -> Result<Self> {
        let status = Status(byte(b, 1)?);
        let console_session_id = u32_le(b, 4)?;
        if status != Status::OK {
            return Ok(Rakp2 {
                tag: byte(b, 0)?,
                status,
                console_session_id,
                bmc_random: [0; 16],
                bmc_guid: [0; 16],
                auth_code: Vec::new(),
            });
        }
        Ok(Rakp2 {
            tag: byte(b, 0)?,
            status,
            console_session_id,
            bmc_random: array(b, 8)?,
            bmc_guid: array(b, 24)?,
            auth_code: b[40..].to_vec(),
        })
    }

    /// Appends the encoded message.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.tag, self.status.0, 0, 0]);
        out.extend_from_slice(&self.console_session_id.to_le_bytes());
        if self.status != Status::OK {
            return;
        }
        out.extend_from_slice(&self.bmc_random);
        out.extend_from_slice(&self.bmc_guid);
        out.extend_from_slice(&self.auth_code);
    }
}

/// RAKP Message 3 (section 13.22).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rakp3 {
    /// Message tag.
    pub tag: u8,
    /// Status the console reports (non-zero when it rejected RAKP 2).
    pub status: Status,
    /// The BMC's session ID.
    pub bmc_session_id: u32,
    /// The key exchange authentication code.
    pub auth_code: Vec<u8>,
}

impl Rakp3 {
    /// Parses a RAKP Message 3 payload.
    pub fn parse(b: &[u8]) -> Result<Self> {
        Ok(Rakp3 {
            tag: byte(b, 0)?,
            status: Status(byte(b, 1)?),
            bmc_session_id: u32_le(b, 4)?,
            auth_code: b[8..].to_vec(),
        })
    }

    /// Appends the encoded message.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.tag, self.status.0, 0, 0]);
        out.extend_from_slice(&self.bmc_session_id.to_le_bytes());
        out.extend_from_slice(&self.auth_code);
    }
}

/// RAKP Message 4 (section 13.23).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rakp4 {
    /// Message tag.
    pub tag: u8,
    /// Status code.
    pub status: Status,
    /// The remote console's session ID.
    pub console_session_id: u32,
    /// The integrity check value (HMAC keyed with the session integrity key, truncated).
    pub icv: Vec<u8>,
}

impl Rakp4 {
    /// Parses a RAKP Message 4 payload. With an error status the message ends after the console
    /// session ID (table 13-12): anything after it is not an ICV and is not kept, as
    /// [`Rakp4::emit`] would not write it back.
    pub fn parse(b: &[u8]) -> Result<Self> {
        let status = Status(byte(b, 1)?);
        let console_session_id = u32_le(b, 4)?;
        let icv = if status == Status::OK {
            b[8..].to_vec()
        } else {
            Vec::new()
        };
        Ok(Rakp4 {
            tag: byte(b, 0)?,
            status,
            console_session_id,
            icv,
        })
    }

    /// Appends the encoded message (without the ICV when the status is an error).
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.tag, self.status.0, 0, 0]);
        out.extend_from_slice(&self.console_session_id.to_le_bytes());
        if self.status == Status::OK {
            out.extend_from_slice(&self.icv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_session_request_as_ipmitool_sends_it() {
        // Tag 0, admin, console SID 0xa0a2a3a4, suite 17 (HMAC-SHA256, HMAC-SHA256-128, AES).
        let b = [
            0x00, 0x04, 0x00, 0x00, 0xa4, 0xa3, 0xa2, 0xa0, 0x00, 0x00, 0x00, 0x08, 0x03, 0x00,
            0x00, 0x00, 0x01, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x08,
            0x01, 0x00, 0x00, 0x00,
        ];
        let r = OpenSessionRequest::parse(&b).unwrap();
        assert_eq!(r.max_privilege, 4);
        assert_eq!(r.console_session_id, 0xa0a2_a3a4);
        assert_eq!(
            (r.auth, r.integrity, r.confidentiality),
            (Some(3), Some(4), Some(1))
        );
        let mut v = Vec::new();
        r.emit(&mut v);
        assert_eq!(v, b);
    }

    #[test]
    fn open_session_response_round_trip_and_error_form() {
        let r = OpenSessionResponse {
            tag: 7,
            status: Status::OK,
            max_privilege: 4,
            console_session_id: 1,
            bmc_session_id: 2,
            auth: 1,
            integrity: 1,
            confidentiality: 1,
        };
        let mut v = Vec::new();
        r.emit(&mut v);
        assert_eq!(v.len(), 36);
        assert_eq!(OpenSessionResponse::parse(&v).unwrap(), r);
        let e = OpenSessionResponse {
            status: Status::NO_CIPHER_SUITE_MATCH,
            ..r
        };
        let mut v = Vec::new();
        e.emit(&mut v);
        assert_eq!(v, [7, 0x11, 4, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn rakp1_round_trip_and_name_length() {
        let r = Rakp1 {
            tag: 1,
            bmc_session_id: 0x11223344,
            console_random: [9; 16],
            role: 0x14,
            username: b"admin".to_vec(),
        };
        let mut v = Vec::new();
        r.emit(&mut v);
        assert_eq!(v.len(), 33);
        assert_eq!(Rakp1::parse(&v).unwrap(), r);
        assert_eq!(tag_and_session_id(&v), Some((1, 0x11223344)));
        assert!(!Rakp1::name_too_long(&v));
        v[27] = 17;
        assert!(Rakp1::parse(&v).is_err());
        assert!(Rakp1::name_too_long(&v));
        assert_eq!(tag_and_session_id(&v[..7]), None);
    }

    #[test]
    fn rakp4_error_form_has_no_icv_both_ways() {
        // An error RAKP 4 is 8 bytes (table 13-12); bytes after them are not an ICV.
        let b = [3, 0x0d, 0, 0, 0x44, 0x33, 0x22, 0x11, 0xaa, 0xbb];
        let r = Rakp4::parse(&b).unwrap();
        assert_eq!(
            (r.status, r.console_session_id, r.icv.len()),
            (Status(0x0d), 0x1122_3344, 0)
        );
        let mut v = Vec::new();
        r.emit(&mut v);
        assert_eq!(v, b[..8]);
        assert_eq!(Rakp4::parse(&v).unwrap(), r);
        // With status OK the ICV follows.
        let ok = Rakp4 {
            tag: 3,
            status: Status::OK,
            console_session_id: 1,
            icv: vec![9; 12],
        };
        let mut v = Vec::new();
        ok.emit(&mut v);
        assert_eq!(Rakp4::parse(&v).unwrap(), ok);
    }
}
