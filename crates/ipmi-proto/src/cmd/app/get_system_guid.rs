//! Get System GUID (IPMI 2.0 section 22.14, App 0x37, User). The response is the 16-byte GUID.

use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Get System GUID: the managed system's GUID (`ipmitool mc guid`).
    GetSystemGuid, "Get System GUID", "22.14",
    NetFn::APP, 0x37, Some(Privilege::User), Empty, [u8; 16]
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};
    use crate::cmd::{Body, Command};

    #[test]
    fn guid_of_ipmi_sim() {
        // `ipmitool mc guid` and bmc-info: App 0x37, no data; ipmi_sim's GUID from its lan.conf.
        assert_eq!(
            (GetSystemGuid::NETFN, GetSystemGuid::CMD),
            (NetFn::APP, 0x37)
        );
        let _: Empty = captured(&[]);
        let guid: [u8; 16] = captured(&hex::decode("a123456789abcdefa123456789abcdef").unwrap());
        assert_eq!(guid[15], 0xef);
        round_trip(&[0; 16]);
        assert!(<[u8; 16]>::parse(&[0; 17]).is_err());
    }
}
