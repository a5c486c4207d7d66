//! Cold Reset (IPMI 2.0 section 20.2, App 0x02, Administrator).

use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Cold Reset: restart the BMC (not the machine).
    ColdReset, "Cold Reset", "20.2",
    NetFn::APP, 0x02, Some(Privilege::Administrator), Empty, Empty
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};
    use crate::cmd::{Body, Command};

    #[test]
    fn as_ipmitool_sends_it() {
        // `ipmitool mc reset cold`: App 0x02, no data; the answer has none either.
        assert_eq!((ColdReset::NETFN, ColdReset::CMD), (NetFn::APP, 0x02));
        let _: Empty = captured(&[]);
        round_trip(&Empty);
        assert!(Empty::parse(&[0]).is_err());
    }
}
