//! Application commands (NetFn 0x06), IPMI 2.0 sections 20 and 22.
//!
//! The session and channel commands that change or read session state (Get Channel Authentication
//! Capabilities, Get Session Challenge, Activate Session, Set Session Privilege Level, Close Session,
//! Get Session Info, Get Channel Cipher Suites) are answered by [`crate::session`] itself.

mod cold_reset;
mod get_channel_access;
mod get_channel_info;
mod get_device_guid;
mod get_device_id;
mod get_self_test_results;
mod get_system_guid;
mod get_user_access;
mod get_user_name;
mod warm_reset;

pub use cold_reset::ColdReset;
pub use get_channel_access::{ChannelAccessRequest, ChannelAccessResponse, GetChannelAccess};
pub use get_channel_info::{
    ChannelInfoRequest, ChannelInfoResponse, GetChannelInfo, IPMI_FORUM_IANA, MEDIUM_LAN,
    PROTOCOL_IPMB,
};
pub use get_device_guid::GetDeviceGuid;
pub use get_device_id::{DeviceIdResponse, GetDeviceId};
pub use get_self_test_results::{GetSelfTestResults, SelfTestResponse};
pub use get_system_guid::GetSystemGuid;
pub use get_user_access::{GetUserAccess, UserAccessRequest, UserAccessResponse, NO_ACCESS};
pub use get_user_name::{GetUserName, UserNameResponse};
pub use warm_reset::WarmReset;

/// "The channel this request arrived on" in channel number fields.
pub const CURRENT_CHANNEL: u8 = 0x0e;
