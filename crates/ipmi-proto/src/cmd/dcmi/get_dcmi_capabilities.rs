//! Get DCMI Capabilities Info (DCMI 1.5 section 6.1.1, Group Extension 0x01, User).

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get DCMI Capabilities Info: the DCMI version and one parameter of the capabilities.
    GetDcmiCapabilities, "Get DCMI Capabilities Info", "DCMI 6.1.1",
    NetFn::GROUP_EXTENSION, 0x01, Some(Privilege::User), DcmiCapabilitiesRequest, DcmiCapabilities
);

/// The request: group extension identification, then the parameter selector (1 supported
/// capabilities, 2 mandatory platform attributes, 3 optional platform attributes, 4
/// manageability access attributes, 5 enhanced system power statistics attributes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DcmiCapabilitiesRequest {
    /// The group extension identification (DCh for DCMI).
    pub group: u8,
    /// The parameter selector.
    pub parameter: u8,
}

impl Body for DcmiCapabilitiesRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2)?;
        Ok(DcmiCapabilitiesRequest {
            group: d[0],
            parameter: d[1],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.group, self.parameter]);
    }
}

/// The response: group extension identification, DCMI version, parameter revision, and the
/// parameter's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DcmiCapabilities {
    /// DCh.
    pub group: u8,
    /// DCMI specification conformance, major and minor version.
    pub version: (u8, u8),
    /// Parameter revision (02h for DCMI 1.5).
    pub revision: u8,
    /// The parameter's data.
    pub data: Vec<u8>,
}

impl Body for DcmiCapabilities {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 4, 4 + 64)?;
        Ok(DcmiCapabilities {
            group: d[0],
            version: (d[1], d[2]),
            revision: d[3],
            data: d[4..].to_vec(),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.group, self.version.0, self.version.1, self.revision]);
        out.extend_from_slice(&self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let q = DcmiCapabilitiesRequest::parse(&[0xdc, 1]).unwrap();
        assert_eq!((q.group, q.parameter), (0xdc, 1));
        assert_eq!(q.to_bytes(), [0xdc, 1]);
        let wire = [0xdc, 1, 5, 2, 0, 1, 0];
        let c = DcmiCapabilities::parse(&wire).unwrap();
        assert_eq!((c.version, c.data.as_slice()), ((1, 5), &[0, 1, 0][..]));
        assert_eq!(c.to_bytes(), wire);
    }
}
