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
