//! Get SEL Allocation Info (IPMI 2.0 section 31.3, Storage 0x41, User).

use crate::cmd::{command, expect_len, Body, Empty};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get SEL Allocation Info: how the SEL's space is divided into allocation units.
    GetSelAllocationInfo, "Get SEL Allocation Info", "31.3",
    NetFn::STORAGE, 0x41, Some(Privilege::User), Empty, SelAllocationInfo
);

/// The Get SEL Allocation Info response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelAllocationInfo {
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

impl Body for SelAllocationInfo {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 9, 9)?;
        let u16_at = |i: usize| u16::from_le_bytes([d[i], d[i + 1]]);
        Ok(SelAllocationInfo {
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
        let a = SelAllocationInfo {
            units: 1024,
            unit_size: 16,
            free_units: 1000,
            largest_free: 1000,
            max_record_units: 1,
        };
        let bytes = a.to_bytes();
        assert_eq!(bytes, [0, 4, 16, 0, 0xe8, 3, 0xe8, 3, 1]);
        assert_eq!(SelAllocationInfo::parse(&bytes), Ok(a));
    }
}
