//! Application commands (NetFn 0x06), IPMI 2.0 sections 20 and 22.
//!
//! The session and channel commands that change or read session state (Get Channel Authentication
//! Capabilities, Get Session Challenge, Activate Session, Set Session Privilege Level, Close Session,
//! Get Session Info, Get Channel Cipher Suites) have their bodies here like every other command;
//! the session layer answers them itself and its clients send them, never the BMC model.

mod activate_session;
mod close_session;
mod cold_reset;
mod get_channel_access;
mod get_channel_auth_capabilities;
mod get_channel_cipher_suites;
mod get_channel_info;
mod get_device_guid;
mod get_device_id;
mod get_self_test_results;
mod get_session_challenge;
mod get_session_info;
mod get_system_guid;
mod get_user_access;
mod get_user_name;
mod set_session_privilege_level;
mod warm_reset;

/// Completion codes specific to the session commands, each with its command's name.
pub mod session_cc {
    pub use super::activate_session::{NO_SESSION_SLOT, PRIVILEGE_EXCEEDS_LIMIT};
    pub use super::close_session::INVALID_SESSION_ID;
    pub use super::get_session_challenge::{INVALID_USER_NAME, NULL_USER_DISABLED};
    pub use super::set_session_privilege_level::{LEVEL_EXCEEDS_LIMIT, LEVEL_NOT_AVAILABLE};
}

pub use activate_session::{ActivateSession, ActivateSessionRequest, ActivateSessionResponse};
pub use close_session::{CloseSession, CloseSessionRequest};
pub use cold_reset::ColdReset;
pub use get_channel_access::{ChannelAccessRequest, ChannelAccessResponse, GetChannelAccess};
pub use get_channel_auth_capabilities::{
    ChannelAuthCapabilitiesRequest, ChannelAuthCapabilitiesResponse, GetChannelAuthCapabilities,
};
pub use get_channel_cipher_suites::{
    suite_ids, CipherSuiteRecord, CipherSuitesRequest, CipherSuitesResponse,
    GetChannelCipherSuites, PAGE_LEN as CIPHER_SUITE_PAGE_LEN,
};
pub use get_channel_info::{
    ChannelInfoRequest, ChannelInfoResponse, GetChannelInfo, IPMI_FORUM_IANA, MEDIUM_LAN,
    PROTOCOL_IPMB,
};
pub use get_device_guid::GetDeviceGuid;
pub use get_device_id::{DeviceIdResponse, GetDeviceId};
pub use get_self_test_results::{GetSelfTestResults, SelfTestResponse};
pub use get_session_challenge::{
    GetSessionChallenge, SessionChallengeRequest, SessionChallengeResponse,
};
pub use get_session_info::{
    GetSessionInfo, LanSession, SessionDetails, SessionInfoRequest, SessionInfoResponse,
    PROTOCOL_IPMI15, PROTOCOL_RMCP_PLUS,
};
pub use get_system_guid::GetSystemGuid;
pub use get_user_access::{GetUserAccess, UserAccessRequest, UserAccessResponse, NO_ACCESS};
pub use get_user_name::{GetUserName, UserNameResponse};
pub use set_session_privilege_level::{
    SetSessionPrivilegeLevel, SetSessionPrivilegeRequest, SetSessionPrivilegeResponse,
};
pub use warm_reset::WarmReset;

/// "The channel this request arrived on" in channel number fields.
pub const CURRENT_CHANNEL: u8 = 0x0e;
