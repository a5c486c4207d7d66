//! Get Payload Instance Info (IPMI 2.0 section 24.5, App 0x4B): which session an active payload
//! instance runs in.

use crate::cmd::{command, expect_len, take, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Payload Instance Info.
    GetPayloadInstanceInfo, "Get Payload Instance Info", "24.5",
    NetFn::APP, 0x4b, Some(Privilege::User),
    PayloadInstanceRequest, PayloadInstanceInfo
);

/// The Get Payload Instance Info request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadInstanceRequest {
    /// The payload type (bits 5:0).
    pub payload_type: u8,
    /// The payload instance (bits 3:0).
    pub instance: u8,
}

impl Body for PayloadInstanceRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2)?;
        Ok(PayloadInstanceRequest {
            payload_type: d[0] & 0x3f,
            instance: d[1] & 0x0f,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.payload_type, self.instance]);
    }
}

/// The Get Payload Instance Info response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadInstanceInfo {
    /// The session the instance is active in (0: not active).
    pub session_id: u32,
    /// Payload-specific information: for SOL, byte 1 is the system serial port (1-based).
    pub info: [u8; 8],
}

impl Body for PayloadInstanceInfo {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 12, 12)?;
        Ok(PayloadInstanceInfo {
            session_id: u32::from_le_bytes(take(d, 0)?),
            info: take(d, 4)?,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.session_id.to_le_bytes());
        out.extend_from_slice(&self.info);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn sol_instance_info() {
        let r: PayloadInstanceRequest = captured(&[0x01, 0x01]);
        assert_eq!((r.payload_type, r.instance), (1, 1));
        let a: PayloadInstanceInfo = captured(&[0x78, 0x56, 0x34, 0x12, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!((a.session_id, a.info[0]), (0x1234_5678, 1));
        round_trip(&PayloadInstanceInfo {
            session_id: 0,
            info: [0; 8],
        });
        assert_eq!(PayloadInstanceRequest::parse(&[1]), Err(ParseError::Length));
    }
}
