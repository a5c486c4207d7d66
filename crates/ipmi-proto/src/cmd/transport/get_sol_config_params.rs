//! Get SOL Configuration Parameters (IPMI 2.0 section 26.3, Transport 0x22, User).

use super::get_lan_config_params::PARAMETER_REVISION;
use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get SOL Configuration Parameters (`ipmitool sol info`).
    GetSolConfigParams, "Get SOL Configuration Parameters", "26.3",
    NetFn::TRANSPORT, 0x22, Some(Privilege::User),
    SolConfigRequest, SolConfigResponse
);

/// The Get SOL Configuration Parameters request: the request of Get LAN Configuration
/// Parameters byte for byte (sections 23.2 and 26.3 give it the same four bytes), so one type
/// parses and emits both.
pub type SolConfigRequest = super::get_lan_config_params::LanConfigRequest;

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
