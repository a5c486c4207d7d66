//! Set Session Privilege Level (IPMI 2.0 section 22.18, App 0x3B, any session).

use crate::cmd::{command, expect_len, Body};
use crate::types::{CompletionCode, NetFn, ParseError, Privilege};

command!(
    /// Set Session Privilege Level: raise or lower the session's operating privilege, up to the
    /// session's maximum.
    SetSessionPrivilegeLevel, "Set Session Privilege Level", "22.18",
    NetFn::APP, 0x3b, Some(Privilege::Callback),
    SetSessionPrivilegeRequest, SetSessionPrivilegeResponse
);

/// Completion code: the requested level is not available for this user.
pub const LEVEL_NOT_AVAILABLE: CompletionCode = CompletionCode(0x80);
/// Completion code: the requested level exceeds the channel's or the user's privilege limit.
pub const LEVEL_EXCEEDS_LIMIT: CompletionCode = CompletionCode(0x81);

/// The Set Session Privilege Level request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetSessionPrivilegeRequest {
    /// The level asked for; `None` (0 in bits 3:0) leaves it and reads the present level.
    pub level: Option<Privilege>,
}

impl Body for SetSessionPrivilegeRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 1, 1)?;
        // With 0 in bits 3:0 the reserved bits are not looked at: nothing is changed.
        if d[0] & 0x0f == 0 {
            return Ok(SetSessionPrivilegeRequest { level: None });
        }
        if d[0] & 0xf0 != 0 {
            return Err(ParseError::Field);
        }
        let level = Privilege::from_u8(d[0]).ok_or(ParseError::Field)?;
        Ok(SetSessionPrivilegeRequest { level: Some(level) })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.level.map_or(0, Privilege::as_u8));
    }
}

/// The Set Session Privilege Level response: the session's privilege level now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetSessionPrivilegeResponse {
    /// The new (or present) privilege level.
    pub level: Privilege,
}

impl Body for SetSessionPrivilegeResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 1, 1)?;
        Ok(SetSessionPrivilegeResponse {
            level: Privilege::from_u8(d[0]).ok_or(ParseError::Field)?,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.level.as_u8());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn requests_and_answers_of_real_clients_and_ipmi_sim() {
        // ipmitool asks for administrator (04), FreeIPMI's bmc-info for user (02), ipmipower for
        // operator (03); ipmi_sim answers with the level.
        for (b, level) in [
            (0x04, Privilege::Administrator),
            (0x02, Privilege::User),
            (0x03, Privilege::Operator),
        ] {
            let r: SetSessionPrivilegeRequest = captured(&[b]);
            assert_eq!(r.level, Some(level));
            let a: SetSessionPrivilegeResponse = captured(&[b]);
            assert_eq!(a.level, level);
        }
        let read: SetSessionPrivilegeRequest = captured(&[0x00]);
        assert_eq!(read.level, None);
        assert_eq!(
            SetSessionPrivilegeRequest::parse(&[0x10]).unwrap().level,
            None,
            "0 in bits 3:0 reads, whatever the reserved bits"
        );
        assert_eq!(
            SetSessionPrivilegeRequest::parse(&[0x14]),
            Err(ParseError::Field)
        );
        assert_eq!(
            SetSessionPrivilegeRequest::parse(&[0x06]),
            Err(ParseError::Field)
        );
        assert_eq!(
            SetSessionPrivilegeRequest::parse(&[4, 0]),
            Err(ParseError::Length)
        );
        round_trip(&SetSessionPrivilegeRequest {
            level: Some(Privilege::Oem),
        });
        round_trip(&SetSessionPrivilegeResponse {
            level: Privilege::Callback,
        });
        assert_eq!(
            SetSessionPrivilegeResponse::parse(&[0]),
            Err(ParseError::Field)
        );
    }
}
