//! Get Sensor Hysteresis (IPMI 2.0 section 35.7, Sensor/Event 0x25, User).

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Sensor Hysteresis: the positive- and negative-going threshold hysteresis of a sensor.
    GetSensorHysteresis, "Get Sensor Hysteresis", "35.7",
    NetFn::SENSOR_EVENT, 0x25, Some(Privilege::User), HysteresisRequest, Hysteresis
);

/// The Get Sensor Hysteresis request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HysteresisRequest {
    /// Sensor number.
    pub sensor: u8,
    /// Reserved for the hysteresis mask (FFh).
    pub mask: u8,
}

impl Body for HysteresisRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2)?;
        Ok(HysteresisRequest {
            sensor: d[0],
            mask: d[1],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.sensor, self.mask]);
    }
}

/// The Get Sensor Hysteresis response (raw counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hysteresis {
    /// Positive-going threshold hysteresis.
    pub positive: u8,
    /// Negative-going threshold hysteresis.
    pub negative: u8,
}

impl Body for Hysteresis {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2)?;
        Ok(Hysteresis {
            positive: d[0],
            negative: d[1],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.positive, self.negative]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(
            HysteresisRequest::parse(&[4, 0xff]).unwrap().to_bytes(),
            [4, 0xff]
        );
        let h = Hysteresis::parse(&[2, 3]).unwrap();
        assert_eq!((h.positive, h.negative), (2, 3));
        assert_eq!(h.to_bytes(), [2, 3]);
    }
}
