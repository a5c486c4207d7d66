//! Set SEL Time (IPMI 2.0 section 31.11, Storage 0x49, Operator). The request is the new time in
//! seconds since 1970-01-01 (section 37), LS byte first.

use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Set SEL Time: set the clock that stamps SEL records.
    SetSelTime, "Set SEL Time", "31.11",
    NetFn::STORAGE, 0x49, Some(Privilege::Operator), u32, Empty
);

#[cfg(test)]
mod tests {
    use crate::cmd::{Body, Command};

    #[test]
    fn request_is_four_bytes() {
        type Time = <super::SetSelTime as Command>::Request;
        assert_eq!(Time::parse(&[1, 0, 0, 0]), Ok(1));
        assert_eq!(1u32.to_bytes(), [1, 0, 0, 0]);
        assert!(Time::parse(&[1, 0, 0, 0, 0]).is_err());
    }
}
