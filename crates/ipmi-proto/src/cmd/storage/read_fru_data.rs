//! Read FRU Data (IPMI 2.0 section 34.2, Storage 0x11, User).

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Read FRU Data: a slice of a FRU device's inventory area.
    ReadFruData, "Read FRU Data", "34.2",
    NetFn::STORAGE, 0x11, Some(Privilege::User), ReadFruRequest, ReadFruResponse
);

/// The Read FRU Data request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadFruRequest {
    /// FRU device ID.
    pub fru_id: u8,
    /// Offset to read from.
    pub offset: u16,
    /// Number of bytes to read.
    pub count: u8,
}

impl Body for ReadFruRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 4, 4)?;
        Ok(ReadFruRequest {
            fru_id: d[0],
            offset: u16::from_le_bytes([d[1], d[2]]),
            count: d[3],
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.fru_id);
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.push(self.count);
    }
}

/// The Read FRU Data response: the count returned, then the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadFruResponse {
    /// The bytes read.
    pub data: Vec<u8>,
}

impl Body for ReadFruResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 1, 256)?;
        if usize::from(d[0]) != d.len() - 1 {
            return Err(ParseError::Length);
        }
        Ok(ReadFruResponse {
            data: d[1..].to_vec(),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.data.len() as u8);
        out.extend_from_slice(&self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn ipmitool_fru_print() {
        // `ipmitool fru print 0` reads the common header first: 8 bytes at offset 0.
        let r: ReadFruRequest = captured(&[0x00, 0x00, 0x00, 0x08]);
        assert_eq!((r.fru_id, r.offset, r.count), (0, 0, 8));
        let r: ReadFruRequest = captured(&[0x00, 0x08, 0x00, 0x20]);
        assert_eq!((r.offset, r.count), (8, 32));
        let a: ReadFruResponse = captured(&hex::decode("08010001050e0000eb").unwrap());
        assert_eq!(a.data.len(), 8);
        round_trip(&ReadFruResponse {
            data: vec![1, 2, 3],
        });
        assert_eq!(
            ReadFruResponse::parse(&[0x03, 1, 2]),
            Err(ParseError::Length)
        );
        assert_eq!(ReadFruRequest::parse(&[0, 0, 0]), Err(ParseError::Length));
    }
}
