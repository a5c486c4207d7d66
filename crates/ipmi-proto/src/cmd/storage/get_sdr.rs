//! Get SDR (IPMI 2.0 section 33.12, Storage 0x23, User). Get Device SDR (section 35.3) has the
//! same request and response.

use super::record_id::RecordRead;
#[cfg(test)]
use super::record_id::LAST_RECORD;
use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get SDR: all or part of one record of the SDR repository.
    GetSdr, "Get SDR", "33.12",
    NetFn::STORAGE, 0x23, Some(Privilege::User), GetSdrRequest, GetSdrResponse
);

/// The Get SDR (and Get Device SDR) request.
pub type GetSdrRequest = RecordRead;

/// The Get SDR (and Get Device SDR) response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetSdrResponse {
    /// The ID of the next record (FFFFh after the last).
    pub next: u16,
    /// The bytes read.
    pub data: Vec<u8>,
}

impl Body for GetSdrResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2 + 255)?;
        Ok(GetSdrResponse {
            next: u16::from_le_bytes([d[0], d[1]]),
            data: d[2..].to_vec(),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.next.to_le_bytes());
        out.extend_from_slice(&self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let wire = [0x01, 0x00, 0x05, 0x00, 0x05, 0x10];
        let r = GetSdrRequest::parse(&wire).unwrap();
        assert_eq!(
            (r.reservation, r.record_id, r.offset, r.count),
            (1, 5, 5, 16)
        );
        assert_eq!(r.to_bytes(), wire);
        let resp = GetSdrResponse {
            next: LAST_RECORD,
            data: vec![1, 0, 0x51, 0x12, 0],
        };
        assert_eq!(GetSdrResponse::parse(&resp.to_bytes()), Ok(resp));
        assert!(GetSdrRequest::parse(&wire[..5]).is_err());
    }
}
