//! Deactivate Payload (IPMI 2.0 section 24.2, App 0x49): ends a payload instance, whichever
//! session it runs in (Ironic deactivates SOL before activating its own).

use crate::cmd::{command, expect_len, take, Body, Empty};
use crate::types::{CompletionCode, NetFn, ParseError, Privilege};

command!(
    /// Deactivate Payload (`ipmitool sol deactivate`). Needs the privilege the payload needs.
    DeactivatePayload, "Deactivate Payload", "24.2",
    NetFn::APP, 0x49, Some(Privilege::User),
    DeactivatePayloadRequest, Empty
);

/// Completion code: the payload is already deactivated.
pub const ALREADY_DEACTIVATED: CompletionCode = CompletionCode(0x80);
/// Completion code: the payload type is disabled.
pub const PAYLOAD_TYPE_DISABLED: CompletionCode = CompletionCode(0x81);

/// The Deactivate Payload request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeactivatePayloadRequest {
    /// The payload type (bits 5:0).
    pub payload_type: u8,
    /// The payload instance (bits 3:0).
    pub instance: u8,
    /// Auxiliary data (reserved for SOL).
    pub aux: [u8; 4],
}

impl Body for DeactivatePayloadRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 6, 6)?;
        Ok(DeactivatePayloadRequest {
            payload_type: d[0] & 0x3f,
            instance: d[1] & 0x0f,
            aux: take(d, 2)?,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.payload_type, self.instance]);
        out.extend_from_slice(&self.aux);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::captured;

    #[test]
    fn ipmitool_sol_deactivate() {
        let r: DeactivatePayloadRequest = captured(&[0x01, 0x01, 0, 0, 0, 0]);
        assert_eq!((r.payload_type, r.instance, r.aux), (1, 1, [0; 4]));
        assert_eq!(
            DeactivatePayloadRequest::parse(&[1, 1]),
            Err(ParseError::Length)
        );
    }
}
