//! Activate Session (IPMI 2.0 section 22.17, App 0x3A, in the temporary session of a challenge):
//! the second step of an IPMI 1.5 login.

use crate::cmd::{command, expect_len, take, Body};
use crate::types::{CompletionCode, NetFn, ParseError, Privilege};
use crate::wire::ipmi15::AuthType;

command!(
    /// Activate Session: proves the password with the challenge and opens the session.
    ActivateSession, "Activate Session", "22.17",
    NetFn::APP, 0x3a, None, ActivateSessionRequest, ActivateSessionResponse
);

/// Completion code: no session slot available.
pub const NO_SESSION_SLOT: CompletionCode = CompletionCode(0x81);
/// Completion code: the requested maximum privilege level exceeds the user's or channel's limit.
pub const PRIVILEGE_EXCEEDS_LIMIT: CompletionCode = CompletionCode(0x86);

/// The Activate Session request. The auth type and privilege bytes are kept as sent: the BMC
/// checks the challenge before it judges them, and answers differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivateSessionRequest {
    /// The auth type byte (bits 3:0: the session's [`AuthType`]).
    pub auth_type: u8,
    /// The maximum privilege byte (bits 3:0: the level the session may reach).
    pub max_privilege: u8,
    /// The challenge string from Get Session Challenge.
    pub challenge: [u8; 16],
    /// The sequence number the BMC is to start its packets with (non-zero).
    pub initial_outbound_sequence: u32,
}

impl ActivateSessionRequest {
    /// The requested auth type, if the byte names one.
    pub fn auth_type(&self) -> Option<AuthType> {
        AuthType::from_u8(self.auth_type)
    }
    /// The requested maximum privilege, if the byte names one.
    pub fn max_privilege(&self) -> Option<Privilege> {
        Privilege::from_u8(self.max_privilege)
    }
}

impl Body for ActivateSessionRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 22, 22)?;
        Ok(ActivateSessionRequest {
            auth_type: d[0],
            max_privilege: d[1],
            challenge: take(d, 2)?,
            initial_outbound_sequence: u32::from_le_bytes(take(d, 18)?),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.auth_type, self.max_privilege]);
        out.extend_from_slice(&self.challenge);
        out.extend_from_slice(&self.initial_outbound_sequence.to_le_bytes());
    }
}

/// The Activate Session response (10 bytes; anything after them is ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivateSessionResponse {
    /// The session's auth type.
    pub auth_type: AuthType,
    /// The session ID for the rest of the session.
    pub session_id: u32,
    /// The sequence number the BMC expects first from the console.
    pub initial_inbound_sequence: u32,
    /// The maximum privilege level of the session.
    pub max_privilege: Privilege,
}

impl Body for ActivateSessionResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        if d.len() < 10 {
            return Err(ParseError::Length);
        }
        Ok(ActivateSessionResponse {
            auth_type: AuthType::from_u8(d[0]).ok_or(ParseError::Field)?,
            session_id: u32::from_le_bytes(take(d, 1)?),
            initial_inbound_sequence: u32::from_le_bytes(take(d, 5)?),
            max_privilege: Privilege::from_u8(d[9]).ok_or(ParseError::Field)?,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.auth_type as u8);
        out.extend_from_slice(&self.session_id.to_le_bytes());
        out.extend_from_slice(&self.initial_inbound_sequence.to_le_bytes());
        out.push(self.max_privilege.as_u8());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn request_of_ipmitool() {
        // ipmitool -I lan: MD5, administrator, the challenge, its first inbound number.
        let bytes = hex::decode("020432105e385b4d83989856bf29b978293616ec3e97").unwrap();
        let r: ActivateSessionRequest = captured(&bytes);
        assert_eq!(r.auth_type(), Some(AuthType::Md5));
        assert_eq!(r.max_privilege(), Some(Privilege::Administrator));
        assert_eq!(r.challenge[..2], [0x32, 0x10]);
        assert_eq!(r.initial_outbound_sequence, 0x973e_ec16);
        assert_eq!(
            ActivateSessionRequest::parse(&bytes[..21]),
            Err(ParseError::Length)
        );
        round_trip(&ActivateSessionRequest {
            auth_type: 0x13,
            max_privilege: 0,
            challenge: [1; 16],
            initial_outbound_sequence: 1,
        });
    }

    #[test]
    fn response_of_ipmi_sim() {
        // Session 0x82, first inbound 0x8afb75f4, administrator.
        let r: ActivateSessionResponse = captured(&hex::decode("0282000000f475fb8a04").unwrap());
        assert_eq!(r.auth_type, AuthType::Md5);
        assert_eq!(r.session_id, 0x82);
        assert_eq!(r.initial_inbound_sequence, 0x8afb_75f4);
        assert_eq!(r.max_privilege, Privilege::Administrator);
        round_trip(&ActivateSessionResponse {
            auth_type: AuthType::Straight,
            session_id: 0x0102_0304,
            initial_inbound_sequence: 9,
            max_privilege: Privilege::User,
        });
        assert_eq!(
            ActivateSessionResponse::parse(&[2, 0x82, 0, 0, 0, 1, 0, 0, 0]),
            Err(ParseError::Length)
        );
    }
}
