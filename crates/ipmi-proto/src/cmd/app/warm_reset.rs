//! Warm Reset (IPMI 2.0 section 20.3, App 0x03, Administrator).

use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Warm Reset: restart the BMC's firmware without clearing its state.
    WarmReset, "Warm Reset", "20.3",
    NetFn::APP, 0x03, Some(Privilege::Administrator), Empty, Empty
);
