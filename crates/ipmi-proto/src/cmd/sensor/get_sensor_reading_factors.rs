//! Get Sensor Reading Factors (IPMI 2.0 section 35.5, Sensor/Event 0x23, User).

use crate::cmd::{command, expect_len, Body};
use crate::sdr::Linear;
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Sensor Reading Factors: the conversion factors for a raw reading of a sensor.
    GetSensorReadingFactors, "Get Sensor Reading Factors", "35.5",
    NetFn::SENSOR_EVENT, 0x23, Some(Privilege::User), ReadingFactorsRequest, ReadingFactors
);

/// The Get Sensor Reading Factors request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadingFactorsRequest {
    /// Sensor number.
    pub sensor: u8,
    /// The raw reading the factors are asked for.
    pub reading: u8,
}

impl Body for ReadingFactorsRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2)?;
        Ok(ReadingFactorsRequest {
            sensor: d[0],
            reading: d[1],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.sensor, self.reading]);
    }
}

/// The Get Sensor Reading Factors response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadingFactors {
    /// The next raw reading for which the factors change (FFh for a linear sensor: none).
    pub next_reading: u8,
    /// The factors.
    pub factors: Linear,
}

impl Body for ReadingFactors {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 7, 7)?;
        Ok(ReadingFactors {
            next_reading: d[0],
            factors: Linear::from_bytes(&d[1..])?,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.next_reading);
        out.extend_from_slice(&self.factors.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let r = ReadingFactors {
            next_reading: 0xff,
            factors: Linear::spanning(25.5),
        };
        assert_eq!(r.to_bytes(), [0xff, 1, 0, 0, 0, 0, 0xf0]);
        assert_eq!(ReadingFactors::parse(&r.to_bytes()), Ok(r));
        let q = ReadingFactorsRequest::parse(&[3, 0x80]).unwrap();
        assert_eq!(q.to_bytes(), [3, 0x80]);
    }
}
