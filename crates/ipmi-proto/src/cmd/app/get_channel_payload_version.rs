//! Get Channel Payload Version (IPMI 2.0 section 24.9, App 0x4F): the format version of a
//! payload type on a channel.

use crate::cmd::{command, expect_len, Body};
use crate::types::{CompletionCode, NetFn, ParseError, Privilege};

command!(
    /// Get Channel Payload Version.
    GetChannelPayloadVersion, "Get Channel Payload Version", "24.9",
    NetFn::APP, 0x4f, Some(Privilege::User),
    PayloadVersionRequest, u8
);

/// Completion code: the payload type is not available on the channel.
pub const PAYLOAD_NOT_AVAILABLE: CompletionCode = CompletionCode(0x80);
/// The format version of the IPMI and SOL payloads: 1.0 (major in bits 7:4, minor in 3:0).
pub const VERSION_1_0: u8 = 0x10;

/// The Get Channel Payload Version request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadVersionRequest {
    /// The channel (bits 3:0; 0x0E: this one).
    pub channel: u8,
    /// The payload type.
    pub payload_type: u8,
}

impl Body for PayloadVersionRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2)?;
        Ok(PayloadVersionRequest {
            channel: d[0] & 0x0f,
            payload_type: d[1],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.channel, self.payload_type]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::captured;

    #[test]
    fn sol_version() {
        let r: PayloadVersionRequest = captured(&[0x0e, 0x01]);
        assert_eq!((r.channel, r.payload_type), (0x0e, 1));
        assert_eq!(captured::<u8>(&[VERSION_1_0]), 0x10);
        assert_eq!(PayloadVersionRequest::parse(&[1]), Err(ParseError::Length));
    }
}
