//! Get Self Test Results (IPMI 2.0 section 20.4, App 0x04, User).

use crate::cmd::{command, expect_len, Body, Empty};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Self Test Results.
    GetSelfTestResults, "Get Self Test Results", "20.4",
    NetFn::APP, 0x04, Some(Privilege::User), Empty, SelfTestResponse
);

/// The self test result: byte 1 is 0x55 for "no error", byte 2 the failure bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelfTestResponse {
    /// The result code (0x55 no error, 0x56 not implemented, 0x57 corrupted or inaccessible data, ...).
    pub result: u8,
    /// Result details (failure bits for 0x57).
    pub detail: u8,
}

impl SelfTestResponse {
    /// "No error. All Self Tests Passed."
    pub const PASSED: SelfTestResponse = SelfTestResponse {
        result: 0x55,
        detail: 0,
    };
}

impl Body for SelfTestResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2)?;
        Ok(SelfTestResponse {
            result: d[0],
            detail: d[1],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.result, self.detail]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};
    use crate::cmd::Command;

    #[test]
    fn passed_as_we_answer_ipmitool() {
        // `ipmitool mc selftest`: App 0x04, no data; 0x55 0x00 means passed.
        assert_eq!(
            (GetSelfTestResults::NETFN, GetSelfTestResults::CMD),
            (NetFn::APP, 0x04)
        );
        let r: SelfTestResponse = captured(&[0x55, 0x00]);
        assert_eq!(r, SelfTestResponse::PASSED);
        round_trip(&SelfTestResponse {
            result: 0x57,
            detail: 0x80,
        });
        assert_eq!(SelfTestResponse::parse(&[0x55]), Err(ParseError::Length));
    }
}
