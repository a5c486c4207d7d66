//! Reserve SEL (IPMI 2.0 section 31.4, Storage 0x42, User). The response is the reservation ID
//! (LS byte first), which Delete SEL Entry, Clear SEL and partial Get SEL Entry must present.

use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Reserve SEL: a reservation ID that a later reservation, or the SEL's erasure, cancels.
    ReserveSel, "Reserve SEL", "31.4",
    NetFn::STORAGE, 0x42, Some(Privilege::User), Empty, u16
);

#[cfg(test)]
mod tests {
    use crate::cmd::{Body, Command};

    #[test]
    fn reservation_id_is_ls_byte_first() {
        type Id = <super::ReserveSel as Command>::Response;
        assert_eq!(0x1234u16.to_bytes(), [0x34, 0x12]);
        assert_eq!(Id::parse(&[0x34, 0x12]), Ok(0x1234));
        assert!(Id::parse(&[0x34]).is_err());
    }
}
