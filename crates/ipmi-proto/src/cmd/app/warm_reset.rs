//! Warm Reset (IPMI 2.0 section 20.3, App 0x03, Administrator).

use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Warm Reset: restart the BMC's firmware without clearing its state.
    WarmReset, "Warm Reset", "20.3",
    NetFn::APP, 0x03, Some(Privilege::Administrator), Empty, Empty
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};
    use crate::cmd::{Body, Command};

    #[test]
    fn as_ipmitool_sends_it() {
        // `ipmitool mc reset warm`: App 0x03, no data; the answer has none either.
        assert_eq!((WarmReset::NETFN, WarmReset::CMD), (NetFn::APP, 0x03));
        let _: Empty = captured(&[]);
        round_trip(&Empty);
        assert!(Empty::parse(&[0]).is_err());
    }
}
