//! Set SOL Configuration Parameters (IPMI 2.0 section 26.2, Transport 0x21, Administrator).

use crate::cmd::{command, expect_len, Body, Empty};
use crate::types::{CompletionCode, NetFn, ParseError, Privilege};

command!(
    /// Set SOL Configuration Parameters (`ipmitool sol set`).
    SetSolConfigParams, "Set SOL Configuration Parameters", "26.2",
    NetFn::TRANSPORT, 0x21, Some(Privilege::Administrator),
    SetSolConfigRequest, Empty
);

/// Completion code: "set in progress" is asked for while a set is already in progress.
pub const SET_ALREADY_IN_PROGRESS: CompletionCode = CompletionCode(0x81);
/// Completion code: the parameter is read-only.
pub const READ_ONLY_PARAMETER: CompletionCode = CompletionCode(0x82);

/// The Set SOL Configuration Parameters request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetSolConfigRequest {
    /// Channel number (bits 3:0; 0x0E: this channel).
    pub channel: u8,
    /// Parameter selector ([`super::sol_param`]).
    pub parameter: u8,
    /// The parameter's new data.
    pub data: Vec<u8>,
}

impl Body for SetSolConfigRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 3, 32)?;
        Ok(SetSolConfigRequest {
            channel: d[0] & 0x0f,
            parameter: d[1],
            data: d[2..].to_vec(),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.channel & 0x0f, self.parameter]);
        out.extend_from_slice(&self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::captured;

    #[test]
    fn ipmitool_sol_set() {
        // `ipmitool sol set enabled false 1`: set in progress, then parameter 1 = 0.
        let r: SetSolConfigRequest = captured(&[0x01, 0x00, 0x01]);
        assert_eq!(
            (r.channel, r.parameter, r.data.as_slice()),
            (1, 0, &[1][..])
        );
        let r: SetSolConfigRequest = captured(&[0x01, 0x01, 0x00]);
        assert_eq!((r.parameter, r.data.as_slice()), (1, &[0][..]));
        assert_eq!(SetSolConfigRequest::parse(&[1, 1]), Err(ParseError::Length));
    }
}
