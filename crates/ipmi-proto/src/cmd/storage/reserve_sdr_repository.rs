//! Reserve SDR Repository (IPMI 2.0 section 33.11, Storage 0x22, User).

use crate::cmd::{command, expect_len, Body, Empty};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Reserve SDR Repository: a reservation ID for partial Get SDR reads; a newer reservation,
    /// or a change of the repository, cancels it.
    ReserveSdrRepository, "Reserve SDR Repository", "33.11",
    NetFn::STORAGE, 0x22, Some(Privilege::User), Empty, ReservationId
);

/// A reservation ID (LS byte first), the response of the Reserve commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReservationId(pub u16);

impl Body for ReservationId {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 2, 2)?;
        Ok(ReservationId(u16::from_le_bytes([d[0], d[1]])))
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(
            ReservationId::parse(&[0x34, 0x12]),
            Ok(ReservationId(0x1234))
        );
        assert_eq!(ReservationId(0x1234).to_bytes(), [0x34, 0x12]);
    }
}
