//! The allocation info response body that Get SEL Allocation Info (IPMI 2.0 section 31.3) and
//! Get SDR Repository Allocation Info (section 33.10) share: the same nine bytes.

use crate::cmd::{expect_len, Body};
use crate::types::ParseError;

/// How a store's space is divided into allocation units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocationInfo {
    /// Number of possible allocation units.
    pub units: u16,
    /// Allocation unit size in bytes.
    pub unit_size: u16,
    /// Number of free allocation units.
    pub free_units: u16,
    /// Largest free block, in allocation units.
    pub largest_free: u16,
    /// Maximum record size, in allocation units.
    pub max_record_units: u8,
}

impl Body for AllocationInfo {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 9, 9)?;
        let u16_at = |i: usize| u16::from_le_bytes([d[i], d[i + 1]]);
        Ok(AllocationInfo {
            units: u16_at(0),
            unit_size: u16_at(2),
            free_units: u16_at(4),
            largest_free: u16_at(6),
            max_record_units: d[8],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        for v in [
            self.units,
            self.unit_size,
            self.free_units,
            self.largest_free,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.push(self.max_record_units);
    }
}
