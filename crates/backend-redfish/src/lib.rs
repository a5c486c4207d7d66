//! # backend-redfish
//!
//! A [`Backend`] that carries a BMC's requests out through a Redfish service: a real BMC's
//! (whose IPMI-over-LAN is off or distrusted), or sushy-tools' emulator in front of VMs.
//!
//! - **The system** is the only member of the Systems collection, or the one `system_id` names;
//!   it is found on first use (the service may be down when the shim starts) and read through
//!   a single-flight cache ([`http_support::SingleFlight`]).
//! - **Power**: `PowerState` (`On`/`PoweringOn` on, `Off`/`PoweringOff` off); every verb is a
//!   `ComputerSystem.Reset` with the reset type the system offers ([`model::plan`]), and a
//!   cycle without `PowerCycle` is `ForceOff`, then `On` once the system reads off.
//! - **Boot**: `Boot.BootSourceOverrideTarget/Enabled/Mode` by `PATCH`, with `If-Match` and the
//!   system's ETag where it has one, and read back from the service.
//! - **Identity**: `Manufacturer`, `Model`, `SerialNumber`, `PartNumber`, `AssetTag` for FRU 0,
//!   `UUID` as the system GUID. **Sensors** from the chassis ([`sensors`]).
//! - **SEL**: the system's (or its manager's) LogService, as IPMI records ([`sel_map`]), with
//!   the shim's records of the actions it carried out; the SEL commands are answered by the
//!   backend ([`sel`]), as the ipmi backend relays them to the BMC behind.
//! - **Virtual media**: the service's own `VirtualMedia` CD ([`media`]).
//! - Task monitors (202 with a `Location`) are followed to the end within the deadline.

#![warn(missing_docs)]

pub mod client;
pub mod config;
pub mod errors;
pub mod links;
pub mod log_service;
pub mod media;
pub mod model;
pub mod sel;
pub mod sel_map;
pub mod sensors;

use async_trait::async_trait;
use client::{RedfishClient, Reply};
use errors::ApiError;
use ipmi_bmc::{
    Backend, BackendError, BackendResult, BootOverride, Inventory, MediaInsert, MediaSlot,
    PowerAction, PowerState, Requester, SensorReading,
};
use ipmi_proto::cmd::storage::SelRecord;
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use model::{Plan, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// The single-flight cache of a resource read from the service.
type Cached<T> = http_support::SingleFlight<T, ApiError>;

/// Completion code "command disabled": an operation the system does not offer.
const NOT_OFFERED: CompletionCode = CompletionCode(0xd6);

/// How long the second half of a cycle without `PowerCycle` waits for the system to read off.
const CYCLE_OFF_WAIT: Duration = Duration::from_secs(60);

/// One system's backend settings.
#[derive(Clone, Debug)]
pub struct RedfishConfig {
    /// The system's `Id` (the last part of its path), if the Systems collection has several.
    pub system_id: Option<String>,
    /// How long a read system (and a read of the SEL's log) is used before it is read again.
    pub cache: Duration,
    /// Every operation ends within this time (then 0xC3).
    pub deadline: Duration,
}

/// What the backend found of the service: the system's path and the reset types it offers.
#[derive(Clone, Debug)]
struct Found {
    system: String,
    /// `None`: the service does not say, so every type may be used.
    reset_types: Option<Option<Vec<String>>>,
}

/// The redfish backend of one system.
pub struct RedfishBackend {
    client: Arc<RedfishClient>,
    config: RedfishConfig,
    found: Mutex<Option<Found>>,
    system: Cached<System>,
    /// Bumped by every power action, so that the power-on half of an earlier cycle is dropped.
    power_generation: AtomicU64,
    /// The last firmware type asked for, for a service that does not report it.
    asked_efi: Mutex<bool>,
    /// The SEL served: the service's log and the shim's records.
    sel: sel::SelState,
}

fn backend_error(e: ApiError) -> BackendError {
    match e {
        ApiError::RateLimited(d) => BackendError::Busy(format!("Redfish rate limit, {d:?} left")),
        ApiError::Timeout(m) => BackendError::Timeout(m),
        ApiError::Transport(m) | ApiError::Connect(m) => {
            BackendError::Timeout(format!("Redfish service unreachable: {m}"))
        }
        ApiError::Refused {
            status: 409,
            message,
        } => BackendError::InvalidState(message),
        other => BackendError::Failed(other.to_string()),
    }
}

impl RedfishBackend {
    /// A backend for the system of `config` through `client` (shared by the BMCs with the same
    /// service and account).
    pub fn new(client: Arc<RedfishClient>, config: RedfishConfig) -> Arc<Self> {
        Arc::new(RedfishBackend {
            system: Cached::new(config.cache).counted("redfish"),
            sel: sel::SelState::new(config.cache),
            client,
            config,
            found: Mutex::new(None),
            power_generation: AtomicU64::new(0),
            asked_efi: Mutex::new(false),
        })
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.config.deadline
    }

    /// The client (shared), for logout at shutdown.
    pub fn client(&self) -> &Arc<RedfishClient> {
        &self.client
    }

    /// The system's path, found from the Systems collection on first use.
    async fn system_path(&self, deadline: Instant) -> Result<String, ApiError> {
        if let Some(f) = self.found.lock().expect("found lock").as_ref() {
            return Ok(f.system.clone());
        }
        let root = self.client.get("/redfish/v1/", deadline).await?.json()?;
        let systems = model::link(&root, "Systems").unwrap_or_else(|| "/redfish/v1/Systems".into());
        let members = model::links(
            self.client
                .get(&systems, deadline)
                .await?
                .json()?
                .get("Members"),
        );
        let last = |p: &str| {
            p.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string()
        };
        let path = match &self.config.system_id {
            Some(id) => members
                .iter()
                .find(|m| last(m) == *id)
                .cloned()
                .unwrap_or_else(|| format!("{}/{id}", systems.trim_end_matches('/'))),
            None if members.len() == 1 => members[0].clone(),
            None => {
                let ids: Vec<String> = members.iter().map(|m| last(m)).collect();
                return Err(ApiError::Decode(format!(
                    "the service has {} systems: set system_id to one of {ids:?}",
                    members.len()
                )));
            }
        };
        tracing::info!(service = %self.client.origin(), system = ?path, "Redfish system found");
        *self.found.lock().expect("found lock") = Some(Found {
            system: path.clone(),
            reset_types: None,
        });
        Ok(path)
    }

    /// A fresh read of the system (for its ETag before an update).
    async fn read_system(&self, deadline: Instant) -> Result<System, ApiError> {
        let path = self.system_path(deadline).await?;
        let reply = match self.client.get(&path, deadline).await {
            Err(ApiError::NotFound(m)) => {
                // The system is gone (renamed after a BMC update?): find it again next time.
                *self.found.lock().expect("found lock") = None;
                return Err(ApiError::NotFound(m));
            }
            r => r?,
        };
        let s = System::parse(&path, &reply.json()?, reply.etag.clone());
        self.system.put(s.clone());
        Ok(s)
    }

    /// The system, from the cache if fresh.
    async fn system(&self, deadline: Instant) -> BackendResult<System> {
        self.system
            .get(|| self.read_system(deadline))
            .await
            .map_err(backend_error)
    }

    /// The reset types the system offers, from its action or its ActionInfo (read once).
    async fn reset_types(
        &self,
        s: &System,
        deadline: Instant,
    ) -> BackendResult<Option<Vec<String>>> {
        if let Some(Some(t)) = self
            .found
            .lock()
            .expect("found lock")
            .as_ref()
            .map(|f| f.reset_types.clone())
        {
            return Ok(t);
        }
        let reset = s.reset.as_ref();
        let types = match (
            reset.and_then(|r| r.allowed.clone()),
            reset.and_then(|r| r.action_info.clone()),
        ) {
            (Some(a), _) => Some(a),
            (None, Some(info)) => {
                let v = self
                    .client
                    .get(&info, deadline)
                    .await
                    .map_err(backend_error)?
                    .json()
                    .map_err(backend_error)?;
                model::action_info_reset_types(&v)
            }
            (None, None) => None,
        };
        tracing::info!(system = ?s.path, reset_types = ?types, "reset types offered");
        if let Some(f) = self.found.lock().expect("found lock").as_mut() {
            f.reset_types = Some(types.clone());
        }
        Ok(types)
    }

    /// `POST`s a `ComputerSystem.Reset`, following its task monitor if it answers 202.
    async fn reset(&self, s: &System, reset_type: &str, deadline: Instant) -> BackendResult<()> {
        let target = s
            .reset
            .as_ref()
            .map(|r| r.target.clone())
            .ok_or(BackendError::Completion(NOT_OFFERED))?;
        let body = serde_json::json!({ "ResetType": reset_type });
        let result = self.client.post(&target, &body, deadline).await;
        // Whatever came of it, the state is read afresh next time.
        self.system.invalidate();
        let reply = result.map_err(|e| match e {
            ApiError::Refused { status: 501, message } => {
                tracing::warn!(reset_type, error = ?message, "the service does not implement this reset type");
                BackendError::Completion(NOT_OFFERED)
            }
            e => backend_error(e),
        })?;
        self.follow(&reply, deadline).await
    }

    /// Follows the task monitor of a 202 answer.
    async fn follow(&self, reply: &Reply, deadline: Instant) -> BackendResult<()> {
        match (&reply.status, &reply.location) {
            (202, Some(monitor)) => {
                let r = self.client.follow_task(monitor, deadline).await;
                self.system.invalidate();
                r.map_err(backend_error)
            }
            _ => Ok(()),
        }
    }

    /// Carries out a power action.
    pub async fn power_action(self: &Arc<Self>, action: PowerAction) -> BackendResult<()> {
        let generation = self.power_generation.fetch_add(1, Ordering::SeqCst) + 1;
        let deadline = self.deadline();
        let s = self.system(deadline).await?;
        let on = s.power().ok_or_else(|| {
            BackendError::Failed(format!("unknown PowerState {:?}", s.power_state))
        })? == PowerState::On;
        match action {
            PowerAction::On if on => return Ok(()),
            PowerAction::Off | PowerAction::Soft if !on => return Ok(()),
            PowerAction::Cycle | PowerAction::Reset | PowerAction::Diag if !on => {
                return Err(BackendError::InvalidState(format!(
                    "the system is {}",
                    s.power_state.as_deref().unwrap_or("off")
                )))
            }
            _ => {}
        }
        let types = self.reset_types(&s, deadline).await?;
        match model::plan(action, types.as_deref()) {
            Plan::Reset(t) => self.reset(&s, t, deadline).await,
            Plan::OffThenOn(off, on) => {
                self.reset(&s, off, deadline).await?;
                self.finish_cycle(on, generation);
                Ok(())
            }
            Plan::NotOffered => {
                tracing::warn!(%action, offered = ?types, "the system offers no reset type for this");
                Err(BackendError::Completion(NOT_OFFERED))
            }
        }
    }

    /// The second half of a cycle without `PowerCycle`: once the system reads off, power it
    /// on, unless another power action came meanwhile. The client has its answer already, as
    /// a BMC answers Chassis Control once the cycle has begun.
    fn finish_cycle(self: &Arc<Self>, on: &'static str, generation: u64) {
        let me = Arc::downgrade(self);
        let task = async move {
            let give_up = Instant::now() + CYCLE_OFF_WAIT;
            while Instant::now() < give_up {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let Some(b) = me.upgrade() else { return };
                if b.power_generation.load(Ordering::SeqCst) != generation {
                    tracing::info!("power cycle: a later power action came first; not powering on");
                    return;
                }
                let deadline = b.deadline();
                b.system.invalidate();
                let s = match b.system(deadline).await {
                    Ok(s) if s.power() == Some(PowerState::Off) => s,
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::warn!(error = ?e.to_string(), "power cycle: cannot read the power state");
                        continue;
                    }
                };
                let r = b.reset(&s, on, deadline).await;
                tracing::info!(reset_type = on, ok = r.is_ok(), error = ?r.err(), "power cycle: the system is off, powering on");
                return;
            }
            tracing::warn!(waited = ?CYCLE_OFF_WAIT, "power cycle: the system never read off; not powering on");
        };
        tokio::spawn(tracing::Instrument::in_current_span(task));
    }

    /// Sets (or clears) the boot override, with the system's ETag; once more with a fresh ETag
    /// if the service says it changed.
    async fn set_boot(&self, boot: Option<BootOverride>) -> BackendResult<()> {
        let deadline = self.deadline();
        let mut s = self.read_system(deadline).await.map_err(backend_error)?;
        let target = match boot {
            None => "None",
            Some(o) => model::target_of(o.device)
                .ok_or(BackendError::Completion(CompletionCode::INVALID_FIELD))?,
        };
        if let Some(allowed) = &s.boot.allowed_targets {
            if target != "None" && !allowed.iter().any(|a| a == target) {
                tracing::warn!(
                    target,
                    ?allowed,
                    "the system does not offer this boot target"
                );
                return Err(BackendError::Completion(CompletionCode::INVALID_FIELD));
            }
        }
        let body = model::boot_patch(boot, target, s.boot.mode.is_some());
        if let Some(o) = boot {
            *self.asked_efi.lock().expect("efi lock") = o.efi;
        }
        let mut tries = 0;
        let reply = loop {
            let r = self
                .client
                .patch(&s.path, &body, s.etag.as_deref(), deadline)
                .await;
            self.system.invalidate();
            match r {
                Err(ApiError::Precondition { status, .. }) if tries == 0 => {
                    tries += 1;
                    tracing::info!(status, "the system's ETag changed: reading it again");
                    s = self.read_system(deadline).await.map_err(backend_error)?;
                }
                r => break r.map_err(backend_error)?,
            }
        };
        self.follow(&reply, deadline).await
    }

    /// The chassis' sensors: the `Sensors` collection, else `Thermal` and `Power`.
    async fn read_sensors(&self, deadline: Instant) -> Result<Vec<SensorReading>, ApiError> {
        let s = self.system.get(|| self.read_system(deadline)).await?;
        let chassis = match s.chassis.first() {
            Some(c) => c.clone(),
            None => {
                let all = self
                    .client
                    .get("/redfish/v1/Chassis", deadline)
                    .await?
                    .json()?;
                match model::links(all.get("Members")).into_iter().next() {
                    Some(c) => c,
                    None => return Ok(Vec::new()),
                }
            }
        };
        let c = self.client.get(&chassis, deadline).await?.json()?;
        if let Some(coll) = model::link(&c, "Sensors") {
            let members = model::links(
                self.client
                    .get(&coll, deadline)
                    .await?
                    .json()?
                    .get("Members"),
            );
            let mut out = Vec::new();
            for m in members.iter().take(sensors::MAX_SENSORS) {
                let v = self.client.get(m, deadline).await?.json()?;
                out.extend(sensors::from_sensor(&v));
            }
            return Ok(out);
        }
        let mut out = Vec::new();
        if let Some(t) = model::link(&c, "Thermal") {
            out.extend(sensors::from_thermal(
                &self.client.get(&t, deadline).await?.json()?,
            ));
        }
        if let Some(p) = model::link(&c, "Power") {
            out.extend(sensors::from_power(
                &self.client.get(&p, deadline).await?.json()?,
            ));
        }
        Ok(out)
    }
}

/// The backend as the BMC model holds it.
pub struct SharedRedfishBackend(pub Arc<RedfishBackend>);

#[async_trait]
impl Backend for SharedRedfishBackend {
    fn kind(&self) -> &'static str {
        "redfish"
    }

    /// The service's CD (whether it has one is known at the first insert: not supported if not).
    fn media_slots(&self) -> &'static [MediaSlot] {
        &[MediaSlot::Cd]
    }

    async fn insert_media(
        &self,
        slot: MediaSlot,
        media: &MediaInsert,
        _ipxe_url: Option<&str>,
        who: &Requester,
    ) -> BackendResult<()> {
        self.0.insert_media(slot, media, who).await
    }

    async fn eject_media(&self, slot: MediaSlot, who: &Requester) -> BackendResult<()> {
        self.0.eject_media(slot, who).await
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        let s = self.0.system(self.0.deadline()).await?;
        s.power()
            .ok_or_else(|| BackendError::Failed(format!("unknown PowerState {:?}", s.power_state)))
    }

    async fn power(&self, action: PowerAction, who: &Requester) -> BackendResult<()> {
        let r = self.0.power_action(action).await;
        tracing::info!(service = %self.0.client.origin(), %action, %who, ok = r.is_ok(), "power action through Redfish");
        r
    }

    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        who: &Requester,
    ) -> BackendResult<()> {
        let r = self.0.set_boot(boot).await;
        tracing::info!(service = %self.0.client.origin(), ?boot, %who, ok = r.is_ok(), "boot override through Redfish");
        r
    }

    fn boot_read_back(&self) -> bool {
        true
    }

    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        let s = self.0.system(self.0.deadline()).await?;
        Ok(s.boot_override(*self.0.asked_efi.lock().expect("efi lock")))
    }

    async fn sensors(&self) -> BackendResult<Vec<SensorReading>> {
        self.0
            .read_sensors(self.0.deadline())
            .await
            .map_err(backend_error)
    }

    async fn inventory(&self) -> BackendResult<Inventory> {
        let s = match self.0.system.peek() {
            Some(s) => s,
            None => self.0.system(self.0.deadline()).await?,
        };
        let id = &s.identity;
        Ok(Inventory {
            manufacturer: id.manufacturer.clone(),
            product: id.model.clone(),
            serial: id.serial.clone(),
            part_number: id.part_number.clone(),
            asset_tag: id.asset_tag.clone(),
            location: String::new(),
            guid: model::guid_of(&id.uuid),
        })
    }

    /// The shim's records of the actions clients asked for, kept among the log's (a Redfish log
    /// takes no records from clients).
    async fn add_sel_entry(&self, record: [u8; 16], _who: &Requester) -> BackendResult<u16> {
        Ok(self.0.sel.add(SelRecord(record)))
    }

    /// The SEL commands, answered from the service's log ([`sel`]).
    fn relays(&self, netfn: NetFn, cmd: u8) -> Option<Privilege> {
        sel::relayed(netfn, cmd)
    }

    async fn relay(
        &self,
        netfn: NetFn,
        cmd: u8,
        data: &[u8],
        who: &Requester,
    ) -> BackendResult<(CompletionCode, Vec<u8>)> {
        if sel::relayed(netfn, cmd).is_none() {
            return Err(BackendError::NotSupported);
        }
        self.0.sel_command(cmd, data, who).await
    }
}
