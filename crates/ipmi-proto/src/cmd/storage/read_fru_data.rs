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
