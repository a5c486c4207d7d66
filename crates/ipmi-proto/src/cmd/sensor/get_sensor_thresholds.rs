//! Get Sensor Thresholds (IPMI 2.0 section 35.9, Sensor/Event 0x27, User). The request is the
//! sensor number.

use crate::cmd::{command, expect_len, Body};
use crate::sdr::Thresholds;
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Sensor Thresholds: which thresholds a sensor has, and their raw values.
    GetSensorThresholds, "Get Sensor Thresholds", "35.9",
    NetFn::SENSOR_EVENT, 0x27, Some(Privilege::User), u8, Thresholds
);

/// The response: the readable threshold mask, then lower non-critical, lower critical, lower
/// non-recoverable, upper non-critical, upper critical and upper non-recoverable.
impl Body for Thresholds {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 7, 7)?;
        Ok(Thresholds {
            readable: d[0] & 0x3f,
            raw: [d[1], d[2], d[3], d[4], d[5], d[6]],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.readable & 0x3f);
        out.extend_from_slice(&self.raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let wire = [0x38, 0, 0, 0, 85, 90, 95];
        let t = Thresholds::parse(&wire).unwrap();
        assert_eq!(t.get(Thresholds::UC), Some(90));
        assert_eq!(t.get(Thresholds::LC), None);
        assert_eq!(t.to_bytes(), wire);
    }
}
