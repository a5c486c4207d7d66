//! Get SEL Allocation Info (IPMI 2.0 section 31.3, Storage 0x41, User).

use super::allocation_info::AllocationInfo;
use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Get SEL Allocation Info: how the SEL's space is divided into allocation units.
    GetSelAllocationInfo, "Get SEL Allocation Info", "31.3",
    NetFn::STORAGE, 0x41, Some(Privilege::User), Empty, SelAllocationInfo
);

/// The Get SEL Allocation Info response.
pub type SelAllocationInfo = AllocationInfo;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::Body;

    #[test]
    fn round_trip() {
        let a = SelAllocationInfo {
            units: 1024,
            unit_size: 16,
            free_units: 1000,
            largest_free: 1000,
            max_record_units: 1,
        };
        let bytes = a.to_bytes();
        assert_eq!(bytes, [0, 4, 16, 0, 0xe8, 3, 0xe8, 3, 1]);
        assert_eq!(SelAllocationInfo::parse(&bytes), Ok(a));
    }
}
