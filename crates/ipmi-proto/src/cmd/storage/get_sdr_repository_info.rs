//! Get SDR Repository Info (IPMI 2.0 section 33.9, Storage 0x20, User).

use crate::cmd::{command, expect_len, Body, Empty};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get SDR Repository Info: version, record count, free space and change timestamps of the
    /// SDR repository.
    GetSdrRepositoryInfo, "Get SDR Repository Info", "33.9",
    NetFn::STORAGE, 0x20, Some(Privilege::User), Empty, SdrRepositoryInfo
);

/// The Get SDR Repository Info response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdrRepositoryInfo {
    /// SDR version (51h).
    pub version: u8,
    /// Number of records.
    pub record_count: u16,
    /// Free space in bytes (FFFEh: 64 KB - 2 or more; FFFFh: unspecified).
    pub free_space: u16,
    /// When a record was last added (seconds since 1970); clients rebuild their SDR caches
    /// when it changes.
    pub addition_timestamp: u32,
    /// When a record was last deleted or the repository cleared.
    pub erase_timestamp: u32,
    /// Operation support: bit 7 overflow, bits 6:5 update modes, bit 3 Delete SDR, 2 Partial
    /// Add SDR, 1 Reserve SDR Repository, 0 Get SDR Repository Allocation Info supported.
    pub operations: u8,
}

impl Body for SdrRepositoryInfo {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 14, 14)?;
        let u32_at = |i: usize| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
        Ok(SdrRepositoryInfo {
            version: d[0],
            record_count: u16::from_le_bytes([d[1], d[2]]),
            free_space: u16::from_le_bytes([d[3], d[4]]),
            addition_timestamp: u32_at(5),
            erase_timestamp: u32_at(9),
            operations: d[13],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.version);
        out.extend_from_slice(&self.record_count.to_le_bytes());
        out.extend_from_slice(&self.free_space.to_le_bytes());
        out.extend_from_slice(&self.addition_timestamp.to_le_bytes());
        out.extend_from_slice(&self.erase_timestamp.to_le_bytes());
        out.push(self.operations);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let wire = [0x51, 3, 0, 0, 0, 0x78, 0x56, 0x34, 0x12, 1, 0, 0, 0, 0x03];
        let info = SdrRepositoryInfo::parse(&wire).unwrap();
        assert_eq!(info.record_count, 3);
        assert_eq!(info.addition_timestamp, 0x1234_5678);
        assert_eq!(info.to_bytes(), wire);
        assert!(SdrRepositoryInfo::parse(&wire[..13]).is_err());
    }
}
