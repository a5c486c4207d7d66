//! Delete SEL Entry (IPMI 2.0 section 31.8, Storage 0x46, Operator). The response is the ID of
//! the record deleted.

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Delete SEL Entry: remove one record, under a reservation.
    DeleteSelEntry, "Delete SEL Entry", "31.8",
    NetFn::STORAGE, 0x46, Some(Privilege::Operator), DeleteSelRequest, u16
);

/// The Delete SEL Entry request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeleteSelRequest {
    /// Reservation ID.
    pub reservation: u16,
    /// Record ID (0x0000 first, 0xFFFF last).
    pub record_id: u16,
}

impl Body for DeleteSelRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 4, 4)?;
        Ok(DeleteSelRequest {
            reservation: u16::from_le_bytes([d[0], d[1]]),
            record_id: u16::from_le_bytes([d[2], d[3]]),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.reservation.to_le_bytes());
        out.extend_from_slice(&self.record_id.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let r = DeleteSelRequest {
            reservation: 0x0201,
            record_id: 0x0403,
        };
        assert_eq!(r.to_bytes(), [1, 2, 3, 4]);
        assert_eq!(DeleteSelRequest::parse(&[1, 2, 3, 4]), Ok(r));
        assert!(DeleteSelRequest::parse(&[1, 2, 3]).is_err());
    }
}
