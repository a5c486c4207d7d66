//! Get SEL Time UTC Offset (IPMI 2.0 section 31.11a, Storage 0x5C, User).

use crate::cmd::{command, expect_len, Body, Empty};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get SEL Time UTC Offset: minutes to add to the SEL time for local time.
    GetSelTimeUtcOffset, "Get SEL Time UTC Offset", "31.11a",
    NetFn::STORAGE, 0x5c, Some(Privilege::User), Empty, UtcOffset
);

/// The encoding of "unspecified" (the offset is not known).
pub const UTC_OFFSET_UNSPECIFIED: i16 = 0x07ff;

/// The offset of local time from the SEL time, in minutes (-1440 to 1440), two's complement,
/// LS byte first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcOffset {
    /// Minutes east of UTC; `None` for unspecified.
    pub minutes: Option<i16>,
}

impl Body for UtcOffset {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2)?;
        let v = i16::from_le_bytes([d[0], d[1]]);
        let minutes = match v {
            UTC_OFFSET_UNSPECIFIED => None,
            -1440..=1440 => Some(v),
            _ => return Err(ParseError::Range),
        };
        Ok(UtcOffset { minutes })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        let v = self.minutes.unwrap_or(UTC_OFFSET_UNSPECIFIED);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let utc = UtcOffset { minutes: Some(0) };
        assert_eq!(utc.to_bytes(), [0, 0]);
        let west = UtcOffset {
            minutes: Some(-300),
        };
        assert_eq!(west.to_bytes(), [0xd4, 0xfe]);
        assert_eq!(UtcOffset::parse(&[0xd4, 0xfe]), Ok(west));
        assert_eq!(
            UtcOffset::parse(&[0xff, 0x07]),
            Ok(UtcOffset { minutes: None })
        );
        assert_eq!(UtcOffset::parse(&[0x00, 0x10]), Err(ParseError::Range));
    }
}
