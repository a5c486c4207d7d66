//! Get Sensor Event Enable (IPMI 2.0 section 35.11, Sensor/Event 0x29, User). The request is the
//! sensor number.

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Sensor Event Enable: whether a sensor is scanned and which of its events generate
    /// event messages.
    GetSensorEventEnable, "Get Sensor Event Enable", "35.11",
    NetFn::SENSOR_EVENT, 0x29, Some(Privilege::User), u8, EventEnable
);

/// The Get Sensor Event Enable response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventEnable {
    /// Bit 7: event messages from this sensor enabled; bit 6: scanning enabled.
    pub flags: u8,
    /// The assertion and deassertion events enabled, when given.
    pub masks: Option<(u16, u16)>,
}

impl Body for EventEnable {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 1, 5)?;
        // The event bytes are optional one by one; missing ones read as 0.
        let byte = |i: usize| d.get(i).copied().unwrap_or(0);
        Ok(EventEnable {
            flags: d[0],
            masks: (d.len() > 1).then(|| {
                (
                    u16::from_le_bytes([byte(1), byte(2)]),
                    u16::from_le_bytes([byte(3), byte(4)]),
                )
            }),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.flags);
        if let Some((a, d)) = self.masks {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&d.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let e = EventEnable::parse(&[0x40, 0x80, 0x02, 0, 0]).unwrap();
        assert_eq!(e.masks, Some((0x0280, 0)));
        assert_eq!(e.to_bytes(), [0x40, 0x80, 0x02, 0, 0]);
        assert_eq!(EventEnable::parse(&[0xc0]).unwrap().to_bytes(), [0xc0]);
        assert_eq!(EventEnable::parse(&[0xc0, 1]).unwrap().masks, Some((1, 0)));
    }
}
