//! # ipmi-bmc
//!
//! The BMC model of ipmi-to-metal: it receives the requests that [`ipmi_proto`]'s session layer has
//! authenticated, checks the privilege each command requires, keeps the BMC's own state (boot
//! options, LAN configuration, users, FRU, the System Event Log, the SDR repository built from
//! the backend's sensors) and carries out machine operations through a [`Backend`]. Every
//! state-changing request is described to an [`AuditSink`] (see [`audit`]).

#![warn(missing_docs)]

pub mod audit;
pub mod backend;
mod dispatch;
pub mod events;
mod handlers;
pub mod media;
mod operations;
mod operator;
mod privilege_floor;
pub mod routing;
mod sel;
mod sensors;

pub use audit::{
    Asker, AuditOutcome, AuditRecord, AuditSink, BmcStatus, Durability, KnownPower, Protocol,
    AUDIT_REFUSED, AUDIT_REFUSED_CC,
};
pub use backend::{
    guid_from_uuid, Backend, BackendError, BackendResult, BootDevice, BootOverride, Console,
    DiscreteKind, Inventory, MediaInsert, MediaSlot, PowerAction, PowerState, Requester,
    SensorKind, SensorReading, SensorThresholds, TransferProtocol,
};
pub use dispatch::{commands, CommandInfo};
pub use media::{MediaError, MediaSettings, MediaStatus};
pub use operations::Refusal;
pub use operator::{SelLine, SensorLine};
pub use privilege_floor::privilege_floor;

use ipmi_proto::cmd::chassis::BootFlags;
use ipmi_proto::session::{Request, ServerConfig};
use ipmi_proto::types::{CompletionCode, Privilege};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

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
    /// Enabled IPMI 1.5 authentication types as a bit mask (bit 0 none, 1 MD2, 2 MD5, 4 straight),
    /// for LAN parameters 1 and 2.
    pub auth_types: u8,
}

impl BmcSettings {
    /// The settings of a BMC whose LAN channel the session layer serves with `server`: users,
    /// GUID, channel, cipher suites and IPMI 1.5 authentication types are taken from there, so
    /// that what the BMC reports is what its sessions accept.
    pub fn from_server(name: &str, server: &ServerConfig, lan: LanInfo) -> BmcSettings {
        BmcSettings {
            name: name.to_string(),
            guid: server.guid,
            channel: server.channel,
            users: server
                .users
                .iter()
                .map(|u| UserInfo {
                    id: u.id,
                    name: u.name.clone(),
                    privilege: u.privilege,
                    enabled: u.enabled,
                })
                .collect(),
            lan,
            cipher_suites: server.cipher_suites.clone(),
            auth_types: server.auth_type_mask(),
        }
    }
}

/// A response from the BMC model: completion code and data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The completion code.
    pub ccode: CompletionCode,
    /// The response data after the completion code (empty unless `ccode` is OK).
    pub data: Vec<u8>,
}

impl Response {
    /// A response with only a completion code.
    pub fn error(ccode: CompletionCode) -> Response {
        Response {
            ccode,
            data: Vec::new(),
        }
    }
}

/// The BMC model of one machine: its own state (boot options, identify), its System Event Log,
/// and its backend.
pub struct Bmc {
    settings: BmcSettings,
    backend: Arc<dyn Backend>,
    state: Mutex<State>,
    sel: sel::Sel,
    /// The sensors' readings, the SDR repository and the DCMI power statistics.
    sensors: sensors::SensorModel,
    /// Where the records of state-changing requests go, if anywhere.
    audit: Option<Arc<dyn AuditSink>>,
    /// Virtual media: settings, and the state once used.
    media: media::MediaPart,
}

/// What the BMC remembers between requests.
#[derive(Debug, Default)]
struct State {
    /// Boot option parameter 0 (set in progress).
    boot_set_in_progress: u8,
    /// Boot option parameter 3 (boot flag valid bit clearing).
    boot_valid_bit_clearing: u8,
    /// Boot option parameter 4, byte 2 (boot info acknowledge).
    boot_info_ack: u8,
    /// Boot option parameter 5, exactly as last set.
    boot_flags: BootFlags,
    /// Until when the identify light is on (`None`: off); `Some(None)`: on until turned off.
    identify_until: Option<Option<Instant>>,
    /// Whether the last power-on was asked for over IPMI (Get Chassis Status byte 2, bit 4).
    last_on_by_ipmi: bool,
    /// The power state last seen, to log the changes seen (`None`: not read yet).
    last_power: Option<PowerState>,
    /// Whether the backend has failed to answer since it last answered.
    backend_down: bool,
    /// The power state as last known (read, or expected after an action), for the status.
    known_power: Option<KnownPower>,
    /// The last state-changing request, for the status (boxed: most BMCs have none yet).
    last_action: Option<Box<AuditRecord>>,
    /// The last backend failure (when, what), for the status.
    last_error: Option<(SystemTime, String)>,
    /// The power action the backend is carrying out now (Redfish's `PoweringOn`/`PoweringOff`).
    power_pending: Option<PowerAction>,
    /// Counts the starts and ends of power actions: a power read during which it moved may have
    /// seen the state from before the action, and must not replace what the action made known
    /// (the background refresh and a client's status read race with actions).
    power_epoch: u32,
}

impl Bmc {
    /// Creates the model of a BMC over a backend, with a SEL in memory (see [`Bmc::with_sel`]).
    pub fn new(settings: BmcSettings, backend: Arc<dyn Backend>) -> Self {
        let log = sel::in_memory_log(&settings.name);
        Bmc::with_sel(settings, backend, log)
    }

    /// Creates the model of a BMC over a backend, keeping its System Event Log in `log`
    /// (durably, if its store is a file).
    pub fn with_sel(
        settings: BmcSettings,
        backend: Arc<dyn Backend>,
        log: sel_store::SelLog,
    ) -> Self {
        Bmc {
            sel: sel::Sel::new(log),
            sensors: sensors::SensorModel::new(),
            settings,
            backend,
            state: Mutex::new(State::default()),
            audit: None,
            media: media::MediaPart::default(),
        }
    }

    /// Sends the record of every state-changing request to `sink` (see [`audit`]).
    pub fn with_audit(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(sink);
        self
    }

    /// Where the records of state-changing requests go, if anywhere: for the runtime's own
    /// records of what it carries out beside the model (SOL sessions).
    pub fn audit_sink(&self) -> Option<&Arc<dyn AuditSink>> {
        self.audit.as_ref()
    }

    /// What the BMC shows of itself: power state as last known, last action, last backend
    /// failure. For a status page: it takes the lock that requests take, briefly.
    pub fn status(&self) -> BmcStatus {
        let st = self.state();
        BmcStatus {
            power: st.known_power,
            last_action: st.last_action.as_deref().cloned(),
            last_error: st.last_error.clone(),
            backend_down: st.backend_down,
        }
    }

    /// The settings this BMC was created with.
    pub fn settings(&self) -> &BmcSettings {
        &self.settings
    }

    /// The backend that carries out this BMC's operations.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the plain data inconsistent; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The completion code this request gets without its backend being asked, if it is refused
    /// outright: an unknown command (0xC1), a privilege below the command's (0xD4; every command
    /// outside a session), a malformed body. [`Bmc::handle`] answers such a request with that
    /// code, and at its first poll. `None`: it is carried out (and may still fail).
    pub fn refusal(&self, req: &Request) -> Option<CompletionCode> {
        dispatch::refusal(self, req)
    }

    /// Carries out a power action that a caller outside IPMI asked for (the admin API: `who`
    /// names it and its client's address), as Chassis Control does: through the backend,
    /// recorded in the SEL (without a user ID), and audited as `command` durably before this
    /// returns. The error: the completion code an IPMI client would get, and why.
    pub async fn power_for(
        &self,
        action: PowerAction,
        who: Requester,
        command: &'static str,
    ) -> Result<(), (CompletionCode, String)> {
        let asker = audit::Asker::outside(who, Protocol::AdminApi);
        self.power_action(action, &asker, command).await
    }

    /// Handles one request: checks its privilege, carries it out, and returns the response.
    /// Unknown commands get 0xC1 at once.
    pub async fn handle(&self, req: &Request) -> Response {
        match dispatch::handle(self, req).await {
            Ok(data) => Response {
                ccode: CompletionCode::OK,
                data,
            },
            Err(ccode) => Response::error(ccode),
        }
    }
}
