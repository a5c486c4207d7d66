//! Storage commands (NetFn 0x0A): FRU inventory (IPMI 2.0 section 34), the System Event Log
//! (section 31, records as section 32 defines them) and the SDR repository (section 33).

mod add_sel_entry;
mod allocation_info;
mod clear_sel;
mod delete_sel_entry;
mod get_fru_inventory_area_info;
mod get_sdr;
mod get_sdr_repository_allocation_info;
mod get_sdr_repository_info;
mod get_sel_allocation_info;
mod get_sel_entry;
mod get_sel_info;
mod get_sel_time;
mod get_sel_time_utc_offset;
mod read_fru_data;
mod record_id;
mod reserve_sdr_repository;
mod reserve_sel;
mod sel_record;
mod set_sel_time;

pub use add_sel_entry::AddSelEntry;
pub use allocation_info::AllocationInfo;
pub use clear_sel::{ClearAction, ClearSel, ClearSelProgress, ClearSelRequest, CLEAR_SIGNATURE};
pub use delete_sel_entry::{DeleteSelEntry, DeleteSelRequest};
pub use get_fru_inventory_area_info::{FruAreaInfo, GetFruInventoryAreaInfo};
pub use get_sdr::{GetSdr, GetSdrRequest, GetSdrResponse};
pub use get_sdr_repository_allocation_info::{GetSdrRepositoryAllocationInfo, SdrAllocationInfo};
pub use get_sdr_repository_info::{GetSdrRepositoryInfo, SdrRepositoryInfo};
pub use get_sel_allocation_info::{GetSelAllocationInfo, SelAllocationInfo};
pub use get_sel_entry::{GetSelEntry, SelEntryRequest, SelEntryResponse};
pub use get_sel_info::{sel_support, GetSelInfo, SelInfo, SEL_VERSION};
pub use get_sel_time::GetSelTime;
pub use get_sel_time_utc_offset::{GetSelTimeUtcOffset, UtcOffset, UTC_OFFSET_UNSPECIFIED};
pub use read_fru_data::{ReadFruData, ReadFruRequest, ReadFruResponse};
pub use record_id::{RecordRead, ENTIRE_RECORD, FIRST_RECORD, LAST_RECORD};
pub use reserve_sdr_repository::{ReservationId, ReserveSdrRepository};
pub use reserve_sel::ReserveSel;
pub use sel_record::{
    SelRecord, SystemEvent, EVM_REV, FIRST_NON_TIMESTAMPED, SENSOR_SPECIFIC, SYSTEM_EVENT_RECORD,
};
pub use set_sel_time::SetSelTime;
