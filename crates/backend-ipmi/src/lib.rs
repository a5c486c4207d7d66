//! # backend-ipmi
//!
//! A [`Backend`] that carries every operation to a real BMC (or an OpenIPMI/FreeIPMI daemon) over
//! RMCP+ or IPMI 1.5, logging in once and keeping the session: a dropped or expired session is
//! logged into again on the next operation. Besides the modelled operations (power, identify,
//! GUID), the commands of an allow-list ([`RelayRule`], by default [`default_relay`]) are relayed
//! whole, so that the boot options, FRU, SDR, sensors and SEL are the real BMC's own. Its analog
//! sensors are also read as readings (module `sensors`), for DCMI power; and the records of the
//! actions carried out through the shim are added to its SEL.

#![warn(missing_docs)]

pub mod config;
mod sensors;
pub mod sol;

use async_trait::async_trait;
use ipmi_bmc::{
    Backend, BackendError, BackendResult, BootDevice, BootOverride, Inventory, PowerAction,
    PowerState, Requester, SensorReading,
};
use ipmi_client::{Error as ClientError, Response, Retry, Session};
use ipmi_proto::session::ClientConfig;
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How to reach the BMC behind.
#[derive(Clone, Debug)]
pub struct IpmiBackendConfig {
    /// The BMC's address.
    pub address: SocketAddr,
    /// Login: user, password, Kg, privilege and cipher suites to try.
    pub client: ClientConfig,
    /// Retransmission policy for each request.
    pub retry: Retry,
    /// Every operation finishes within this time, or fails with a timeout.
    pub deadline: Duration,
    /// The commands relayed whole; the first rule that matches a command decides.
    pub relay: Vec<RelayRule>,
    /// Keep the session alive with a Get Device ID when it has been idle this long (BMCs close
    /// idle sessions, commonly after 60 s, and a dead session costs a whole retry timeout to
    /// notice); `None` lets it expire and logs in again on the next use.
    pub keepalive: Option<Duration>,
    /// Relay the BMC's Serial over LAN as this BMC's console (`sol = true`).
    pub sol: bool,
}

/// One entry of the relay allow-list: a command (or every command of a NetFn) and the session
/// privilege a client needs to have it relayed. Whatever the downstream account may do, a client
/// gets only what the list grants its session, and never below the command's IPMI 2.0 appendix
/// G privilege ([`ipmi_bmc::privilege_floor`], enforced by the BMC model).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayRule {
    /// The request NetFn.
    pub netfn: NetFn,
    /// The command, or `None` for every command of the NetFn.
    pub cmd: Option<u8>,
    /// The privilege the client's session needs.
    pub privilege: Privilege,
    /// Written with `force = true`, past the configuration's refusal of rules that could take
    /// the BMC behind over (Send Message, channel and user management, whole OEM NetFns).
    pub forced: bool,
}

impl RelayRule {
    const fn one(netfn: NetFn, cmd: u8, privilege: Privilege) -> Self {
        RelayRule {
            netfn,
            cmd: Some(cmd),
            privilege,
            forced: false,
        }
    }

    /// Whether this rule covers command `cmd` of `netfn`.
    pub fn matches(&self, netfn: NetFn, cmd: u8) -> bool {
        self.netfn == netfn && self.cmd.is_none_or(|c| c == cmd)
    }
}

/// The default allow-list: the boot options, and the read side of FRU, SDR, sensors and SEL
/// (plus Clear SEL), at the privileges IPMI 2.0 appendix G gives them.
pub fn default_relay() -> Vec<RelayRule> {
    use Privilege::{Operator, User};
    let (ch, se, st) = (NetFn::CHASSIS, NetFn::SENSOR_EVENT, NetFn::STORAGE);
    vec![
        RelayRule::one(ch, SET_BOOT_OPTIONS, Operator),
        RelayRule::one(ch, GET_BOOT_OPTIONS, Operator),
        // Sensor/Event: device SDR info, device SDR, reserve, reading factors, hysteresis,
        // thresholds, event enable, event status, reading, type.
        RelayRule::one(se, 0x20, User),
        RelayRule::one(se, 0x21, User),
        RelayRule::one(se, 0x22, User),
        RelayRule::one(se, 0x23, User),
        RelayRule::one(se, 0x25, User),
        RelayRule::one(se, 0x27, User),
        RelayRule::one(se, 0x29, User),
        RelayRule::one(se, 0x2b, User),
        RelayRule::one(se, 0x2d, User),
        RelayRule::one(se, 0x2f, User),
        // Storage: FRU area info, read FRU; SDR repository info, allocation, reserve, get SDR;
        // SEL info, allocation, reserve, get entry, get time; Clear SEL.
        RelayRule::one(st, 0x10, User),
        RelayRule::one(st, 0x11, User),
        RelayRule::one(st, 0x20, User),
        RelayRule::one(st, 0x21, User),
        RelayRule::one(st, 0x22, User),
        RelayRule::one(st, 0x23, User),
        RelayRule::one(st, 0x40, User),
        RelayRule::one(st, 0x41, User),
        RelayRule::one(st, 0x42, User),
        RelayRule::one(st, 0x43, User),
        RelayRule::one(st, 0x48, User),
        RelayRule::one(st, 0x47, Operator),
    ]
}

/// The ipmi backend.
pub struct IpmiBackend {
    config: IpmiBackendConfig,
    session: Mutex<Option<Slot>>,
    /// The SDR repository behind, as far as read (see [`sensors`]).
    sdr: Mutex<sensors::SdrWalk>,
}

/// The open session and when it was last used.
struct Slot {
    session: Session,
    used: Instant,
}

const CHASSIS_STATUS: u8 = 0x01;
const CHASSIS_CONTROL: u8 = 0x02;
const CHASSIS_IDENTIFY: u8 = 0x04;
const SET_BOOT_OPTIONS: u8 = 0x08;
const GET_BOOT_OPTIONS: u8 = 0x09;
const GET_SYSTEM_GUID: u8 = 0x37;
const GET_DEVICE_ID: u8 = 0x01;
const ADD_SEL_ENTRY: u8 = 0x44;

/// Starts the backend's keep-alive task (if its configuration asks for one) on the current tokio
/// runtime. The task ends when the backend is dropped.
pub fn spawn_keepalive(backend: &Arc<IpmiBackend>) {
    let Some(every) = backend.config.keepalive else {
        return;
    };
    let weak = Arc::downgrade(backend);
    // In the span of the BMC being started, so that its log lines say whose they are.
    let task = async move {
        let mut tick = tokio::time::interval(every / 2);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            let Some(b) = weak.upgrade() else { break };
            b.keep_alive(every).await;
        }
    };
    tokio::spawn(tracing::Instrument::in_current_span(task));
}

impl IpmiBackend {
    /// A backend for the BMC at `config.address`; it logs in on first use.
    pub fn new(config: IpmiBackendConfig) -> Self {
        IpmiBackend {
            config,
            session: Mutex::new(None),
            sdr: Mutex::new(sensors::SdrWalk::default()),
        }
    }

    /// Sends one request to the BMC behind, logging in first if needed, within the deadline.
    /// A completion code other than 0 is returned as [`BackendError`] only by the callers that
    /// need the data; the raw response is returned here.
    pub async fn call(&self, netfn: NetFn, cmd: u8, data: &[u8]) -> BackendResult<Response> {
        let work = async {
            let mut guard = self.session.lock().await;
            // The session is taken out while in use: if the deadline cancels this future
            // midway (perhaps during a re-login), it is dropped, and the next call starts afresh.
            let mut s = match guard.take() {
                Some(slot) => slot.session,
                None => {
                    let s = Session::open(
                        self.config.address,
                        self.config.client.clone(),
                        self.config.retry,
                    )
                    .await
                    .map_err(|e| map_client_error(&e))?;
                    tracing::info!(bmc_behind = %self.config.address, cipher_suite = ?s.cipher_suite(), "logged in to the BMC behind");
                    s
                }
            };
            let r = match s.request_relogin(netfn, cmd, data).await {
                Ok(r) => r,
                Err(e) => {
                    // Free the BMC's session slot (it has few) if it still listens.
                    tokio::spawn(s.close());
                    return Err(map_client_error(&e));
                }
            };
            *guard = Some(Slot {
                session: s,
                used: Instant::now(),
            });
            Ok(r)
        };
        match tokio::time::timeout(self.config.deadline, work).await {
            Ok(r) => r,
            Err(_) => {
                tracing::warn!(bmc_behind = %self.config.address, "the BMC behind did not answer in time");
                Err(BackendError::Timeout(format!(
                    "no answer from {} within {:?}",
                    self.config.address, self.config.deadline
                )))
            }
        }
    }

    /// Sends a Get Device ID if the session is open and has been idle for `idle`; a failure
    /// drops the session, to be opened afresh on the next use.
    async fn keep_alive(&self, idle: Duration) {
        let due = {
            let guard = self.session.lock().await;
            guard.as_ref().is_some_and(|s| s.used.elapsed() >= idle)
        };
        if due {
            if let Err(e) = self.call(NetFn::APP, GET_DEVICE_ID, &[]).await {
                tracing::info!(bmc_behind = %self.config.address, error = %e, "keep-alive failed: the next request logs in again");
            }
        }
    }

    /// Like [`IpmiBackend::call`], with a completion code other than 0 turned into an error.
    async fn call_ok(&self, netfn: NetFn, cmd: u8, data: &[u8]) -> BackendResult<Vec<u8>> {
        let r = self.call(netfn, cmd, data).await?;
        if r.ccode == CompletionCode::OK {
            Ok(r.data)
        } else {
            Err(BackendError::Completion(r.ccode))
        }
    }
}

fn map_client_error(e: &ClientError) -> BackendError {
    match e {
        ClientError::Timeout(..) => BackendError::Timeout(e.to_string()),
        ClientError::Login(_) | ClientError::Io(_) => BackendError::Failed(e.to_string()),
    }
}

/// The boot flags (boot option parameter 5) for an override.
pub fn boot_flags(boot: Option<BootOverride>) -> [u8; 5] {
    match boot {
        None => [0; 5],
        Some(b) => [
            0x80 | (u8::from(b.persistent) << 6) | (u8::from(b.efi) << 5),
            b.device.selector() << 2,
            0,
            0,
            0,
        ],
    }
}

/// The override that boot flags (boot option parameter 5 data) select, if any.
pub fn parse_boot_flags(flags: &[u8]) -> Option<BootOverride> {
    let (b1, b2) = (*flags.first()?, *flags.get(1)?);
    if b1 & 0x80 == 0 {
        return None;
    }
    Some(BootOverride {
        device: BootDevice::from_selector((b2 >> 2) & 0x0f)?,
        persistent: b1 & 0x40 != 0,
        efi: b1 & 0x20 != 0,
    })
}

#[async_trait]
impl Backend for IpmiBackend {
    fn kind(&self) -> &'static str {
        "ipmi"
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        let d = self.call_ok(NetFn::CHASSIS, CHASSIS_STATUS, &[]).await?;
        match d.first() {
            Some(b) if b & 1 == 1 => Ok(PowerState::On),
            Some(_) => Ok(PowerState::Off),
            None => Err(BackendError::Failed("empty chassis status".into())),
        }
    }

    async fn power(&self, action: PowerAction, who: &Requester) -> BackendResult<()> {
        let code = match action {
            PowerAction::Off => 0,
            PowerAction::On => 1,
            PowerAction::Cycle => 2,
            PowerAction::Reset => 3,
            PowerAction::Diag => 4,
            PowerAction::Soft => 5,
        };
        let r = self.call_ok(NetFn::CHASSIS, CHASSIS_CONTROL, &[code]).await;
        tracing::info!(bmc_behind = %self.config.address, %action, %who, ok = r.is_ok(), "power action relayed");
        r.map(|_| ())
    }

    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        who: &Requester,
    ) -> BackendResult<()> {
        let mut data = vec![0x05];
        data.extend_from_slice(&boot_flags(boot));
        let r = self.call_ok(NetFn::CHASSIS, SET_BOOT_OPTIONS, &data).await;
        tracing::info!(bmc_behind = %self.config.address, ?boot, %who, ok = r.is_ok(), "boot override relayed");
        r.map(|_| ())
    }

    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        let d = self
            .call_ok(NetFn::CHASSIS, GET_BOOT_OPTIONS, &[0x05, 0, 0])
            .await?;
        // Parameter version, parameter valid/selector, then the 5 flag bytes.
        Ok(d.get(2..).and_then(parse_boot_flags))
    }

    async fn identify(&self, seconds: Option<u8>, _who: &Requester) -> BackendResult<()> {
        let data = match seconds {
            Some(s) => vec![s],
            None => vec![0, 1],
        };
        self.call_ok(NetFn::CHASSIS, CHASSIS_IDENTIFY, &data)
            .await
            .map(|_| ())
    }

    async fn sensors(&self) -> BackendResult<Vec<SensorReading>> {
        self.mapped_sensors().await
    }

    async fn add_sel_entry(&self, record: [u8; 16], _who: &Requester) -> BackendResult<u16> {
        let d = self.call_ok(NetFn::STORAGE, ADD_SEL_ENTRY, &record).await?;
        match d[..] {
            [lo, hi, ..] => Ok(u16::from_le_bytes([lo, hi])),
            _ => Err(BackendError::Failed("short Add SEL Entry answer".into())),
        }
    }

    fn relays(&self, netfn: NetFn, cmd: u8) -> Option<Privilege> {
        self.config
            .relay
            .iter()
            .find(|r| r.matches(netfn, cmd))
            .map(|r| r.privilege)
    }

    async fn relay(
        &self,
        netfn: NetFn,
        cmd: u8,
        data: &[u8],
        _who: &Requester,
    ) -> BackendResult<(CompletionCode, Vec<u8>)> {
        let r = self.call(netfn, cmd, data).await?;
        Ok((r.ccode, r.data))
    }

    /// The BMC behind's Serial over LAN, in a session of its own (with `sol = true`).
    async fn console(&self, _who: &Requester) -> BackendResult<Box<dyn ipmi_bmc::Console>> {
        if !self.config.sol {
            return Err(BackendError::NotSupported);
        }
        let c = sol::open(
            self.config.address,
            self.config.client.clone(),
            self.config.retry,
        )
        .await?;
        Ok(Box::new(c))
    }

    async fn inventory(&self) -> BackendResult<Inventory> {
        let d = self.call_ok(NetFn::APP, GET_SYSTEM_GUID, &[]).await?;
        let guid = d.get(..16).and_then(|g| g.try_into().ok());
        Ok(Inventory {
            manufacturer: "IPMI".into(),
            product: format!("BMC at {}", self.config.address),
            guid,
            ..Inventory::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_flags_round_trip() {
        let b = BootOverride {
            device: BootDevice::Pxe,
            persistent: true,
            efi: true,
        };
        assert_eq!(boot_flags(Some(b)), [0xe0, 0x04, 0, 0, 0]);
        assert_eq!(parse_boot_flags(&boot_flags(Some(b))), Some(b));
        assert_eq!(parse_boot_flags(&[0x00, 0x04, 0, 0, 0]), None);
        assert_eq!(parse_boot_flags(&[0x80]), None);
    }

    #[test]
    fn default_relay_grants_reads_to_users_and_changes_to_operators() {
        let rule = |netfn, cmd| default_relay().into_iter().find(|r| r.matches(netfn, cmd));
        assert_eq!(
            rule(NetFn::STORAGE, 0x43).map(|r| r.privilege),
            Some(Privilege::User)
        );
        assert_eq!(
            rule(NetFn::STORAGE, 0x47).map(|r| r.privilege),
            Some(Privilege::Operator)
        );
        assert_eq!(
            rule(NetFn::CHASSIS, 0x08).map(|r| r.privilege),
            Some(Privilege::Operator)
        );
        // Write FRU, Set SEL Time, Chassis Control and user management are not relayed.
        assert_eq!(rule(NetFn::STORAGE, 0x12), None);
        assert_eq!(rule(NetFn::STORAGE, 0x49), None);
        assert_eq!(rule(NetFn::CHASSIS, 0x02), None);
        assert_eq!(rule(NetFn::APP, 0x45), None);
        let all = RelayRule {
            netfn: NetFn(0x30),
            cmd: None,
            privilege: Privilege::Administrator,
            forced: true,
        };
        assert!(all.matches(NetFn(0x30), 0x99) && !all.matches(NetFn(0x32), 0x99));
    }

    /// The default list asks for exactly what appendix G does: nothing in it is raised (or
    /// would be lowered) by the floor.
    #[test]
    fn default_relay_privileges_are_appendix_gs() {
        for r in default_relay() {
            let cmd = r.cmd.expect("the defaults name their commands");
            assert_eq!(
                r.privilege,
                ipmi_bmc::privilege_floor(r.netfn, cmd),
                "{:?} {cmd:#04x}",
                r.netfn
            );
        }
    }
}
