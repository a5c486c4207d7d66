//! Clear SEL (IPMI 2.0 section 31.9, Storage 0x47, Operator): erase the whole SEL in two steps,
//! "initiate erase" then "get erasure status", each under a reservation and with the 'C' 'L' 'R'
//! signature that guards against accidental erasure.

use crate::cmd::{command, expect_len, Body};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Clear SEL: initiate the erasure of all records, or ask how it is going.
    ClearSel, "Clear SEL", "31.9",
    NetFn::STORAGE, 0x47, Some(Privilege::Operator), ClearSelRequest, ClearSelProgress
);

/// The signature bytes 3-5 of every Clear SEL request.
pub const CLEAR_SIGNATURE: [u8; 3] = *b"CLR";

/// What a Clear SEL request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClearAction {
    /// 0xAA: initiate erase.
    Initiate,
    /// 0x00: get erasure status.
    Status,
}

/// The Clear SEL request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClearSelRequest {
    /// Reservation ID.
    pub reservation: u16,
    /// Initiate, or get status.
    pub action: ClearAction,
}

impl Body for ClearSelRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 6, 6)?;
        if d[2..5] != CLEAR_SIGNATURE {
            return Err(ParseError::Field);
        }
        let action = match d[5] {
            0xaa => ClearAction::Initiate,
            0x00 => ClearAction::Status,
            _ => return Err(ParseError::Field),
        };
        Ok(ClearSelRequest {
            reservation: u16::from_le_bytes([d[0], d[1]]),
            action,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.reservation.to_le_bytes());
        out.extend_from_slice(&CLEAR_SIGNATURE);
        out.push(match self.action {
            ClearAction::Initiate => 0xaa,
            ClearAction::Status => 0x00,
        });
    }
}

/// The Clear SEL response: erasure progress (bits 3:0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClearSelProgress {
    /// `true`: erasure completed; `false`: in progress.
    pub completed: bool,
}

impl Body for ClearSelProgress {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 1, 1)?;
        Ok(ClearSelProgress {
            completed: d[0] & 0x0f == 1,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.completed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_signature() {
        let r = ClearSelRequest {
            reservation: 0x0102,
            action: ClearAction::Initiate,
        };
        assert_eq!(r.to_bytes(), [2, 1, b'C', b'L', b'R', 0xaa]);
        assert_eq!(ClearSelRequest::parse(&r.to_bytes()), Ok(r));
        let status = ClearSelRequest::parse(&[2, 1, b'C', b'L', b'R', 0]).unwrap();
        assert_eq!(status.action, ClearAction::Status);
        assert_eq!(
            ClearSelRequest::parse(&[2, 1, b'C', b'L', b'X', 0xaa]),
            Err(ParseError::Field)
        );
        assert_eq!(
            ClearSelRequest::parse(&[2, 1, b'C', b'L', b'R', 0x55]),
            Err(ParseError::Field)
        );
        let done = ClearSelProgress { completed: true };
        assert_eq!(done.to_bytes(), [1]);
        assert_eq!(ClearSelProgress::parse(&[1]), Ok(done));
    }
}
