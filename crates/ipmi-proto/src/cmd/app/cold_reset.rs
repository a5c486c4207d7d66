//! Cold Reset (IPMI 2.0 section 20.2, App 0x02, Administrator).

use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Cold Reset: restart the BMC (not the machine).
    ColdReset, "Cold Reset", "20.2",
    NetFn::APP, 0x02, Some(Privilege::Administrator), Empty, Empty
);
