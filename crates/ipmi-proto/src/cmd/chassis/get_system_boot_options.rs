//! Get System Boot Options (IPMI 2.0 section 28.13, Chassis 0x09, Operator).

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get System Boot Options: read one boot option parameter.
    GetSystemBootOptions, "Get System Boot Options", "28.13",
    NetFn::CHASSIS, 0x09, Some(Privilege::Operator),
    BootOptionsRequest, BootOptionsResponse
);

/// The Get System Boot Options request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootOptionsRequest {
    /// Parameter selector (bits 6:0).
    pub parameter: u8,
    /// Set selector.
    pub set: u8,
    /// Block selector.
    pub block: u8,
}

impl Body for BootOptionsRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 3, 3)?;
        Ok(BootOptionsRequest {
            parameter: d[0] & 0x7f,
            set: d[1],
            block: d[2],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.parameter & 0x7f, self.set, self.block]);
    }
}

/// Parameter version of every boot option parameter (byte 1 of the response).
pub const PARAMETER_VERSION: u8 = 0x01;

/// The Get System Boot Options response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootOptionsResponse {
    /// Byte 2, bit 7: the parameter is marked invalid/locked.
    pub invalid: bool,
    /// Parameter selector.
    pub parameter: u8,
    /// Parameter data.
    pub data: Vec<u8>,
}

impl Body for BootOptionsResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 64)?;
        Ok(BootOptionsResponse {
            invalid: d[1] & 0x80 != 0,
            parameter: d[1] & 0x7f,
            data: d[2..].to_vec(),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(PARAMETER_VERSION);
        out.push((self.parameter & 0x7f) | if self.invalid { 0x80 } else { 0 });
        out.extend_from_slice(&self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn ipmitool_bootparam_and_ipmi_sim() {
        // `ipmitool chassis bootparam get 5`; ipmi_sim answers its boot flags (PXE, not valid).
        let r: BootOptionsRequest = captured(&[0x05, 0x00, 0x00]);
        assert_eq!((r.parameter, r.set, r.block), (5, 0, 0));
        let a: BootOptionsResponse = captured(&[0x01, 0x05, 0x00, 0x04, 0x00, 0x00, 0x00]);
        assert_eq!((a.invalid, a.parameter), (false, 5));
        assert_eq!(a.data, [0x00, 0x04, 0x00, 0x00, 0x00]);
        round_trip(&BootOptionsResponse {
            invalid: true,
            parameter: 4,
            data: vec![1, 2],
        });
        assert_eq!(BootOptionsRequest::parse(&[5, 0]), Err(ParseError::Length));
        assert_eq!(BootOptionsResponse::parse(&[1]), Err(ParseError::Length));
    }
}
