//! Get Channel Access (IPMI 2.0 section 22.23, App 0x41, User).

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Channel Access: the channel's access mode and privilege limit.
    GetChannelAccess, "Get Channel Access", "22.23",
    NetFn::APP, 0x41, Some(Privilege::User),
    ChannelAccessRequest, ChannelAccessResponse
);

/// The Get Channel Access request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelAccessRequest {
    /// Channel number (0x0E: this channel).
    pub channel: u8,
    /// `true` for the volatile (active) settings, `false` for the non-volatile ones.
    pub volatile: bool,
}

impl Body for ChannelAccessRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2)?;
        let volatile = match d[1] >> 6 {
            0b01 => false,
            0b10 => true,
            _ => return Err(ParseError::Field),
        };
        Ok(ChannelAccessRequest {
            channel: d[0] & 0x0f,
            volatile,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.channel & 0x0f);
        out.push(if self.volatile { 0x80 } else { 0x40 });
    }
}

/// The Get Channel Access response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelAccessResponse {
    /// Byte 1: alerting/per-message/user-level authentication disable bits (7:3) and the
    /// access mode (2:0; 2 = always available).
    pub access: u8,
    /// The channel privilege limit.
    pub privilege_limit: Privilege,
}

impl Body for ChannelAccessResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2)?;
        Ok(ChannelAccessResponse {
            access: d[0],
            privilege_limit: Privilege::from_u8(d[1]).ok_or(ParseError::Field)?,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.access);
        out.push(self.privilege_limit.as_u8());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn ipmitool_and_ipmi_sim() {
        // `ipmitool channel info`: volatile then non-volatile settings of channel 1.
        let r: ChannelAccessRequest = captured(&[0x01, 0x80]);
        assert_eq!((r.channel, r.volatile), (1, true));
        let r: ChannelAccessRequest = captured(&[0x01, 0x40]);
        assert!(!r.volatile);
        assert_eq!(
            ChannelAccessRequest::parse(&[0x01, 0xc0]),
            Err(ParseError::Field)
        );
        // ipmi_sim: always available, administrator limit.
        let a: ChannelAccessResponse = captured(&[0x02, 0x04]);
        assert_eq!((a.access, a.privilege_limit), (2, Privilege::Administrator));
        round_trip(&ChannelAccessResponse {
            access: 0x22,
            privilege_limit: Privilege::User,
        });
        assert_eq!(
            ChannelAccessResponse::parse(&[0x02]),
            Err(ParseError::Length)
        );
    }
}
