//! Get Channel Authentication Capabilities (IPMI 2.0 section 22.13, App 0x38, outside a session).

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Channel Authentication Capabilities: which IPMI 1.5 auth types and which IPMI versions
    /// a channel accepts; the first message of every login.
    GetChannelAuthCapabilities, "Get Channel Authentication Capabilities", "22.13",
    NetFn::APP, 0x38, None,
    ChannelAuthCapabilitiesRequest, ChannelAuthCapabilitiesResponse
);

/// Bit 7 of the request's channel byte and of the response's auth type byte: IPMI v2.0 extended
/// data asked for, and present.
const IPMI20_EXTENDED: u8 = 0x80;

/// The Get Channel Authentication Capabilities request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelAuthCapabilitiesRequest {
    /// Channel number (bits 3:0; 0x0E: this channel).
    pub channel: u8,
    /// Bit 7: ask for the IPMI v2.0 extended capabilities (a console that can do RMCP+ sets it).
    pub ipmi20_extended: bool,
    /// The privilege level the console means to ask for.
    pub privilege: Privilege,
}

impl Body for ChannelAuthCapabilitiesRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2)?;
        if d[1] & 0xf0 != 0 {
            return Err(ParseError::Field);
        }
        Ok(ChannelAuthCapabilitiesRequest {
            channel: d[0] & 0x0f,
            ipmi20_extended: d[0] & IPMI20_EXTENDED != 0,
            privilege: Privilege::from_u8(d[1]).ok_or(ParseError::Field)?,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        let v2 = if self.ipmi20_extended {
            IPMI20_EXTENDED
        } else {
            0
        };
        out.extend_from_slice(&[v2 | (self.channel & 0x0f), self.privilege.as_u8()]);
    }
}

/// The Get Channel Authentication Capabilities response (8 bytes; anything after them is
/// ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelAuthCapabilitiesResponse {
    /// The channel number.
    pub channel: u8,
    /// Byte 2, bit 7: the IPMI v2.0 extended capabilities (byte 4) are valid.
    pub ipmi20_extended: bool,
    /// Byte 2, bits 5:0: the IPMI 1.5 auth types supported (bit n for auth type n, see
    /// `AuthType::mask_bit`).
    pub auth_types: u8,
    /// Byte 3, bit 5: a BMC key (KG) other than the default is set (two-key login).
    pub kg_set: bool,
    /// Byte 3, bit 4: per-message authentication is disabled.
    pub per_message_auth_disabled: bool,
    /// Byte 3, bit 3: user-level authentication is disabled.
    pub user_level_auth_disabled: bool,
    /// Byte 3, bit 2: users with names (non-null user names) are enabled.
    pub non_null_users: bool,
    /// Byte 3, bit 1: the null user name (with a password) is enabled.
    pub null_user: bool,
    /// Byte 3, bit 0: anonymous login (null user, null password) is enabled.
    pub anonymous_login: bool,
    /// Byte 4, bit 1: IPMI v2.0 / RMCP+ sessions are supported (valid with `ipmi20_extended`).
    pub supports_ipmi20: bool,
    /// Byte 4, bit 0: IPMI v1.5 sessions are supported (valid with `ipmi20_extended`).
    pub supports_ipmi15: bool,
    /// OEM IANA (3 bytes, 0 if none).
    pub oem_id: u32,
    /// OEM auxiliary data.
    pub oem_aux: u8,
}

fn bit(b: u8, n: u8) -> bool {
    b & (1 << n) != 0
}

fn bits(flags: &[(bool, u8)]) -> u8 {
    flags
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |b, (_, n)| b | (1 << n))
}

impl Body for ChannelAuthCapabilitiesResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        if d.len() < 8 {
            return Err(ParseError::Length);
        }
        Ok(ChannelAuthCapabilitiesResponse {
            channel: d[0] & 0x0f,
            ipmi20_extended: d[1] & IPMI20_EXTENDED != 0,
            auth_types: d[1] & 0x3f,
            kg_set: bit(d[2], 5),
            per_message_auth_disabled: bit(d[2], 4),
            user_level_auth_disabled: bit(d[2], 3),
            non_null_users: bit(d[2], 2),
            null_user: bit(d[2], 1),
            anonymous_login: bit(d[2], 0),
            supports_ipmi20: bit(d[3], 1),
            supports_ipmi15: bit(d[3], 0),
            oem_id: u32::from_le_bytes([d[4], d[5], d[6], 0]),
            oem_aux: d[7],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        let v2 = if self.ipmi20_extended {
            IPMI20_EXTENDED
        } else {
            0
        };
        out.push(self.channel & 0x0f);
        out.push(v2 | (self.auth_types & 0x3f));
        out.push(bits(&[
            (self.kg_set, 5),
            (self.per_message_auth_disabled, 4),
            (self.user_level_auth_disabled, 3),
            (self.non_null_users, 2),
            (self.null_user, 1),
            (self.anonymous_login, 0),
        ]));
        out.push(bits(&[
            (self.supports_ipmi20, 1),
            (self.supports_ipmi15, 0),
        ]));
        out.extend_from_slice(&self.oem_id.to_le_bytes()[..3]);
        out.push(self.oem_aux);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn requests_of_real_clients() {
        // ipmitool -I lanplus (admin), FreeIPMI LAN_2_0 (user) and ipmitool -I lan.
        let r: ChannelAuthCapabilitiesRequest = captured(&[0x8e, 0x04]);
        assert_eq!((r.channel, r.ipmi20_extended), (0x0e, true));
        assert_eq!(r.privilege, Privilege::Administrator);
        let r: ChannelAuthCapabilitiesRequest = captured(&[0x8e, 0x02]);
        assert_eq!(r.privilege, Privilege::User);
        let r: ChannelAuthCapabilitiesRequest = captured(&[0x0e, 0x04]);
        assert!(!r.ipmi20_extended);
        assert_eq!(
            ChannelAuthCapabilitiesRequest::parse(&[0x8e, 0x14]),
            Err(ParseError::Field)
        );
        assert_eq!(
            ChannelAuthCapabilitiesRequest::parse(&[0x8e, 0x00]),
            Err(ParseError::Field)
        );
        assert_eq!(
            ChannelAuthCapabilitiesRequest::parse(&[0x8e]),
            Err(ParseError::Length)
        );
        round_trip(&ChannelAuthCapabilitiesRequest {
            channel: 1,
            ipmi20_extended: false,
            privilege: Privilege::Operator,
        });
    }

    #[test]
    fn response_of_ipmi_sim_and_round_trip() {
        // OpenIPMI's ipmi_sim: channel 1, MD5 only, v2.0 data, named users, v1.5 and v2.0.
        let r: ChannelAuthCapabilitiesResponse =
            captured(&[0x01, 0x84, 0x04, 0x03, 0x00, 0x00, 0x00, 0x00]);
        assert!(r.ipmi20_extended && r.supports_ipmi20 && r.supports_ipmi15);
        assert_eq!(r.auth_types, 0x04);
        assert!(r.non_null_users && !r.null_user && !r.kg_set);
        round_trip(&ChannelAuthCapabilitiesResponse {
            channel: 2,
            ipmi20_extended: true,
            auth_types: 0x37,
            kg_set: true,
            per_message_auth_disabled: true,
            user_level_auth_disabled: false,
            non_null_users: false,
            null_user: true,
            anonymous_login: true,
            supports_ipmi20: true,
            supports_ipmi15: false,
            oem_id: 0x00_1234,
            oem_aux: 9,
        });
        assert_eq!(
            ChannelAuthCapabilitiesResponse::parse(&[1, 0x84, 4, 3]),
            Err(ParseError::Length)
        );
    }
}
