//! Transport commands (NetFn 0x0C), IPMI 2.0 sections 23 (LAN configuration) and 26 (Serial over
//! LAN configuration).

mod get_lan_config_params;
mod get_sol_config_params;
mod set_sol_config_params;

pub use get_lan_config_params::{GetLanConfigParams, LanConfigRequest, LanConfigResponse};
pub use get_sol_config_params::{GetSolConfigParams, SolConfigRequest, SolConfigResponse};
pub use set_sol_config_params::{
    SetSolConfigParams, SetSolConfigRequest, READ_ONLY_PARAMETER, SET_ALREADY_IN_PROGRESS,
};

/// SOL configuration parameter selectors (table 26-5).
pub mod sol_param {
    /// Set In Progress (1 byte: 0 set complete, 1 set in progress, 2 commit write).
    pub const SET_IN_PROGRESS: u8 = 0;
    /// SOL Enable (1 byte, bit 0).
    pub const ENABLE: u8 = 1;
    /// SOL Authentication (1 byte: bit 7 force encryption, bit 6 force authentication, bits 3:0
    /// the privilege level needed to activate SOL).
    pub const AUTHENTICATION: u8 = 2;
    /// Character accumulate interval (5 ms units, 1-based) and send threshold (characters).
    pub const ACCUMULATE: u8 = 3;
    /// SOL retry: count (bits 2:0) and interval (10 ms units).
    pub const RETRY: u8 = 4;
    /// Non-volatile bit rate (bits 3:0: 6 9600, 7 19200, 8 38400, 9 57600, 10 115200).
    pub const NON_VOLATILE_BIT_RATE: u8 = 5;
    /// Volatile bit rate (as the non-volatile one).
    pub const VOLATILE_BIT_RATE: u8 = 6;
    /// The channel SOL runs on (read only).
    pub const PAYLOAD_CHANNEL: u8 = 7;
    /// The UDP port SOL runs on (2 bytes, least significant first; read only here).
    pub const PAYLOAD_PORT: u8 = 8;
}

/// LAN configuration parameter selectors (table 23-4).
pub mod lan_param {
    /// Set In Progress (1 byte).
    pub const SET_IN_PROGRESS: u8 = 0;
    /// Authentication type support (1 byte, read only).
    pub const AUTH_TYPE_SUPPORT: u8 = 1;
    /// Authentication type enables per privilege level (5 bytes).
    pub const AUTH_TYPE_ENABLES: u8 = 2;
    /// IP address (4 bytes).
    pub const IP_ADDRESS: u8 = 3;
    /// IP address source (1 byte: 1 static, 2 DHCP).
    pub const IP_ADDRESS_SOURCE: u8 = 4;
    /// MAC address (6 bytes).
    pub const MAC_ADDRESS: u8 = 5;
    /// Subnet mask (4 bytes).
    pub const SUBNET_MASK: u8 = 6;
    /// IPv4 header parameters (3 bytes: TTL, flags, precedence/TOS).
    pub const IPV4_HEADER: u8 = 7;
    /// BMC-generated ARP control (1 byte).
    pub const ARP_CONTROL: u8 = 10;
    /// Gratuitous ARP interval (1 byte, 500 ms units).
    pub const GRATUITOUS_ARP_INTERVAL: u8 = 11;
    /// Default gateway address (4 bytes).
    pub const DEFAULT_GATEWAY: u8 = 12;
    /// Default gateway MAC address (6 bytes).
    pub const DEFAULT_GATEWAY_MAC: u8 = 13;
    /// Backup gateway address (4 bytes).
    pub const BACKUP_GATEWAY: u8 = 14;
    /// Backup gateway MAC address (6 bytes).
    pub const BACKUP_GATEWAY_MAC: u8 = 15;
    /// Community string (18 bytes).
    pub const COMMUNITY_STRING: u8 = 16;
    /// 802.1q VLAN ID (2 bytes).
    pub const VLAN_ID: u8 = 20;
    /// 802.1q VLAN priority (1 byte).
    pub const VLAN_PRIORITY: u8 = 21;
    /// RMCP+ messaging cipher suite entry support (1 + n bytes).
    pub const CIPHER_SUITE_SUPPORT: u8 = 22;
    /// RMCP+ messaging cipher suite entries (1 + n bytes).
    pub const CIPHER_SUITE_ENTRIES: u8 = 23;
    /// RMCP+ messaging cipher suite privilege levels (9 bytes).
    pub const CIPHER_SUITE_PRIVILEGES: u8 = 24;
}

/// Completion code of the LAN configuration commands: parameter not supported (0x80).
pub const PARAMETER_NOT_SUPPORTED: u8 = 0x80;
