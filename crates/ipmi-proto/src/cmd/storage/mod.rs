//! Storage commands (NetFn 0x0A): FRU inventory (IPMI 2.0 section 34).

mod get_fru_inventory_area_info;
mod read_fru_data;

pub use get_fru_inventory_area_info::{FruAreaInfo, GetFruInventoryAreaInfo};
pub use read_fru_data::{ReadFruData, ReadFruRequest, ReadFruResponse};
