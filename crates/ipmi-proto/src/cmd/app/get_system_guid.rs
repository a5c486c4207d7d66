//! Get System GUID (IPMI 2.0 section 22.14, App 0x37, User). The response is the 16-byte GUID.

use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Get System GUID: the managed system's GUID (`ipmitool mc guid`).
    GetSystemGuid, "Get System GUID", "22.14",
    NetFn::APP, 0x37, Some(Privilege::User), Empty, [u8; 16]
);
