//! # ipmi-bmc
//!
//! The BMC model of ipmi-to-metal: it receives the requests that [`ipmi_proto`]'s session layer has
//! authenticated, checks the privilege each command requires, keeps the BMC's own state (boot
//! options, LAN configuration, users, FRU) and carries out machine operations through a
//! [`Backend`].

#![warn(missing_docs)]

pub mod backend;

pub use backend::{
    Backend, BackendError, BackendResult, BootDevice, BootOverride, Inventory, PowerAction,
    PowerState, Requester, SensorKind, SensorReading,
};

use ipmi_proto::session::Request;
use ipmi_proto::types::{CompletionCode, Privilege};
use std::net::Ipv4Addr;
use std::sync::Arc;

/// A user account as the BMC model lists it (Get User Access, Get User Name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    /// User ID (1..=63).
    pub id: u8,
    /// User name.
    pub name: String,
    /// Privilege limit on the LAN channel.
    pub privilege: Privilege,
    /// Whether the account is enabled.
    pub enabled: bool,
}

/// The LAN configuration the BMC reports (Get LAN Configuration Parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LanInfo {
    /// The IPv4 address.
    pub ip: Ipv4Addr,
    /// `true` if the address came from DHCP, `false` if static.
    pub dhcp: bool,
    /// The subnet mask.
    pub netmask: Ipv4Addr,
    /// The default gateway.
    pub gateway: Ipv4Addr,
    /// The MAC address.
    pub mac: [u8; 6],
}

/// Everything the BMC model needs to know about the BMC it plays.
#[derive(Clone, Debug)]
pub struct BmcSettings {
    /// The BMC's configured name, for logs.
    pub name: String,
    /// The BMC's GUID (Get Device GUID, Get System GUID unless the backend knows one).
    pub guid: [u8; 16],
    /// The LAN channel number.
    pub channel: u8,
    /// User accounts.
    pub users: Vec<UserInfo>,
    /// LAN configuration to report.
    pub lan: LanInfo,
    /// Enabled RMCP+ cipher suite IDs (LAN parameters 22 and 23).
    pub cipher_suites: Vec<u8>,
}

/// A response from the BMC model: completion code and data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The completion code.
    pub ccode: CompletionCode,
    /// The response data after the completion code (empty unless `ccode` is OK).
    pub data: Vec<u8>,
}

/// The BMC model of one machine.
pub struct Bmc {
    _settings: BmcSettings,
    _backend: Arc<dyn Backend>,
}

impl Bmc {
    /// Creates the model of a BMC over a backend.
    pub fn new(settings: BmcSettings, backend: Arc<dyn Backend>) -> Self {
        Bmc {
            _settings: settings,
            _backend: backend,
        }
    }

    /// Handles one request: checks its privilege, carries it out, and returns the response.
    /// Unknown commands get 0xC1 at once.
    pub async fn handle(&self, _req: &Request) -> Response {
        Response {
            ccode: CompletionCode::INVALID_COMMAND,
            data: Vec::new(),
        }
    }
}
