//! Application commands (NetFn 0x06), IPMI 2.0 sections 20 and 22.
//!
//! The session and channel commands that change or read session state (Get Channel Authentication
//! Capabilities, Get Session Challenge, Activate Session, Set Session Privilege Level, Close Session,
//! Get Session Info, Get Channel Cipher Suites) have their bodies here like every other command;
//! the session layer answers them itself and its clients send them, never the BMC model. So do the
//! payload commands of Serial over LAN (Activate and Deactivate Payload, Get Payload Activation
//! Status, Get Payload Instance Info, Get Channel Payload Support and Version): a payload runs
//! inside a session.

mod activate_payload;
mod activate_session;
mod close_session;
mod cold_reset;
mod deactivate_payload;
mod get_channel_access;
mod get_channel_auth_capabilities;
mod get_channel_cipher_suites;
mod get_channel_info;
mod get_channel_payload_support;
mod get_channel_payload_version;
mod get_device_guid;
mod get_device_id;
mod get_payload_activation_status;
mod get_payload_instance_info;
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

/// Completion codes of the payload commands (Serial over LAN), each with its command's name.
pub mod payload_cc {
    pub use super::activate_payload::{
        ACTIVATION_LIMIT, ALREADY_ACTIVE, CANNOT_ENCRYPT, MUST_ENCRYPT, PAYLOAD_DISABLED,
    };
    pub use super::deactivate_payload::{ALREADY_DEACTIVATED, PAYLOAD_TYPE_DISABLED};
    pub use super::get_channel_payload_version::PAYLOAD_NOT_AVAILABLE;
}

pub use activate_payload::{
    ActivatePayload, ActivatePayloadRequest, ActivatePayloadResponse, AUX_AUTHENTICATE, AUX_ENCRYPT,
};
pub use activate_session::{ActivateSession, ActivateSessionRequest, ActivateSessionResponse};
pub use close_session::{CloseSession, CloseSessionRequest};
pub use cold_reset::ColdReset;
pub use deactivate_payload::{DeactivatePayload, DeactivatePayloadRequest};
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
pub use get_channel_payload_support::{
    ChannelPayloadSupport, GetChannelPayloadSupport, PAYLOAD_IPMI, PAYLOAD_SOL, SESSION_SETUP_ALL,
};
pub use get_channel_payload_version::{
    GetChannelPayloadVersion, PayloadVersionRequest, VERSION_1_0,
};
pub use get_device_guid::GetDeviceGuid;
pub use get_device_id::{DeviceIdResponse, GetDeviceId};
pub use get_payload_activation_status::{GetPayloadActivationStatus, PayloadActivationStatus};
pub use get_payload_instance_info::{
    GetPayloadInstanceInfo, PayloadInstanceInfo, PayloadInstanceRequest,
};
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
