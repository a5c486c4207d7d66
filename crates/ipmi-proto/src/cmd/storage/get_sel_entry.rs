//! Get SEL Entry (IPMI 2.0 section 31.5, Storage 0x43, User).

#[cfg(test)]
use super::record_id::LAST_RECORD;
use super::record_id::{RecordRead, ENTIRE_RECORD};
use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Get SEL Entry: a record, or part of one, and the ID of the record after it.
    GetSelEntry, "Get SEL Entry", "31.5",
    NetFn::STORAGE, 0x43, Some(Privilege::User), SelEntryRequest, SelEntryResponse
);

/// The Get SEL Entry request.
pub type SelEntryRequest = RecordRead;

impl RecordRead {
    /// Whether a Get SEL Entry request reads part of a SEL record (16 bytes) only, and so
    /// needs a reservation.
    pub fn is_partial_sel_read(&self) -> bool {
        self.offset != 0 || (self.count != ENTIRE_RECORD && self.count < 16)
    }
}

/// The Get SEL Entry response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelEntryResponse {
    /// The ID of the next record ([`LAST_RECORD`] after the last one).
    pub next: u16,
    /// The bytes read.
    pub data: Vec<u8>,
}

impl Body for SelEntryResponse {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2 + 16)?;
        Ok(SelEntryResponse {
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
    fn ipmitool_full_read_round_trips() {
        // ipmitool sel list: no reservation, record 5, offset 0, entire record.
        let req = SelEntryRequest::parse(&[0, 0, 5, 0, 0, 0xff]).unwrap();
        assert_eq!(req.record_id, 5);
        assert!(!req.is_partial_sel_read());
        assert_eq!(req.to_bytes(), [0, 0, 5, 0, 0, 0xff]);
        let partial = SelEntryRequest {
            reservation: 0x0102,
            record_id: LAST_RECORD,
            offset: 4,
            count: 8,
        };
        assert!(partial.is_partial_sel_read());
        assert_eq!(SelEntryRequest::parse(&partial.to_bytes()), Ok(partial));
        assert!(SelEntryRequest::parse(&[0; 5]).is_err());
    }

    #[test]
    fn response_round_trips() {
        let r = SelEntryResponse {
            next: LAST_RECORD,
            data: vec![1, 0, 2],
        };
        assert_eq!(r.to_bytes(), [0xff, 0xff, 1, 0, 2]);
        assert_eq!(SelEntryResponse::parse(&r.to_bytes()), Ok(r));
    }
}
