//! Get Chassis Capabilities (IPMI 2.0 section 28.1, Chassis 0x00, User).

use crate::cmd::{command, expect_len, Body, Empty};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Chassis Capabilities.
    GetChassisCapabilities, "Get Chassis Capabilities", "28.1",
    NetFn::CHASSIS, 0x00, Some(Privilege::User), Empty, ChassisCapabilities
);

/// The Get Chassis Capabilities response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChassisCapabilities {
    /// Capability flags: power interlock (3), diagnostic interrupt (2), front panel lockout (1),
    /// intrusion sensor (0).
    pub flags: u8,
    /// FRU info device address.
    pub fru_address: u8,
    /// SDR device address.
    pub sdr_address: u8,
    /// SEL device address.
    pub sel_address: u8,
    /// System management device address.
    pub sm_address: u8,
    /// Chassis bridge device address, if given.
    pub bridge_address: Option<u8>,
}

impl Body for ChassisCapabilities {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 5, 6)?;
        Ok(ChassisCapabilities {
            flags: d[0],
            fru_address: d[1],
            sdr_address: d[2],
            sel_address: d[3],
            sm_address: d[4],
            bridge_address: d.get(5).copied(),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            self.flags,
            self.fru_address,
            self.sdr_address,
            self.sel_address,
            self.sm_address,
        ]);
        out.extend(self.bridge_address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn as_we_answer_ipmitool_and_freeipmi() {
        // `ipmitool raw 0x00 0x00` and `ipmi-chassis --get-chassis-capabilities`: no data.
        let _: Empty = captured(&[]);
        let c: ChassisCapabilities = captured(&[0x04, 0x20, 0x20, 0x20, 0x20]);
        assert_eq!(
            (c.flags, c.fru_address, c.bridge_address),
            (0x04, 0x20, None)
        );
        round_trip(&ChassisCapabilities {
            flags: 1,
            fru_address: 0x20,
            sdr_address: 0x22,
            sel_address: 0x24,
            sm_address: 0x26,
            bridge_address: Some(0x28),
        });
        assert_eq!(
            ChassisCapabilities::parse(&[0x04, 0x20, 0x20, 0x20]),
            Err(ParseError::Length)
        );
    }
}
