//! Add SEL Entry (IPMI 2.0 section 31.6, Storage 0x44, Operator). The request is a whole
//! 16-byte record whose record ID the SEL device replaces; the response is the ID given.

use super::sel_record::SelRecord;
use crate::cmd::command;
use crate::types::{NetFn, Privilege};

command!(
    /// Add SEL Entry: append a record to the SEL (0xC4 when it is full).
    AddSelEntry, "Add SEL Entry", "31.6",
    NetFn::STORAGE, 0x44, Some(Privilege::Operator), SelRecord, u16
);

#[cfg(test)]
mod tests {
    use super::SelRecord;
    use crate::cmd::{Body, Command};

    #[test]
    fn request_is_one_whole_record() {
        type Req = <super::AddSelEntry as Command>::Request;
        let bytes: Vec<u8> = (0..16).collect();
        let r = Req::parse(&bytes).unwrap();
        assert_eq!(r, SelRecord(bytes.clone().try_into().unwrap()));
        assert_eq!(r.to_bytes(), bytes);
        assert!(Req::parse(&bytes[..15]).is_err());
    }
}
