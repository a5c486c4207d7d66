//! Get Channel Info (IPMI 2.0 section 22.24, App 0x42, User).

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Channel Info: medium, protocol and session support of a channel.
    GetChannelInfo, "Get Channel Info", "22.24",
    NetFn::APP, 0x42, Some(Privilege::User), ChannelInfoRequest, ChannelInfoResponse
);

/// The Get Channel Info request: the channel number (0x0E: this channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelInfoRequest {
    /// Channel number.
    pub channel: u8,
}

impl Body for ChannelInfoRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 1, 1)?;
        Ok(ChannelInfoRequest {
            channel: d[0] & 0x0f,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.channel);
    }
}

/// Channel medium type 802.3 LAN (table 6-3).
pub const MEDIUM_LAN: u8 = 0x04;
/// Channel protocol type IPMB-1.0, used for LAN channels (table 6-2).
pub const PROTOCOL_IPMB: u8 = 0x01;
/// The IPMI forum's IANA number (7154), which channel info uses as its vendor ID.
pub const IPMI_FORUM_IANA: u32 = 7154;

/// The Get Channel Info response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelInfoResponse {
    /// The actual channel number.
    pub channel: u8,
    /// Channel medium type.
    pub medium: u8,
    /// Channel protocol type.
    pub protocol: u8,
    /// Session support (bits 7:6 of byte 4: 0 session-less, 1 single, 2 multi, 3 session-based).
    pub session_support: u8,
    /// Number of active sessions (6 bits).
    pub active_sessions: u8,
    /// Vendor IANA (IPMI forum: 7154).
    pub vendor_id: u32,
    /// Auxiliary channel info.
    pub aux: [u8; 2],
}

impl Body for ChannelInfoResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 9, 9)?;
        Ok(ChannelInfoResponse {
            channel: d[0] & 0x0f,
            medium: d[1] & 0x7f,
            protocol: d[2] & 0x1f,
            session_support: d[3] >> 6,
            active_sessions: d[3] & 0x3f,
            vendor_id: u32::from_le_bytes([d[4], d[5], d[6], 0]),
            aux: [d[7], d[8]],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.channel & 0x0f);
        out.push(self.medium & 0x7f);
        out.push(self.protocol & 0x1f);
        out.push((self.session_support << 6) | (self.active_sessions & 0x3f));
        out.extend_from_slice(&self.vendor_id.to_le_bytes()[..3]);
        out.extend_from_slice(&self.aux);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn lan_channel_bytes() {
        let r = ChannelInfoResponse {
            channel: 1,
            medium: MEDIUM_LAN,
            protocol: PROTOCOL_IPMB,
            session_support: 2,
            active_sessions: 3,
            vendor_id: IPMI_FORUM_IANA,
            aux: [0, 0],
        };
        let b = r.to_bytes();
        assert_eq!(b, [0x01, 0x04, 0x01, 0x83, 0xf2, 0x1b, 0x00, 0, 0]);
        assert_eq!(ChannelInfoResponse::parse(&b).unwrap(), r);
    }

    #[test]
    fn requests_of_real_clients_and_ipmi_sim_answer() {
        // `ipmitool channel info` asks for this channel, FreeIPMI's bmc-info for each of 0..=11.
        let r: ChannelInfoRequest = captured(&[0x0e]);
        assert_eq!(r.channel, 0x0e);
        for ch in 0..=11u8 {
            assert_eq!(captured::<ChannelInfoRequest>(&[ch]).channel, ch);
        }
        // ipmi_sim: channel 1, 802.3 LAN, IPMB, multi-session with 1 active, IPMI forum IANA.
        let a: ChannelInfoResponse = captured(&hex::decode("01040181f21b000000").unwrap());
        assert_eq!(
            (a.medium, a.protocol, a.session_support),
            (MEDIUM_LAN, PROTOCOL_IPMB, 2)
        );
        assert_eq!((a.active_sessions, a.vendor_id), (1, IPMI_FORUM_IANA));
        round_trip(&ChannelInfoResponse { aux: [1, 2], ..a });
        assert_eq!(ChannelInfoRequest::parse(&[]), Err(ParseError::Length));
        assert_eq!(ChannelInfoResponse::parse(&[1; 8]), Err(ParseError::Length));
    }
}
