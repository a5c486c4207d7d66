//! Get Device GUID (IPMI 2.0 section 20.8, App 0x08, User). The response is the 16-byte GUID.

use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Get Device GUID: the BMC's own GUID.
    GetDeviceGuid, "Get Device GUID", "20.8",
    NetFn::APP, 0x08, Some(Privilege::User), Empty, [u8; 16]
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};
    use crate::cmd::{Body, Command};

    #[test]
    fn guid_as_we_answer_freeipmi() {
        // bmc-info: App 0x08, no data; 16 bytes of GUID back.
        assert_eq!(
            (GetDeviceGuid::NETFN, GetDeviceGuid::CMD),
            (NetFn::APP, 0x08)
        );
        let guid: [u8; 16] = captured(&hex::decode("fcfec820c2e3f5a62646e7e85496ce83").unwrap());
        assert_eq!(guid[0], 0xfc);
        round_trip(&[0x5a; 16]);
        assert!(<[u8; 16]>::parse(&[0; 15]).is_err());
    }
}
