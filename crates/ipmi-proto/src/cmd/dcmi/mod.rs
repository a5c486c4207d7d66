//! DCMI commands (Data Center Manageability Interface 1.5): Group Extension NetFn 0x2C with the
//! group extension identification DCh as the first byte of every request and response.
//! Requests of other groups on NetFn 0x2C (PICMG, VSO: ipmitool probes them after login) carry
//! another first byte; they are not DCMI commands.

mod get_dcmi_capabilities;
mod get_power_reading;

pub use get_dcmi_capabilities::{DcmiCapabilities, DcmiCapabilitiesRequest, GetDcmiCapabilities};
pub use get_power_reading::{
    GetPowerReading, PowerReading, PowerReadingRequest, POWER_MEASUREMENT_ACTIVE,
};

/// The DCMI group extension identification.
pub const DCMI_GROUP: u8 = 0xdc;
/// DCMI specification conformance: major version 1.
pub const DCMI_MAJOR: u8 = 0x01;
/// DCMI specification conformance: minor version 5.
pub const DCMI_MINOR: u8 = 0x05;
/// Completion code of Get DCMI Capabilities Info for a parameter it does not have (80h).
pub const PARAMETER_NOT_SUPPORTED: u8 = 0x80;
