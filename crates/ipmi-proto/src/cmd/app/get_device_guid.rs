//! Get Device GUID (IPMI 2.0 section 20.8, App 0x08, User). The response is the 16-byte GUID.

use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Get Device GUID: the BMC's own GUID.
    GetDeviceGuid, "Get Device GUID", "20.8",
    NetFn::APP, 0x08, Some(Privilege::User), Empty, [u8; 16]
);
