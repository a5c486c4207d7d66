//! Get Power Reading (DCMI 1.5 section 6.6.1, Group Extension 0x02, User).

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Power Reading: the system's power draw now, and its minimum, maximum and average
    /// over the statistics reporting period.
    GetPowerReading, "Get Power Reading", "DCMI 6.6.1",
    NetFn::GROUP_EXTENSION, 0x02, Some(Privilege::User), PowerReadingRequest, PowerReading
);

/// Power reading state bit 6: power measurement is active (the figures are valid).
pub const POWER_MEASUREMENT_ACTIVE: u8 = 0x40;

/// The request: group extension identification, mode (1: system power statistics, 2:
/// enhanced), mode attributes, reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PowerReadingRequest {
    /// The group extension identification (DCh for DCMI).
    pub group: u8,
    /// The reading mode.
    pub mode: u8,
    /// Mode attributes (the rolling average period in enhanced mode).
    pub attributes: u8,
}

impl Body for PowerReadingRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 4, 4)?;
        Ok(PowerReadingRequest {
            group: d[0],
            mode: d[1],
            attributes: d[2],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.group, self.mode, self.attributes, 0]);
    }
}

/// The Get Power Reading response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PowerReading {
    /// DCh.
    pub group: u8,
    /// Current power, watts.
    pub current: u16,
    /// Minimum over the reporting period, watts.
    pub minimum: u16,
    /// Maximum over the reporting period, watts.
    pub maximum: u16,
    /// Average over the reporting period, watts.
    pub average: u16,
    /// When the reading was taken (seconds since 1970).
    pub timestamp: u32,
    /// The statistics reporting period, milliseconds.
    pub period_ms: u32,
    /// Power reading state ([`POWER_MEASUREMENT_ACTIVE`]).
    pub state: u8,
}

impl Body for PowerReading {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 18, 18)?;
        let u16_at = |i: usize| u16::from_le_bytes([d[i], d[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
        Ok(PowerReading {
            group: d[0],
            current: u16_at(1),
            minimum: u16_at(3),
            maximum: u16_at(5),
            average: u16_at(7),
            timestamp: u32_at(9),
            period_ms: u32_at(13),
            state: d[17],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.group);
        for w in [self.current, self.minimum, self.maximum, self.average] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.extend_from_slice(&self.period_ms.to_le_bytes());
        out.push(self.state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let q = PowerReadingRequest::parse(&[0xdc, 1, 0, 0]).unwrap();
        assert_eq!((q.group, q.mode), (0xdc, 1));
        assert_eq!(q.to_bytes(), [0xdc, 1, 0, 0]);
        let r = PowerReading {
            group: 0xdc,
            current: 250,
            minimum: 120,
            maximum: 350,
            average: 240,
            timestamp: 0x6000_0000,
            period_ms: 60_000,
            state: POWER_MEASUREMENT_ACTIVE,
        };
        let wire = r.to_bytes();
        assert_eq!(wire.len(), 18);
        assert_eq!(wire[1..3], [250, 0]);
        assert_eq!(PowerReading::parse(&wire), Ok(r));
    }
}
