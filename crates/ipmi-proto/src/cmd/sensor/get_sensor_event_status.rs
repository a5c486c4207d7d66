//! Get Sensor Event Status (IPMI 2.0 section 35.13, Sensor/Event 0x2B, User). The request is the
//! sensor number.

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Sensor Event Status: which of a sensor's events are asserted.
    GetSensorEventStatus, "Get Sensor Event Status", "35.13",
    NetFn::SENSOR_EVENT, 0x2b, Some(Privilege::User), u8, EventStatus
);

/// The Get Sensor Event Status response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventStatus {
    /// Bit 7: event messages enabled; bit 6: scanning enabled; bit 5: reading unavailable.
    pub flags: u8,
    /// The assertion events present.
    pub assertion: u16,
    /// The deassertion events present.
    pub deassertion: u16,
}

impl Body for EventStatus {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 1, 5)?;
        let byte = |i: usize| d.get(i).copied().unwrap_or(0);
        Ok(EventStatus {
            flags: d[0],
            assertion: u16::from_le_bytes([byte(1), byte(2)]),
            deassertion: u16::from_le_bytes([byte(3), byte(4)]),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.flags);
        out.extend_from_slice(&self.assertion.to_le_bytes());
        out.extend_from_slice(&self.deassertion.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let wire = [0x40, 0x80, 0x02, 0, 0];
        let s = EventStatus::parse(&wire).unwrap();
        assert_eq!(s.assertion, 0x0280);
        assert_eq!(s.to_bytes(), wire);
        assert_eq!(EventStatus::parse(&[0x60]).unwrap().assertion, 0);
    }
}
