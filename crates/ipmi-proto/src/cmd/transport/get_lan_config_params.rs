//! Get LAN Configuration Parameters (IPMI 2.0 section 23.2, Transport 0x02, Operator).

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get LAN Configuration Parameters (`ipmitool lan print`).
    GetLanConfigParams, "Get LAN Configuration Parameters", "23.2",
    NetFn::TRANSPORT, 0x02, Some(Privilege::Operator),
    LanConfigRequest, LanConfigResponse
);

/// The Get LAN Configuration Parameters request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LanConfigRequest {
    /// Byte 1, bit 7: get the parameter revision only.
    pub revision_only: bool,
    /// Channel number (0x0E: this channel).
    pub channel: u8,
    /// Parameter selector.
    pub parameter: u8,
    /// Set selector.
    pub set: u8,
    /// Block selector.
    pub block: u8,
}

impl Body for LanConfigRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 4, 4)?;
        Ok(LanConfigRequest {
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

/// The Get LAN Configuration Parameters response: the revision and the parameter data
/// (absent when only the revision was asked for).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LanConfigResponse {
    /// The parameter data.
    pub data: Vec<u8>,
}

impl Body for LanConfigResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 1, 64)?;
        Ok(LanConfigResponse {
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
    fn ipmitool_lan_print_and_ipmi_sim() {
        // `ipmitool lan print 1` asks channel 1 for each parameter; ipmi_sim answers.
        let r: LanConfigRequest = captured(&[0x01, 0x02, 0x00, 0x00]);
        assert_eq!((r.revision_only, r.channel, r.parameter), (false, 1, 2));
        let r: LanConfigRequest = captured(&[0x01, 0x16, 0x00, 0x00]);
        assert_eq!(r.parameter, 22);
        let a: LanConfigResponse = captured(&[0x11, 0x04, 0x04, 0x04, 0x04, 0x00]);
        assert_eq!(a.data, [0x04, 0x04, 0x04, 0x04, 0x00]);
        let a: LanConfigResponse =
            captured(&hex::decode("117075626c6963000000000000000000000000").unwrap());
        assert_eq!(&a.data[..6], b"public");
        round_trip(&LanConfigRequest {
            revision_only: true,
            channel: 0x0e,
            parameter: 5,
            set: 1,
            block: 2,
        });
        assert_eq!(LanConfigResponse::parse(&[]), Err(ParseError::Length));
    }
}
