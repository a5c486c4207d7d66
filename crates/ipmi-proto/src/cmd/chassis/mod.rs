//! Chassis commands (NetFn 0x00), IPMI 2.0 section 28.

mod chassis_control;
mod chassis_identify;
mod get_chassis_capabilities;
mod get_chassis_status;
mod get_system_boot_options;
mod set_system_boot_options;

pub use chassis_control::{ChassisControl, ControlAction};
pub use chassis_identify::{ChassisIdentify, IdentifyRequest};
pub use get_chassis_capabilities::{ChassisCapabilities, GetChassisCapabilities};
pub use get_chassis_status::{ChassisStatus, GetChassisStatus};
pub use get_system_boot_options::{BootOptionsRequest, BootOptionsResponse, GetSystemBootOptions};
pub use set_system_boot_options::{BootFlags, SetBootOptionsRequest, SetSystemBootOptions};

/// Boot option parameter selectors (table 28-14).
pub mod boot_param {
    /// Set In Progress (1 byte).
    pub const SET_IN_PROGRESS: u8 = 0;
    /// Service partition selector (1 byte).
    pub const SERVICE_PARTITION_SELECTOR: u8 = 1;
    /// Service partition scan (1 byte).
    pub const SERVICE_PARTITION_SCAN: u8 = 2;
    /// BMC boot flag valid bit clearing (1 byte).
    pub const VALID_BIT_CLEARING: u8 = 3;
    /// Boot info acknowledge (2 bytes).
    pub const BOOT_INFO_ACK: u8 = 4;
    /// Boot flags (5 bytes).
    pub const BOOT_FLAGS: u8 = 5;
    /// Boot initiator info (9 bytes).
    pub const BOOT_INITIATOR_INFO: u8 = 6;
}

/// Completion code of the boot options commands: parameter not supported (0x80).
pub const PARAMETER_NOT_SUPPORTED: u8 = 0x80;
