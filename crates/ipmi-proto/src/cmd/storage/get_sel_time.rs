//! Get SEL Time (IPMI 2.0 section 31.10, Storage 0x48, User). The response is the SEL clock in
//! seconds since 1970-01-01 (section 37), LS byte first.

use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Get SEL Time: the clock that stamps SEL records.
    GetSelTime, "Get SEL Time", "31.10",
    NetFn::STORAGE, 0x48, Some(Privilege::User), Empty, u32
);

#[cfg(test)]
mod tests {
    use crate::cmd::{Body, Command};

    #[test]
    fn time_is_ls_byte_first() {
        type Time = <super::GetSelTime as Command>::Response;
        assert_eq!(0x6543_2100u32.to_bytes(), [0x00, 0x21, 0x43, 0x65]);
        assert_eq!(Time::parse(&[0x00, 0x21, 0x43, 0x65]), Ok(0x6543_2100));
        assert!(Time::parse(&[0; 3]).is_err());
    }
}
