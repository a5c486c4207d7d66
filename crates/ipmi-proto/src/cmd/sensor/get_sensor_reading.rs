//! Get Sensor Reading (IPMI 2.0 section 35.14, Sensor/Event 0x2D, User). The request is the
//! sensor number.

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Sensor Reading: a sensor's present raw reading, or its present states.
    GetSensorReading, "Get Sensor Reading", "35.14",
    NetFn::SENSOR_EVENT, 0x2d, Some(Privilege::User), u8, SensorReadingResponse
);

/// Byte 2, bit 7: event messages from the sensor are enabled.
pub const EVENTS_ENABLED: u8 = 0x80;
/// Byte 2, bit 6: the sensor is scanned.
pub const SCANNING_ENABLED: u8 = 0x40;
/// Byte 2, bit 5: the reading (or state) is unavailable.
pub const READING_UNAVAILABLE: u8 = 0x20;

/// The Get Sensor Reading response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SensorReadingResponse {
    /// The raw reading (ignored for discrete sensors and when unavailable).
    pub raw: u8,
    /// [`EVENTS_ENABLED`], [`SCANNING_ENABLED`], [`READING_UNAVAILABLE`].
    pub flags: u8,
    /// Threshold sensors: the threshold comparison status (bits 5:0); discrete sensors: states
    /// 0-7 and, with the optional fourth byte, 8-14. `None`: not given.
    pub states: Option<u16>,
}

impl Body for SensorReadingResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 4)?;
        Ok(SensorReadingResponse {
            raw: d[0],
            flags: d[1],
            states: d
                .get(2)
                .map(|&lo| u16::from(lo) | (u16::from(d.get(3).copied().unwrap_or(0) & 0x7f) << 8)),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.raw, self.flags]);
        if let Some(s) = self.states {
            // The fourth byte's bit 7 is reserved and returned as 1 (section 35.14).
            out.extend_from_slice(&[s as u8, 0x80 | ((s >> 8) as u8 & 0x7f)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let r = SensorReadingResponse::parse(&[45, 0x40, 0x08, 0x80]).unwrap();
        assert_eq!((r.raw, r.flags, r.states), (45, 0x40, Some(0x08)));
        assert_eq!(r.to_bytes(), [45, 0x40, 0x08, 0x80]);
        let d = SensorReadingResponse::parse(&[0, 0x60, 0x01, 0x81]).unwrap();
        assert_eq!(d.states, Some(0x0101));
        assert_eq!(
            SensorReadingResponse::parse(&[0, 0x40]).unwrap().states,
            None
        );
    }
}
