//! Chassis Identify (IPMI 2.0 section 28.5, Chassis 0x04, Operator).

use crate::cmd::{command, expect_len, Body, Empty};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Chassis Identify: turn the identify light on for a while, on for good, or off.
    ChassisIdentify, "Chassis Identify", "28.5",
    NetFn::CHASSIS, 0x04, Some(Privilege::Operator), IdentifyRequest, Empty
);

/// The Chassis Identify request; both bytes are optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IdentifyRequest {
    /// Interval in seconds (0 turns identify off); absent means the default of 15 s.
    pub interval: Option<u8>,
    /// Byte 2, bit 0: turn identify on until told otherwise.
    pub force_on: bool,
}

impl Body for IdentifyRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 0, 2)?;
        Ok(IdentifyRequest {
            interval: d.first().copied(),
            force_on: d.get(1).is_some_and(|b| b & 1 != 0),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        if let Some(i) = self.interval {
            out.push(i);
            if self.force_on {
                out.push(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn ipmitool_and_freeipmi_requests() {
        // `ipmitool chassis identify 5`, `... identify force`, `ipmi-chassis --chassis-identify=15`.
        let r: IdentifyRequest = captured(&[0x05]);
        assert_eq!((r.interval, r.force_on), (Some(5), false));
        let r: IdentifyRequest = captured(&[0x00, 0x01]);
        assert_eq!((r.interval, r.force_on), (Some(0), true));
        let r: IdentifyRequest = captured(&[0x0f]);
        assert_eq!(r.interval, Some(15));
        let default: IdentifyRequest = captured(&[]);
        assert_eq!(default, IdentifyRequest::default());
        round_trip(&IdentifyRequest {
            interval: Some(255),
            force_on: true,
        });
        assert_eq!(IdentifyRequest::parse(&[1, 1, 1]), Err(ParseError::Length));
    }
}
