//! Get SEL Info (IPMI 2.0 section 31.2, Storage 0x40, User).

use crate::cmd::{command, expect_len, Body, Empty};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get SEL Info: version, entry count, free space, last add and erase times, capabilities.
    GetSelInfo, "Get SEL Info", "31.2",
    NetFn::STORAGE, 0x40, Some(Privilege::User), Empty, SelInfo
);

/// SEL version 1.5 (also that of IPMI 2.0), as encoded in byte 1 (BCD, LS digit first).
pub const SEL_VERSION: u8 = 0x51;

/// The bits of the operation support byte.
pub mod sel_support {
    /// Events have been dropped for lack of space.
    pub const OVERFLOW: u8 = 0x80;
    /// Delete SEL Entry is supported.
    pub const DELETE: u8 = 0x08;
    /// Partial Add SEL Entry is supported.
    pub const PARTIAL_ADD: u8 = 0x04;
    /// Reserve SEL is supported.
    pub const RESERVE: u8 = 0x02;
    /// Get SEL Allocation Info is supported.
    pub const ALLOCATION_INFO: u8 = 0x01;
}

/// The Get SEL Info response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelInfo {
    /// SEL version ([`SEL_VERSION`]).
    pub version: u8,
    /// Number of log entries.
    pub entries: u16,
    /// Free space in bytes; 0xFFFF means 65535 or more.
    pub free_bytes: u16,
    /// Timestamp of the most recent addition (0xFFFFFFFF: none).
    pub last_add: u32,
    /// Timestamp of the most recent erase, by delete or clear (0xFFFFFFFF: none).
    pub last_erase: u32,
    /// Operation support bits ([`sel_support`]).
    pub support: u8,
}

impl Body for SelInfo {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 14, 14)?;
        let u32_at = |i: usize| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
        Ok(SelInfo {
            version: d[0],
            entries: u16::from_le_bytes([d[1], d[2]]),
            free_bytes: u16::from_le_bytes([d[3], d[4]]),
            last_add: u32_at(5),
            last_erase: u32_at(9),
            support: d[13],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.version);
        out.extend_from_slice(&self.entries.to_le_bytes());
        out.extend_from_slice(&self.free_bytes.to_le_bytes());
        out.extend_from_slice(&self.last_add.to_le_bytes());
        out.extend_from_slice(&self.last_erase.to_le_bytes());
        out.push(self.support);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let info = SelInfo {
            version: SEL_VERSION,
            entries: 3,
            free_bytes: 16 * 1021,
            last_add: 0x6500_0000,
            last_erase: 0xffff_ffff,
            support: sel_support::OVERFLOW | sel_support::DELETE | sel_support::RESERVE,
        };
        let bytes = info.to_bytes();
        assert_eq!(
            bytes,
            [0x51, 3, 0, 0xd0, 0x3f, 0, 0, 0, 0x65, 0xff, 0xff, 0xff, 0xff, 0x8a]
        );
        assert_eq!(SelInfo::parse(&bytes), Ok(info));
        assert_eq!(SelInfo::parse(&bytes[..13]), Err(ParseError::Length));
    }
}
