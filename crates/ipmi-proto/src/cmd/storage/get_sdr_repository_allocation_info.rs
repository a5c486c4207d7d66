//! Get SDR Repository Allocation Info (IPMI 2.0 section 33.10, Storage 0x21, User).

use super::allocation_info::AllocationInfo;
use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Get SDR Repository Allocation Info: how the repository's space is allocated.
    GetSdrRepositoryAllocationInfo, "Get SDR Repository Allocation Info", "33.10",
    NetFn::STORAGE, 0x21, Some(Privilege::User), Empty, SdrAllocationInfo
);

/// The Get SDR Repository Allocation Info response.
pub type SdrAllocationInfo = AllocationInfo;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::Body;

    #[test]
    fn round_trip() {
        let wire = [20, 0, 64, 0, 0, 0, 0, 0, 1];
        let a = SdrAllocationInfo::parse(&wire).unwrap();
        assert_eq!((a.units, a.unit_size, a.max_record_units), (20, 64, 1));
        assert_eq!(a.to_bytes(), wire);
    }
}
