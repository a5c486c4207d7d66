//! Get SOL Configuration Parameters (IPMI 2.0 section 26.3, Transport 0x22, User).

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get SOL Configuration Parameters (`ipmitool sol info`).
    GetSolConfigParams, "Get SOL Configuration Parameters", "26.3",
    NetFn::TRANSPORT, 0x22, Some(Privilege::User),
    SolConfigRequest, SolConfigResponse
);

/// The Get SOL Configuration Parameters request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SolConfigRequest {
    /// Byte 1, bit 7: get the parameter revision only.
    pub revision_only: bool,
    /// Channel number (0x0E: this channel).
    pub channel: u8,
    /// Parameter selector ([`super::sol_param`]).
    pub parameter: u8,
    /// Set selector.
    pub set: u8,
    /// Block selector.
    pub block: u8,
}

impl Body for SolConfigRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 4, 4)?;
        Ok(SolConfigRequest {
            revision_only: d[0] & 0x80 != 0,
            channel: d[0] & 0x0f,
            parameter: d[1],
            set: d[2],
            block: d[3],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push((self.channel & 0x0f) | if self.revision_only { 0x80 } else { 0 });
        out.extend_from_slice(&[self.parameter, self.set, self.block]);
    }
}

/// Parameter revision reported in byte 1 (IPMI 2.0: 0x11).
pub const PARAMETER_REVISION: u8 = 0x11;

/// The Get SOL Configuration Parameters response: the revision and the parameter data (absent
/// when only the revision was asked for).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SolConfigResponse {
    /// The parameter data.
    pub data: Vec<u8>,
}

impl Body for SolConfigResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 1, 32)?;
        Ok(SolConfigResponse {
            data: d[1..].to_vec(),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(PARAMETER_REVISION);
        out.extend_from_slice(&self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn ipmitool_sol_info() {
        // `ipmitool sol info 1` asks channel 1 for each parameter; the retry parameter answered.
        let r: SolConfigRequest = captured(&[0x01, 0x04, 0x00, 0x00]);
        assert_eq!((r.revision_only, r.channel, r.parameter), (false, 1, 4));
        let a: SolConfigResponse = captured(&[0x11, 0x07, 0x0a]);
        assert_eq!(a.data, [7, 10]);
        round_trip(&SolConfigRequest {
            revision_only: true,
            channel: 0x0e,
            parameter: 8,
            set: 0,
            block: 0,
        });
        assert_eq!(SolConfigResponse::parse(&[]), Err(ParseError::Length));
    }
}
