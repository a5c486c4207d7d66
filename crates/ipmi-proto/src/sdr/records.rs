//! The record types of [`crate::sdr`], each emitted with its header and parsed back.

use super::fields::{emit_id, parse_id, record_type, Thresholds, HEADER_LEN, SDR_VERSION};
use super::linear::Linear;
use crate::types::ParseError;

/// The fields full and compact sensor records share (bytes 6-23 of tables 43-1 and 43-2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SensorCommon {
    /// Sensor owner ID: the owner's 7-bit slave address in bits 7:1 (0x20: the BMC).
    pub owner_id: u8,
    /// Sensor owner LUN (bits 1:0) and channel (bits 7:4).
    pub owner_lun: u8,
    /// Sensor number, unique per owner and LUN.
    pub number: u8,
    /// Entity ID (table 43-13).
    pub entity_id: u8,
    /// Entity instance (bit 7: logical container entity; bits 6:0 the instance).
    pub entity_instance: u8,
    /// Sensor initialization: bit 6 scanning, 4 thresholds, 3 hysteresis, 0 scanning enabled, ...
    pub init: u8,
    /// Sensor capabilities: bit 6 auto re-arm, 5:4 hysteresis access, 3:2 threshold access,
    /// 1:0 event message control.
    pub capabilities: u8,
    /// Sensor type (table 42-3).
    pub sensor_type: u8,
    /// Event/reading type (table 42-1).
    pub reading_type: u8,
    /// Assertion event mask (threshold sensors: plus the lower threshold reading mask).
    pub assertion_mask: u16,
    /// Deassertion event mask (threshold sensors: plus the upper threshold reading mask).
    pub deassertion_mask: u16,
    /// Discrete reading mask (threshold sensors: settable and readable threshold masks).
    pub reading_mask: u16,
    /// Sensor units 1 (analog data format, rate, modifier, percentage), 2 (base unit) and 3
    /// (modifier unit).
    pub units: [u8; 3],
}

/// The length of [`SensorCommon`] on the wire.
const COMMON_LEN: usize = 18;

impl SensorCommon {
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            self.owner_id,
            self.owner_lun,
            self.number,
            self.entity_id,
            self.entity_instance,
            self.init,
            self.capabilities,
            self.sensor_type,
            self.reading_type,
        ]);
        for mask in [
            self.assertion_mask,
            self.deassertion_mask,
            self.reading_mask,
        ] {
            out.extend_from_slice(&mask.to_le_bytes());
        }
        out.extend_from_slice(&self.units);
    }

    fn parse(d: &[u8]) -> Result<SensorCommon, ParseError> {
        let d = d.get(..COMMON_LEN).ok_or(ParseError::Length)?;
        let word = |i: usize| u16::from_le_bytes([d[i], d[i + 1]]);
        Ok(SensorCommon {
            owner_id: d[0],
            owner_lun: d[1],
            number: d[2],
            entity_id: d[3],
            entity_instance: d[4],
            init: d[5],
            capabilities: d[6],
            sensor_type: d[7],
            reading_type: d[8],
            assertion_mask: word(9),
            deassertion_mask: word(11),
            reading_mask: word(13),
            units: [d[15], d[16], d[17]],
        })
    }
}

/// A full sensor record (type 01h, table 43-1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullSensorRecord {
    /// The fields shared with compact records.
    pub common: SensorCommon,
    /// Linearization (0: linear).
    pub linearization: u8,
    /// Conversion factors.
    pub factors: Linear,
    /// Analog characteristic flags: bit 0 nominal reading, 1 normal maximum, 2 normal minimum
    /// given.
    pub analog_flags: u8,
    /// Nominal reading, normal maximum, normal minimum (raw).
    pub normal: [u8; 3],
    /// Sensor maximum and minimum readings (raw).
    pub range: [u8; 2],
    /// Threshold values (raw), in the order of [`Thresholds`]; which are given is in the masks.
    pub thresholds: [u8; 6],
    /// Positive- and negative-going threshold hysteresis (raw counts).
    pub hysteresis: [u8; 2],
    /// OEM byte.
    pub oem: u8,
    /// ID string (at most 16 bytes).
    pub name: String,
}

/// A compact sensor record (type 02h, table 43-2): no linearization nor thresholds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactSensorRecord {
    /// The fields shared with full records.
    pub common: SensorCommon,
    /// Record sharing (bytes 24-25): 0 for a record that describes one sensor.
    pub sharing: [u8; 2],
    /// Positive- and negative-going threshold hysteresis.
    pub hysteresis: [u8; 2],
    /// OEM byte.
    pub oem: u8,
    /// ID string (at most 16 bytes).
    pub name: String,
}

/// An event-only sensor record (type 03h, table 43-3): a sensor that has no reading and only
/// generates events, described so that clients can name it in the SEL (they look a record up by
/// owner, sensor number and sensor type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventOnlyRecord {
    /// Sensor owner ID: the owner's 7-bit slave address in bits 7:1 (0x20: the BMC).
    pub owner_id: u8,
    /// Sensor owner LUN (bits 1:0) and channel (bits 7:4).
    pub owner_lun: u8,
    /// Sensor number.
    pub number: u8,
    /// Entity ID (table 43-13) and instance.
    pub entity: [u8; 2],
    /// Sensor type (table 42-3).
    pub sensor_type: u8,
    /// Event/reading type (table 42-1).
    pub reading_type: u8,
    /// Record sharing and sensor direction (bytes 13-14): 0 for a record of one sensor.
    pub sharing: [u8; 2],
    /// OEM byte.
    pub oem: u8,
    /// ID string (at most 16 bytes).
    pub name: String,
}

/// A FRU device locator record (type 11h, table 43-7), for a logical FRU device behind a
/// controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FruLocatorRecord {
    /// The controller's slave address (8-bit form).
    pub access_address: u8,
    /// The FRU device ID.
    pub fru_id: u8,
    /// Bit 7 logical FRU device; bits 4:3 access LUN; bits 2:0 private bus.
    pub access: u8,
    /// Channel number (bits 7:4).
    pub channel: u8,
    /// Device type (10h: IPMI FRU inventory) and type modifier.
    pub device_type: [u8; 2],
    /// FRU entity ID and instance.
    pub entity: [u8; 2],
    /// OEM byte.
    pub oem: u8,
    /// ID string.
    pub name: String,
}

/// A management controller device locator record (type 12h, table 43-8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McLocatorRecord {
    /// The controller's slave address (8-bit form).
    pub slave_address: u8,
    /// Channel number (bits 3:0).
    pub channel: u8,
    /// Power state notification and global initialization.
    pub power_state: u8,
    /// Device capabilities: bit 7 chassis device, 3 FRU inventory, 2 SEL, 1 SDR repository, 0
    /// sensor device, ...
    pub capabilities: u8,
    /// Entity ID and instance.
    pub entity: [u8; 2],
    /// OEM byte.
    pub oem: u8,
    /// ID string.
    pub name: String,
}

/// A record of the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// Type 01h.
    Full(FullSensorRecord),
    /// Type 02h.
    Compact(CompactSensorRecord),
    /// Type 03h.
    EventOnly(EventOnlyRecord),
    /// Type 11h.
    FruLocator(FruLocatorRecord),
    /// Type 12h.
    McLocator(McLocatorRecord),
}

impl Record {
    /// The record type code.
    pub fn record_type(&self) -> u8 {
        match self {
            Record::Full(_) => record_type::FULL_SENSOR,
            Record::Compact(_) => record_type::COMPACT_SENSOR,
            Record::EventOnly(_) => record_type::EVENT_ONLY_SENSOR,
            Record::FruLocator(_) => record_type::FRU_LOCATOR,
            Record::McLocator(_) => record_type::MC_LOCATOR,
        }
    }

    /// The record with its header, as record `id`.
    pub fn to_bytes(&self, id: u16) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&[SDR_VERSION, self.record_type(), 0]);
        match self {
            Record::Full(r) => {
                r.common.emit(&mut out);
                out.push(r.linearization);
                out.extend_from_slice(&r.factors.to_bytes());
                out.push(r.analog_flags);
                out.extend_from_slice(&r.normal);
                out.extend_from_slice(&r.range);
                // Upper non-recoverable first, lower non-critical last (bytes 37-42).
                let t = &r.thresholds;
                out.extend_from_slice(&[t[5], t[4], t[3], t[2], t[1], t[0]]);
                out.extend_from_slice(&r.hysteresis);
                out.extend_from_slice(&[0, 0, r.oem]);
                emit_id(&r.name, &mut out);
            }
            Record::Compact(r) => {
                r.common.emit(&mut out);
                out.extend_from_slice(&r.sharing);
                out.extend_from_slice(&r.hysteresis);
                out.extend_from_slice(&[0, 0, 0, r.oem]);
                emit_id(&r.name, &mut out);
            }
            Record::EventOnly(r) => {
                out.extend_from_slice(&[r.owner_id, r.owner_lun, r.number]);
                out.extend_from_slice(&r.entity);
                out.extend_from_slice(&[r.sensor_type, r.reading_type]);
                out.extend_from_slice(&r.sharing);
                out.extend_from_slice(&[0, r.oem]);
                emit_id(&r.name, &mut out);
            }
            Record::FruLocator(r) => {
                out.extend_from_slice(&[r.access_address, r.fru_id, r.access, r.channel, 0]);
                out.extend_from_slice(&r.device_type);
                out.extend_from_slice(&r.entity);
                out.push(r.oem);
                emit_id(&r.name, &mut out);
            }
            Record::McLocator(r) => {
                out.extend_from_slice(&[
                    r.slave_address,
                    r.channel,
                    r.power_state,
                    r.capabilities,
                    0,
                    0,
                    0,
                ]);
                out.extend_from_slice(&r.entity);
                out.push(r.oem);
                emit_id(&r.name, &mut out);
            }
        }
        out[4] = (out.len() - HEADER_LEN) as u8;
        out
    }

    /// Parses a whole record (header included); returns its record ID and the record.
    pub fn parse(d: &[u8]) -> Result<(u16, Record), ParseError> {
        if d.len() < HEADER_LEN || d.len() != HEADER_LEN + usize::from(d[4]) {
            return Err(ParseError::Length);
        }
        let id = u16::from_le_bytes([d[0], d[1]]);
        let b = &d[HEADER_LEN..];
        let at = |i: usize| b.get(i).copied().ok_or(ParseError::Length);
        let record = match d[3] {
            record_type::FULL_SENSOR => {
                let f = b.get(18..42).ok_or(ParseError::Length)?;
                Record::Full(FullSensorRecord {
                    common: SensorCommon::parse(b)?,
                    linearization: f[0],
                    factors: Linear::from_bytes(&f[1..7])?,
                    analog_flags: f[7],
                    normal: [f[8], f[9], f[10]],
                    range: [f[11], f[12]],
                    thresholds: [f[18], f[17], f[16], f[15], f[14], f[13]],
                    hysteresis: [f[19], f[20]],
                    oem: at(41)?,
                    name: parse_id(&b[42..])?,
                })
            }
            record_type::COMPACT_SENSOR => Record::Compact(CompactSensorRecord {
                common: SensorCommon::parse(b)?,
                sharing: [at(18)?, at(19)?],
                hysteresis: [at(20)?, at(21)?],
                oem: at(25)?,
                name: parse_id(b.get(26..).ok_or(ParseError::Length)?)?,
            }),
            record_type::EVENT_ONLY_SENSOR => Record::EventOnly(EventOnlyRecord {
                owner_id: at(0)?,
                owner_lun: at(1)?,
                number: at(2)?,
                entity: [at(3)?, at(4)?],
                sensor_type: at(5)?,
                reading_type: at(6)?,
                sharing: [at(7)?, at(8)?],
                oem: at(10)?,
                name: parse_id(b.get(11..).ok_or(ParseError::Length)?)?,
            }),
            record_type::FRU_LOCATOR => Record::FruLocator(FruLocatorRecord {
                access_address: at(0)?,
                fru_id: at(1)?,
                access: at(2)?,
                channel: at(3)?,
                device_type: [at(5)?, at(6)?],
                entity: [at(7)?, at(8)?],
                oem: at(9)?,
                name: parse_id(b.get(10..).ok_or(ParseError::Length)?)?,
            }),
            record_type::MC_LOCATOR => Record::McLocator(McLocatorRecord {
                slave_address: at(0)?,
                channel: at(1)?,
                power_state: at(2)?,
                capabilities: at(3)?,
                entity: [at(7)?, at(8)?],
                oem: at(9)?,
                name: parse_id(b.get(10..).ok_or(ParseError::Length)?)?,
            }),
            _ => return Err(ParseError::Field),
        };
        Ok((id, record))
    }
}

impl FullSensorRecord {
    /// The thresholds this record gives (from its readable threshold mask).
    pub fn given_thresholds(&self) -> Thresholds {
        Thresholds {
            readable: (self.common.reading_mask & 0x3f) as u8,
            raw: self.thresholds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fields::{sensor_type, unit};
    use super::*;

    fn common() -> SensorCommon {
        SensorCommon {
            owner_id: 0x20,
            number: 7,
            entity_id: 3,
            entity_instance: 1,
            init: 0x59,
            capabilities: 0x57,
            sensor_type: sensor_type::TEMPERATURE,
            reading_type: 1,
            reading_mask: 0x38,
            units: [0, unit::DEGREES_C, 0],
            ..SensorCommon::default()
        }
    }

    #[test]
    fn full_record_layout_and_round_trip() {
        let r = Record::Full(FullSensorRecord {
            common: common(),
            linearization: 0,
            factors: Linear::spanning(255.0),
            analog_flags: 0,
            normal: [0; 3],
            range: [255, 0],
            thresholds: [1, 2, 3, 85, 90, 95],
            hysteresis: [2, 2],
            oem: 0,
            name: "CPU Temp".into(),
        });
        let bytes = r.to_bytes(0x0102);
        assert_eq!(bytes[..5], [0x02, 0x01, 0x51, 0x01, 48 - 5 + 8]);
        assert_eq!(bytes.len(), 48 + 8);
        // Owner, sensor number, sensor type, units; M at byte 25 (index 24).
        assert_eq!((bytes[5], bytes[7], bytes[12], bytes[21]), (0x20, 7, 1, 1));
        assert_eq!(bytes[24], 1);
        // Upper non-recoverable at byte 37 (index 36), lower non-critical at byte 42.
        assert_eq!(bytes[36..42], [95, 90, 85, 3, 2, 1]);
        assert_eq!(bytes[47], 0xc8);
        assert_eq!(&bytes[48..], b"CPU Temp");
        assert_eq!(Record::parse(&bytes).unwrap(), (0x0102, r));
    }

    #[test]
    fn event_only_record_layout_and_round_trip() {
        let r = Record::EventOnly(EventOnlyRecord {
            owner_id: 0x20,
            owner_lun: 0,
            number: 0xe0,
            entity: [0x13, 1],
            sensor_type: sensor_type::POWER_UNIT,
            reading_type: 0x6f,
            sharing: [0, 0],
            oem: 0,
            name: "Chassis Power".into(),
        });
        let bytes = r.to_bytes(3);
        // Header, then owner, LUN, number, entity, instance, type, reading type, sharing (2),
        // reserved, OEM, and the ID string from byte 17 (index 16).
        assert_eq!(bytes[..5], [3, 0, 0x51, 0x03, 12 + 13]);
        assert_eq!(
            bytes[5..16],
            [0x20, 0, 0xe0, 0x13, 1, 0x09, 0x6f, 0, 0, 0, 0]
        );
        assert_eq!(
            (bytes[16], &bytes[17..]),
            (0xc0 | 13, &b"Chassis Power"[..])
        );
        assert_eq!(Record::parse(&bytes).unwrap(), (3, r));
    }

    #[test]
    fn compact_and_locators_round_trip() {
        let records = [
            Record::Compact(CompactSensorRecord {
                common: SensorCommon {
                    reading_type: 0x6f,
                    sensor_type: sensor_type::POWER_SUPPLY,
                    reading_mask: 0x0003,
                    ..common()
                },
                sharing: [0, 0],
                hysteresis: [0, 0],
                oem: 0,
                name: "PSU1 Status".into(),
            }),
            Record::FruLocator(FruLocatorRecord {
                access_address: 0x20,
                fru_id: 0,
                access: 0x80,
                channel: 0,
                device_type: [0x10, 0],
                entity: [0x07, 1],
                oem: 0,
                name: "FRU".into(),
            }),
            Record::McLocator(McLocatorRecord {
                slave_address: 0x20,
                channel: 0,
                power_state: 0,
                capabilities: 0x8b,
                entity: [0x06, 1],
                oem: 0,
                name: "a name longer than sixteen".into(),
            }),
        ];
        for r in records {
            let bytes = r.to_bytes(9);
            let (id, back) = Record::parse(&bytes).unwrap();
            assert_eq!(id, 9);
            match (&r, &back) {
                (Record::McLocator(a), Record::McLocator(b)) => {
                    assert_eq!(b.name, a.name[..16]);
                    assert_eq!(bytes.len(), 5 + 11 + 16);
                }
                _ => assert_eq!(back, r),
            }
        }
        assert_eq!(
            Record::parse(&[1, 0, 0x51, 0x99, 0]),
            Err(ParseError::Field)
        );
        assert_eq!(
            Record::parse(&[1, 0, 0x51, 0x01, 3, 0]),
            Err(ParseError::Length)
        );
    }

    #[test]
    fn id_strings_parse_as_they_are_emitted() {
        // An MC locator whose ID string is Latin-1 "é" then 19 more bytes (the 5-bit length
        // says 20, past the 16 a record may carry).
        let mut bytes = vec![4, 0, SDR_VERSION, record_type::MC_LOCATOR, 0];
        bytes.extend_from_slice(&[0x20, 0, 0, 0x8b, 0, 0, 0, 0x06, 1, 0, 0xc0 | 20, 0xe9]);
        bytes.extend_from_slice(&[b'x'; 19]);
        bytes[4] = (bytes.len() - HEADER_LEN) as u8;
        let (id, first) = Record::parse(&bytes).unwrap();
        let again = first.to_bytes(id);
        assert_eq!(
            Record::parse(&again).unwrap(),
            (id, first.clone()),
            "{again:02x?}"
        );
        let Record::McLocator(mc) = first else {
            panic!("not an MC locator")
        };
        assert_eq!(mc.name, "?xxxxxxxxxxxxxxx");
    }
}
