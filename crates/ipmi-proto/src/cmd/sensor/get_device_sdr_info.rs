//! Get Device SDR Info (IPMI 2.0 section 35.2, Sensor/Event 0x20, User).

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Device SDR Info: how many sensors (or SDRs) the device has, and when its sensor
    /// population last changed.
    GetDeviceSdrInfo, "Get Device SDR Info", "35.2",
    NetFn::SENSOR_EVENT, 0x20, Some(Privilege::User), DeviceSdrInfoRequest, DeviceSdrInfo
);

/// The Get Device SDR Info request: an optional operation byte (absent in IPMI 1.0 requests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceSdrInfoRequest {
    /// `true`: count the SDRs; `false` (or no byte): count the sensors.
    pub sdr_count: Option<bool>,
}

impl Body for DeviceSdrInfoRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 0, 1)?;
        Ok(DeviceSdrInfoRequest {
            sdr_count: d.first().map(|b| b & 1 != 0),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend(self.sdr_count.map(u8::from));
    }
}

/// The Get Device SDR Info response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceSdrInfo {
    /// The number of sensors (or SDRs) on LUN 0.
    pub count: u8,
    /// Bit 7: dynamic sensor population; bits 3:0: which LUNs have sensors.
    pub flags: u8,
    /// When the sensor population last changed (seconds since 1970), for a dynamic population.
    pub change: Option<u32>,
}

impl Body for DeviceSdrInfo {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        if d.len() != 2 && d.len() != 6 {
            return Err(ParseError::Length);
        }
        Ok(DeviceSdrInfo {
            count: d[0],
            flags: d[1],
            change: d
                .get(2..6)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.count, self.flags]);
        if let Some(c) = self.change {
            out.extend_from_slice(&c.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(DeviceSdrInfoRequest::parse(&[]).unwrap().sdr_count, None);
        assert_eq!(DeviceSdrInfoRequest::parse(&[1]).unwrap().to_bytes(), [1]);
        let wire = [12, 0x81, 4, 3, 2, 1];
        let info = DeviceSdrInfo::parse(&wire).unwrap();
        assert_eq!(info.change, Some(0x0102_0304));
        assert_eq!(info.to_bytes(), wire);
        assert!(DeviceSdrInfo::parse(&wire[..3]).is_err());
    }
}
