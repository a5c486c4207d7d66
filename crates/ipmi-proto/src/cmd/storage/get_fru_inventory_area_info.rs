//! Get FRU Inventory Area Info (IPMI 2.0 section 34.1, Storage 0x10, User). The request is the
//! FRU device ID.

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get FRU Inventory Area Info: size and access mode of a FRU device.
    GetFruInventoryAreaInfo, "Get FRU Inventory Area Info", "34.1",
    NetFn::STORAGE, 0x10, Some(Privilege::User), u8, FruAreaInfo
);

/// The Get FRU Inventory Area Info response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FruAreaInfo {
    /// Area size in bytes.
    pub size: u16,
    /// `true` if accessed by words, `false` by bytes.
    pub by_words: bool,
}

impl Body for FruAreaInfo {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 3, 3)?;
        Ok(FruAreaInfo {
            size: u16::from_le_bytes([d[0], d[1]]),
            by_words: d[2] & 1 != 0,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.size.to_le_bytes());
        out.push(u8::from(self.by_words));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn ipmitool_fru_print() {
        // `ipmitool fru print 0`: FRU 0; ours is 184 bytes, read by bytes.
        assert_eq!(captured::<u8>(&[0x00]), 0);
        let a: FruAreaInfo = captured(&[0xb8, 0x00, 0x00]);
        assert_eq!((a.size, a.by_words), (184, false));
        round_trip(&FruAreaInfo {
            size: 0x1234,
            by_words: true,
        });
        assert_eq!(FruAreaInfo::parse(&[0xb8, 0x00]), Err(ParseError::Length));
    }
}
