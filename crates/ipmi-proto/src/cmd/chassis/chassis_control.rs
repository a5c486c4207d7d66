//! Chassis Control (IPMI 2.0 section 28.3, Chassis 0x02, Operator).

use crate::cmd::{command, expect_len, Body, Empty};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Chassis Control: power down, up, cycle, hard reset, diagnostic interrupt, soft shutdown.
    ChassisControl, "Chassis Control", "28.3",
    NetFn::CHASSIS, 0x02, Some(Privilege::Operator), ControlAction, Empty
);

/// The chassis control byte (bits 3:0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlAction {
    /// 0: power down.
    PowerDown,
    /// 1: power up.
    PowerUp,
    /// 2: power cycle.
    PowerCycle,
    /// 3: hard reset.
    HardReset,
    /// 4: pulse diagnostic interrupt (NMI).
    DiagnosticInterrupt,
    /// 5: initiate a soft shutdown via ACPI by emulating a fatal overtemperature.
    SoftShutdown,
}

impl Body for ControlAction {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 1, 1)?;
        Ok(match d[0] & 0x0f {
            0 => ControlAction::PowerDown,
            1 => ControlAction::PowerUp,
            2 => ControlAction::PowerCycle,
            3 => ControlAction::HardReset,
            4 => ControlAction::DiagnosticInterrupt,
            5 => ControlAction::SoftShutdown,
            _ => return Err(ParseError::Field),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn ipmitool_and_freeipmi_actions() {
        // `ipmitool chassis power cycle` and `ipmipower --off`.
        assert_eq!(
            captured::<ControlAction>(&[0x02]),
            ControlAction::PowerCycle
        );
        assert_eq!(captured::<ControlAction>(&[0x00]), ControlAction::PowerDown);
        for a in [
            ControlAction::PowerUp,
            ControlAction::HardReset,
            ControlAction::DiagnosticInterrupt,
            ControlAction::SoftShutdown,
        ] {
            round_trip(&a);
        }
        assert_eq!(ControlAction::parse(&[0x06]), Err(ParseError::Field));
        assert_eq!(ControlAction::parse(&[]), Err(ParseError::Length));
    }
}
