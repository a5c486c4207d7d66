//! Get Channel Payload Support (IPMI 2.0 section 24.8, App 0x4E): the payload types a channel
//! carries.

use crate::cmd::{command, expect_len, take, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Channel Payload Support.
    GetChannelPayloadSupport, "Get Channel Payload Support", "24.8",
    NetFn::APP, 0x4e, Some(Privilege::User),
    u8, ChannelPayloadSupport
);

/// Standard payload bit: IPMI messages.
pub const PAYLOAD_IPMI: u16 = 1 << 0;
/// Standard payload bit: Serial over LAN.
pub const PAYLOAD_SOL: u16 = 1 << 1;
/// Session set-up payload bits: Open Session Request/Response and RAKP 1 to 4.
pub const SESSION_SETUP_ALL: u16 = 0x3f;

/// The Get Channel Payload Support response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelPayloadSupport {
    /// Standard payload types (bit `n`: type `n`).
    pub standard: u16,
    /// Session set-up payload types (bit `n`: type `0x10 + n`).
    pub session_setup: u16,
    /// OEM payload types (bit `n`: type `0x20 + n`).
    pub oem: u16,
}

impl Body for ChannelPayloadSupport {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 8, 8)?;
        let u16_at = |at| take::<2>(d, at).map(u16::from_le_bytes);
        Ok(ChannelPayloadSupport {
            standard: u16_at(0)?,
            session_setup: u16_at(2)?,
            oem: u16_at(4)?,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        for v in [self.standard, self.session_setup, self.oem, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::captured;

    #[test]
    fn ipmi_sol_and_session_setup() {
        let a: ChannelPayloadSupport = captured(&[0x03, 0, 0x3f, 0, 0, 0, 0, 0]);
        assert_eq!(a.standard, PAYLOAD_IPMI | PAYLOAD_SOL);
        assert_eq!(a.session_setup, SESSION_SETUP_ALL);
        assert_eq!(
            ChannelPayloadSupport::parse(&[0; 6]),
            Err(ParseError::Length)
        );
    }
}
