//! Get User Access (IPMI 2.0 section 22.27, App 0x44, Operator).

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get User Access: a user's privilege limit and the channel's user counts.
    GetUserAccess, "Get User Access", "22.27",
    NetFn::APP, 0x44, Some(Privilege::Operator), UserAccessRequest, UserAccessResponse
);

/// The Get User Access request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserAccessRequest {
    /// Channel number (0x0E: this channel).
    pub channel: u8,
    /// User ID (1..=63).
    pub user_id: u8,
}

impl Body for UserAccessRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2)?;
        Ok(UserAccessRequest {
            channel: d[0] & 0x0f,
            user_id: d[1] & 0x3f,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.channel & 0x0f, self.user_id & 0x3f]);
    }
}

/// "No access" in the privilege limit field.
pub const NO_ACCESS: u8 = 0x0f;

/// The Get User Access response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserAccessResponse {
    /// Maximum number of user IDs.
    pub max_users: u8,
    /// Number of enabled user IDs.
    pub enabled_users: u8,
    /// Whether this user ID is enabled (`Some(true)`), disabled (`Some(false)`), or unspecified.
    pub enabled: Option<bool>,
    /// Number of user IDs with fixed names.
    pub fixed_names: u8,
    /// Byte 4 flags: callback only (6), link authentication (5), IPMI messaging (4).
    pub flags: u8,
    /// Privilege limit (1..=5, or [`NO_ACCESS`]).
    pub privilege_limit: u8,
}

impl Body for UserAccessResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 4, 4)?;
        Ok(UserAccessResponse {
            max_users: d[0] & 0x3f,
            enabled: match d[1] >> 6 {
                0b01 => Some(true),
                0b10 => Some(false),
                _ => None,
            },
            enabled_users: d[1] & 0x3f,
            fixed_names: d[2] & 0x3f,
            flags: d[3] & 0x70,
            privilege_limit: d[3] & 0x0f,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        let status = match self.enabled {
            Some(true) => 0x40,
            Some(false) => 0x80,
            None => 0,
        };
        out.push(self.max_users & 0x3f);
        out.push(status | (self.enabled_users & 0x3f));
        out.push(self.fixed_names & 0x3f);
        out.push((self.flags & 0x70) | (self.privilege_limit & 0x0f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn ipmitool_freeipmi_and_ipmi_sim() {
        // `ipmitool channel getaccess 1 2` and `user list 1` (user 1).
        let r: UserAccessRequest = captured(&[0x01, 0x02]);
        assert_eq!((r.channel, r.user_id), (1, 2));
        let _: UserAccessRequest = captured(&[0x01, 0x01]);
        // ipmi_sim: 63 users, 1 enabled, IPMI messaging, administrator.
        let a: UserAccessResponse = captured(&[0x3f, 0x01, 0x00, 0x14]);
        assert_eq!((a.max_users, a.enabled_users, a.enabled), (63, 1, None));
        assert_eq!((a.flags, a.privilege_limit), (0x10, 4));
        // Ours for the disabled null user: no access.
        let a: UserAccessResponse = captured(&[0x0a, 0x81, 0x01, 0x0f]);
        assert_eq!((a.enabled, a.privilege_limit), (Some(false), NO_ACCESS));
        round_trip(&UserAccessResponse {
            max_users: 10,
            enabled_users: 2,
            enabled: Some(true),
            fixed_names: 0,
            flags: 0x30,
            privilege_limit: 3,
        });
        assert_eq!(UserAccessRequest::parse(&[1]), Err(ParseError::Length));
    }
}
