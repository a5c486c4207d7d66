//! Storage commands (NetFn 0x0A): FRU inventory (IPMI 2.0 section 34) and the SDR repository
//! (section 33).

mod get_fru_inventory_area_info;
mod get_sdr;
mod get_sdr_repository_allocation_info;
mod get_sdr_repository_info;
mod read_fru_data;
mod reserve_sdr_repository;

pub use get_fru_inventory_area_info::{FruAreaInfo, GetFruInventoryAreaInfo};
pub use get_sdr::{
    GetSdr, GetSdrRequest, GetSdrResponse, ENTIRE_RECORD, FIRST_RECORD, LAST_RECORD,
};
pub use get_sdr_repository_allocation_info::{GetSdrRepositoryAllocationInfo, SdrAllocationInfo};
pub use get_sdr_repository_info::{GetSdrRepositoryInfo, SdrRepositoryInfo};
pub use read_fru_data::{ReadFruData, ReadFruRequest, ReadFruResponse};
pub use reserve_sdr_repository::{ReservationId, ReserveSdrRepository};
