//! Get Chassis Status (IPMI 2.0 section 28.2, Chassis 0x01, User).

use crate::cmd::{command, expect_len, Body, Empty};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Chassis Status: power state, last power event, identify state.
    GetChassisStatus, "Get Chassis Status", "28.2",
    NetFn::CHASSIS, 0x01, Some(Privilege::User), Empty, ChassisStatus
);

/// The Get Chassis Status response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChassisStatus {
    /// Byte 1, bit 0: system power is on.
    pub power_on: bool,
    /// Byte 1, bits 6:5: power restore policy (0 stay off, 1 restore previous, 2 always on, 3 unknown).
    pub restore_policy: u8,
    /// Byte 1, bits 4:1: power control fault, power fault, interlock, overload.
    pub power_faults: u8,
    /// Byte 2: last power event (bit 4: last power on was by an IPMI command).
    pub last_event: u8,
    /// Byte 3: misc chassis state (bit 6: identify supported; bits 5:4 identify state).
    pub misc: u8,
    /// Byte 4 (optional): front panel button capabilities and disable/enable status.
    pub front_panel: Option<u8>,
}

impl Body for ChassisStatus {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 3, 4)?;
        Ok(ChassisStatus {
            power_on: d[0] & 1 != 0,
            restore_policy: (d[0] >> 5) & 3,
            power_faults: (d[0] >> 1) & 0x0f,
            last_event: d[1],
            misc: d[2],
            front_panel: d.get(3).copied(),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(
            u8::from(self.power_on)
                | ((self.power_faults & 0x0f) << 1)
                | ((self.restore_policy & 3) << 5),
        );
        out.push(self.last_event);
        out.push(self.misc);
        out.extend(self.front_panel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn power_on_restore_previous() {
        let s = ChassisStatus::parse(&[0x21, 0x10, 0x40, 0x00]).unwrap();
        assert!(s.power_on);
        assert_eq!(s.restore_policy, 1);
        assert_eq!(s.to_bytes(), [0x21, 0x10, 0x40, 0x00]);
    }

    #[test]
    fn ipmi_sim_and_ours() {
        // ipmi_sim answers 3 bytes (power on, nothing else); ours adds the front panel byte.
        let sim: ChassisStatus = captured(&[0x01, 0x00, 0x00]);
        assert!(sim.power_on);
        assert_eq!(sim.front_panel, None);
        let ours: ChassisStatus = captured(&[0x21, 0x00, 0x60, 0x00]);
        assert_eq!((ours.restore_policy, ours.misc), (1, 0x60));
        round_trip(&ChassisStatus {
            power_on: false,
            restore_policy: 2,
            power_faults: 0x0a,
            last_event: 0x10,
            misc: 0x40,
            front_panel: Some(0x0f),
        });
        assert_eq!(ChassisStatus::parse(&[0x01, 0x00]), Err(ParseError::Length));
    }
}
