//! The record IDs, read length and request that Get SEL Entry (IPMI 2.0 section 31.5) and Get
//! SDR (section 33.12) share: both walk their repository by record ID and read records in parts,
//! with the same six request bytes.

use crate::cmd::{expect_len, Body};
use crate::types::ParseError;

/// Record ID 0000h in a request: the first record.
pub const FIRST_RECORD: u16 = 0x0000;
/// Record ID FFFFh: in a request, the last record; as the next record ID, the end.
pub const LAST_RECORD: u16 = 0xffff;
/// Bytes to read FFh: the entire record.
pub const ENTIRE_RECORD: u8 = 0xff;

/// A read of all or part of one record (the Get SEL Entry and Get SDR request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordRead {
    /// Reservation ID; required for a partial read (0000h otherwise).
    pub reservation: u16,
    /// The record ID to read ([`FIRST_RECORD`], [`LAST_RECORD`], or an ID).
    pub record_id: u16,
    /// Offset into the record.
    pub offset: u8,
    /// Bytes to read ([`ENTIRE_RECORD`] for all).
    pub count: u8,
}

impl Body for RecordRead {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 6, 6)?;
        Ok(RecordRead {
            reservation: u16::from_le_bytes([d[0], d[1]]),
            record_id: u16::from_le_bytes([d[2], d[3]]),
            offset: d[4],
            count: d[5],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.reservation.to_le_bytes());
        out.extend_from_slice(&self.record_id.to_le_bytes());
        out.extend_from_slice(&[self.offset, self.count]);
    }
}
