//! Close Session (IPMI 2.0 section 22.19, App 0x3C, any session).

use crate::cmd::{command, take, Body, Empty};
use crate::types::{CompletionCode, NetFn, ParseError, Privilege};

command!(
    /// Close Session: ends the session itself or, for an administrator, another one.
    CloseSession, "Close Session", "22.19",
    NetFn::APP, 0x3c, Some(Privilege::Callback), CloseSessionRequest, Empty
);

/// Completion code: invalid session ID in request.
pub const INVALID_SESSION_ID: CompletionCode = CompletionCode(0x87);

/// The Close Session request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseSessionRequest {
    /// The session ID to close; 0 names the session by `handle` instead.
    pub session_id: u32,
    /// The session handle, sent only when the session ID is 0.
    pub handle: Option<u8>,
}

impl Body for CloseSessionRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        let handle = match d.len() {
            4 => None,
            5 => Some(d[4]),
            _ => return Err(ParseError::Length),
        };
        Ok(CloseSessionRequest {
            session_id: u32::from_le_bytes(take(d, 0)?),
            handle,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.session_id.to_le_bytes());
        out.extend(self.handle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn requests_of_ipmitool_and_freeipmi() {
        // Each closes its own session by the BMC's session ID.
        let r: CloseSessionRequest = captured(&[0x37, 0x4e, 0x4c, 0xdc]);
        assert_eq!(r.session_id, 0xdc4c_4e37);
        assert_eq!(r.handle, None);
        let r: CloseSessionRequest = captured(&[0x75, 0xdc, 0xba, 0x08]);
        assert_eq!(r.session_id, 0x08ba_dc75);
        round_trip(&CloseSessionRequest {
            session_id: 0,
            handle: Some(3),
        });
        assert_eq!(
            CloseSessionRequest::parse(&[1, 2, 3]),
            Err(ParseError::Length)
        );
        assert_eq!(
            CloseSessionRequest::parse(&[1, 2, 3, 4, 5, 6]),
            Err(ParseError::Length)
        );
        // The response has no body.
        let _: Empty = captured(&[]);
        assert_eq!(Empty::parse(&[0]), Err(ParseError::Length));
    }
}
