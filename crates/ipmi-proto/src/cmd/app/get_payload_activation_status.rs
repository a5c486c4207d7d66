//! Get Payload Activation Status (IPMI 2.0 section 24.4, App 0x4A): how many instances of a
//! payload type there can be and which are active.

use crate::cmd::{command, expect_len, take, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Payload Activation Status (FreeIPMI's `ipmiconsole` asks before activating).
    GetPayloadActivationStatus, "Get Payload Activation Status", "24.4",
    NetFn::APP, 0x4a, Some(Privilege::User),
    u8, PayloadActivationStatus
);

/// The Get Payload Activation Status response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadActivationStatus {
    /// How many instances of the payload type the BMC supports (bits 3:0).
    pub capacity: u8,
    /// Bit `n`: instance `n + 1` is active.
    pub active: u16,
}

impl Body for PayloadActivationStatus {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 3, 3)?;
        Ok(PayloadActivationStatus {
            capacity: d[0] & 0x0f,
            active: u16::from_le_bytes(take(d, 1)?),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.capacity & 0x0f);
        out.extend_from_slice(&self.active.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn one_sol_instance_active() {
        assert_eq!(captured::<u8>(&[0x01]), 1);
        let a: PayloadActivationStatus = captured(&[0x01, 0x01, 0x00]);
        assert_eq!((a.capacity, a.active), (1, 1));
        round_trip(&PayloadActivationStatus {
            capacity: 2,
            active: 0x8002,
        });
        assert_eq!(
            PayloadActivationStatus::parse(&[1, 1]),
            Err(ParseError::Length)
        );
    }
}
