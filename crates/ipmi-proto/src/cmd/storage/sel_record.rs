//! The 16-byte SEL record (IPMI 2.0 section 32) and the fields of a system event record
//! (section 32.1), for the SEL commands.

use crate::cmd::{expect_len, take, Body};
use crate::types::ParseError;

/// Record type of a system event record (section 32.1).
pub const SYSTEM_EVENT_RECORD: u8 = 0x02;
/// Record types from this one up are OEM records without a timestamp (section 32.3); below it,
/// the SEL device stamps each record it adds.
pub const FIRST_NON_TIMESTAMPED: u8 = 0xe0;
/// Event Message Revision of IPMI 1.5 and 2.0 event messages.
pub const EVM_REV: u8 = 0x04;
/// Event/reading type code "sensor-specific" (table 42-1): the offset is read against the sensor
/// type's own table (table 42-3).
pub const SENSOR_SPECIFIC: u8 = 0x6f;

/// One SEL record as stored and as sent: record ID (LS byte first), record type, then 13 bytes
/// whose meaning depends on the type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SelRecord(pub [u8; 16]);

/// The fields of a system event record that say what happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemEvent {
    /// Generator ID (section 32.1): byte 1 is the IPMB slave address (bit 0 clear) or a system
    /// software ID (bit 0 set); byte 2 has the channel number in bits 7:4 and the LUN in 1:0.
    pub generator: [u8; 2],
    /// Sensor type (table 42-3).
    pub sensor_type: u8,
    /// Sensor number.
    pub sensor_number: u8,
    /// `true` for a deassertion event (byte 13, bit 7).
    pub deasserted: bool,
    /// Event/reading type code (byte 13, bits 6:0; table 42-1).
    pub event_type: u8,
    /// Event data 1-3 (section 29.7): byte 1 says how bytes 2 and 3 are used and holds the offset.
    pub data: [u8; 3],
}

impl SelRecord {
    /// A system event record with record ID 0 and timestamp 0: the SEL device sets both when it
    /// adds the record.
    pub fn system_event(e: &SystemEvent) -> SelRecord {
        let mut r = [0u8; 16];
        r[2] = SYSTEM_EVENT_RECORD;
        r[7..9].copy_from_slice(&e.generator);
        r[9] = EVM_REV;
        r[10] = e.sensor_type;
        r[11] = e.sensor_number;
        r[12] = (u8::from(e.deasserted) << 7) | (e.event_type & 0x7f);
        r[13..16].copy_from_slice(&e.data);
        SelRecord(r)
    }

    /// The record ID.
    pub fn id(&self) -> u16 {
        u16::from_le_bytes([self.0[0], self.0[1]])
    }

    /// Sets the record ID.
    pub fn set_id(&mut self, id: u16) {
        self.0[..2].copy_from_slice(&id.to_le_bytes());
    }

    /// The record type.
    pub fn record_type(&self) -> u8 {
        self.0[2]
    }

    /// Whether the record type carries a timestamp (bytes 3-6).
    pub fn is_timestamped(&self) -> bool {
        self.record_type() < FIRST_NON_TIMESTAMPED
    }

    /// The timestamp, if the record type carries one.
    pub fn timestamp(&self) -> Option<u32> {
        self.is_timestamped()
            .then(|| u32::from_le_bytes([self.0[3], self.0[4], self.0[5], self.0[6]]))
    }

    /// Sets the timestamp if the record type carries one.
    pub fn stamp(&mut self, time: u32) {
        if self.is_timestamped() {
            self.0[3..7].copy_from_slice(&time.to_le_bytes());
        }
    }

    /// The event fields, if this is a system event record.
    pub fn system_event_fields(&self) -> Option<SystemEvent> {
        (self.record_type() == SYSTEM_EVENT_RECORD).then(|| SystemEvent {
            generator: [self.0[7], self.0[8]],
            sensor_type: self.0[10],
            sensor_number: self.0[11],
            deasserted: self.0[12] & 0x80 != 0,
            event_type: self.0[12] & 0x7f,
            data: [self.0[13], self.0[14], self.0[15]],
        })
    }
}

impl Body for SelRecord {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 16, 16)?;
        Ok(SelRecord(take(d, 0)?))
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_event_fields_round_trip() {
        let e = SystemEvent {
            generator: [0x20, 0x00],
            sensor_type: 0x09,
            sensor_number: 0xe0,
            deasserted: true,
            event_type: SENSOR_SPECIFIC,
            data: [0xa1, 0xff, 0x02],
        };
        let mut r = SelRecord::system_event(&e);
        r.set_id(0x1234);
        r.stamp(0x6000_0001);
        assert_eq!(
            r.to_bytes(),
            [
                0x34, 0x12, 0x02, 0x01, 0x00, 0x00, 0x60, 0x20, 0x00, 0x04, 0x09, 0xe0, 0xef, 0xa1,
                0xff, 0x02
            ]
        );
        let back = SelRecord::parse(&r.to_bytes()).unwrap();
        assert_eq!(back.id(), 0x1234);
        assert_eq!(back.timestamp(), Some(0x6000_0001));
        assert_eq!(back.system_event_fields(), Some(e));
    }

    #[test]
    fn non_timestamped_oem_records_keep_their_bytes() {
        let mut r = SelRecord([0xee; 16]);
        r.stamp(7);
        assert_eq!(r.0[3..7], [0xee; 4]);
        assert_eq!(r.timestamp(), None);
        assert_eq!(r.system_event_fields(), None);
        assert_eq!(SelRecord::parse(&[0; 15]), Err(ParseError::Length));
    }
}
