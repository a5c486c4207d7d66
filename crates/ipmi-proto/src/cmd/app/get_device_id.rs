//! Get Device ID (IPMI 2.0 section 20.1, App 0x01, User).

use crate::cmd::{command, take, Body, Empty};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get Device ID: identity and firmware revision of the BMC.
    GetDeviceId, "Get Device ID", "20.1",
    NetFn::APP, 0x01, Some(Privilege::User), Empty, DeviceIdResponse
);

/// The Get Device ID response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceIdResponse {
    /// Device ID.
    pub device_id: u8,
    /// Device revision (bits 3:0).
    pub device_revision: u8,
    /// Whether the device provides Device SDRs (byte 2, bit 7).
    pub provides_sdrs: bool,
    /// Major firmware revision (7 bits).
    pub firmware_major: u8,
    /// Whether the device is in firmware update or self-initialisation (byte 3, bit 7).
    pub unavailable: bool,
    /// Minor firmware revision, BCD encoded on the wire (e.g. 0x23 for ".23").
    pub firmware_minor_bcd: u8,
    /// IPMI version, BCD with the minor digit in the high nibble (0x02 for 2.0).
    pub ipmi_version: u8,
    /// Additional device support bits (sensor, SDR repository, SEL, FRU, ... devices).
    pub additional_support: u8,
    /// IANA manufacturer ID (20 bits).
    pub manufacturer_id: u32,
    /// Product ID.
    pub product_id: u16,
    /// Auxiliary firmware revision, if present.
    pub aux_firmware: Option<[u8; 4]>,
}

impl Body for DeviceIdResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        if d.len() != 11 && d.len() != 15 {
            return Err(ParseError::Length);
        }
        Ok(DeviceIdResponse {
            device_id: d[0],
            device_revision: d[1] & 0x0f,
            provides_sdrs: d[1] & 0x80 != 0,
            firmware_major: d[2] & 0x7f,
            unavailable: d[2] & 0x80 != 0,
            firmware_minor_bcd: d[3],
            ipmi_version: d[4],
            additional_support: d[5],
            manufacturer_id: u32::from_le_bytes([d[6], d[7], d[8], 0]) & 0x000f_ffff,
            product_id: u16::from_le_bytes([d[9], d[10]]),
            aux_firmware: if d.len() == 15 {
                Some(take(d, 11)?)
            } else {
                None
            },
        })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.device_id);
        out.push((self.device_revision & 0x0f) | if self.provides_sdrs { 0x80 } else { 0 });
        out.push((self.firmware_major & 0x7f) | if self.unavailable { 0x80 } else { 0 });
        out.push(self.firmware_minor_bcd);
        out.push(self.ipmi_version);
        out.push(self.additional_support);
        out.extend_from_slice(&(self.manufacturer_id & 0x000f_ffff).to_le_bytes()[..3]);
        out.extend_from_slice(&self.product_id.to_le_bytes());
        if let Some(aux) = self.aux_firmware {
            out.extend_from_slice(&aux);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn round_trip_and_known_bytes() {
        // The layout of table 20-2: revision 1.23, IPMI 2.0, IANA 7154 (IPMI forum).
        let bytes = [
            0x20, 0x81, 0x01, 0x23, 0x02, 0xbf, 0xf2, 0x1b, 0x00, 0x34, 0x12,
        ];
        let r = DeviceIdResponse::parse(&bytes).unwrap();
        assert_eq!(r.firmware_major, 1);
        assert!(r.provides_sdrs);
        assert_eq!(r.manufacturer_id, 7154);
        assert_eq!(r.product_id, 0x1234);
        assert_eq!(r.to_bytes(), bytes);
        assert_eq!(
            DeviceIdResponse::parse(&bytes[..10]),
            Err(ParseError::Length)
        );
    }

    #[test]
    fn ipmi_sim_and_ours() {
        // ipmi_sim: device 0 rev 3, firmware 9.08, IPMI 2.0, IANA 0x1291, product 0x0f02, with
        // the auxiliary firmware revision.
        let sim: DeviceIdResponse =
            captured(&hex::decode("00030908029f911200020f00000000").unwrap());
        assert_eq!((sim.firmware_major, sim.firmware_minor_bcd), (9, 0x08));
        assert_eq!((sim.manufacturer_id, sim.product_id), (0x1291, 0x0f02));
        assert_eq!(sim.aux_firmware, Some([0; 4]));
        // Ours, without it.
        let ours: DeviceIdResponse = captured(&hex::decode("2001000102880000000100").unwrap());
        assert_eq!((ours.device_id, ours.aux_firmware), (0x20, None));
        round_trip(&DeviceIdResponse {
            unavailable: true,
            aux_firmware: Some([1, 2, 3, 4]),
            ..ours
        });
    }
}
