//! Get Session Challenge (IPMI 2.0 section 22.16, App 0x39, outside a session): the first step of
//! an IPMI 1.5 login.

use crate::cmd::{command, expect_len, take, Body};
use crate::types::{CompletionCode, NetFn, ParseError};
use crate::wire::ipmi15::AuthType;

command!(
    /// Get Session Challenge: a temporary session ID and a challenge for Activate Session.
    GetSessionChallenge, "Get Session Challenge", "22.16",
    NetFn::APP, 0x39, None, SessionChallengeRequest, SessionChallengeResponse
);

/// Completion code: invalid user name.
pub const INVALID_USER_NAME: CompletionCode = CompletionCode(0x81);
/// Completion code: null user name (user 1) not enabled.
pub const NULL_USER_DISABLED: CompletionCode = CompletionCode(0x82);

/// The Get Session Challenge request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionChallengeRequest {
    /// The authentication type the session will use.
    pub auth_type: AuthType,
    /// The user name, padded with zero bytes to 16 (all zero: the null user).
    pub user_name: [u8; 16],
}

impl SessionChallengeRequest {
    /// A request for `name`, padded (or cut) to 16 bytes.
    pub fn new(auth_type: AuthType, name: &[u8]) -> Self {
        let mut user_name = [0u8; 16];
        let n = name.len().min(16);
        user_name[..n].copy_from_slice(&name[..n]);
        SessionChallengeRequest {
            auth_type,
            user_name,
        }
    }

    /// The user name up to its first zero byte.
    pub fn name(&self) -> &[u8] {
        let len = self.user_name.iter().position(|b| *b == 0).unwrap_or(16);
        &self.user_name[..len]
    }
}

impl Body for SessionChallengeRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 17, 17)?;
        Ok(SessionChallengeRequest {
            auth_type: AuthType::from_u8(d[0]).ok_or(ParseError::Field)?,
            user_name: take(d, 1)?,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.auth_type as u8);
        out.extend_from_slice(&self.user_name);
    }
}

/// The Get Session Challenge response (20 bytes; anything after them is ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionChallengeResponse {
    /// The temporary session ID, under which Activate Session is sent.
    pub temporary_session_id: u32,
    /// The challenge string Activate Session must echo.
    pub challenge: [u8; 16],
}

impl Body for SessionChallengeResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        if d.len() < 20 {
            return Err(ParseError::Length);
        }
        Ok(SessionChallengeResponse {
            temporary_session_id: u32::from_le_bytes(take(d, 0)?),
            challenge: take(d, 4)?,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.temporary_session_id.to_le_bytes());
        out.extend_from_slice(&self.challenge);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn request_of_ipmitool_and_freeipmi() {
        // Both send MD5 and "admin" zero-padded.
        let mut bytes = vec![0x02];
        bytes.extend_from_slice(b"admin\0\0\0\0\0\0\0\0\0\0\0");
        let r: SessionChallengeRequest = captured(&bytes);
        assert_eq!(r.auth_type, AuthType::Md5);
        assert_eq!(r.name(), b"admin");
        assert_eq!(r, SessionChallengeRequest::new(AuthType::Md5, b"admin"));
        bytes[0] = 0x03;
        assert_eq!(
            SessionChallengeRequest::parse(&bytes),
            Err(ParseError::Field)
        );
        assert_eq!(
            SessionChallengeRequest::parse(&bytes[..16]),
            Err(ParseError::Length)
        );
        let null = SessionChallengeRequest::new(AuthType::None, b"");
        assert_eq!(null.name(), b"");
        round_trip(&null);
        round_trip(&SessionChallengeRequest::new(AuthType::Md2, &[b'x'; 20]));
    }

    #[test]
    fn response_of_ipmi_sim() {
        let bytes = hex::decode("0500000032105e385b4d83989856bf29b9782936").unwrap();
        let r: SessionChallengeResponse = captured(&bytes);
        assert_eq!(r.temporary_session_id, 5);
        assert_eq!(r.challenge[..2], [0x32, 0x10]);
        round_trip(&SessionChallengeResponse {
            temporary_session_id: 0xdead_beef,
            challenge: [7; 16],
        });
        assert_eq!(
            SessionChallengeResponse::parse(&bytes[..19]),
            Err(ParseError::Length)
        );
    }
}
