//! Get SDR Repository Allocation Info (IPMI 2.0 section 33.10, Storage 0x21, User).

use crate::cmd::{command, expect_len, Body, Empty};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get SDR Repository Allocation Info: how the repository's space is allocated.
    GetSdrRepositoryAllocationInfo, "Get SDR Repository Allocation Info", "33.10",
    NetFn::STORAGE, 0x21, Some(Privilege::User), Empty, SdrAllocationInfo
);

/// The Get SDR Repository Allocation Info response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdrAllocationInfo {
    /// Number of allocation units.
    pub units: u16,
    /// Allocation unit size in bytes.
    pub unit_size: u16,
    /// Number of free units.
    pub free_units: u16,
    /// Largest free block, in units.
    pub largest_free: u16,
    /// Maximum record size, in units.
    pub max_record_units: u8,
}

impl Body for SdrAllocationInfo {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 9, 9)?;
        let u16_at = |i: usize| u16::from_le_bytes([d[i], d[i + 1]]);
        Ok(SdrAllocationInfo {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let wire = [20, 0, 64, 0, 0, 0, 0, 0, 1];
        let a = SdrAllocationInfo::parse(&wire).unwrap();
        assert_eq!((a.units, a.unit_size, a.max_record_units), (20, 64, 1));
        assert_eq!(a.to_bytes(), wire);
    }
}
