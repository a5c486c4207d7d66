//! # backend-metal
//!
//! A [`Backend`] that carries power and boot requests through the Equinix Metal API v1 (or any
//! compatible endpoint) for one device.
//!
//! - **Power state** comes from `GET /devices/{id}`: `active`, `powering_on`, `provisioning`,
//!   `reinstalling` and `deprovisioning` read as on (the machine runs); `inactive`,
//!   `powering_off`, `queued`, `failed`, `deleted` and anything unknown as off. Reads go through
//!   a short-lived cache with single-flight ([`cache`]): however many clients poll, one request
//!   per device per cache period reaches the API.
//! - **Power actions**: on → `power_on`, off and soft off → `power_off`, cycle and reset →
//!   `reboot`. Asking for the state the device is in or going to succeeds without an API call;
//!   cycle and reset of a device that is off, and diag, are refused (0xD5, 0xD6).
//! - **Boot**: PXE sets `always_pxe` (and `ipxe_script_url` when configured) with `PUT
//!   /devices/{id}`; disk or no override clears it. A next-boot-only PXE is cleared again once the
//!   device has booted: it went through a power on or reboot and is `active` again.
//! - **Virtual media** ([`media`]): the device netboots the shim's iPXE endpoint while a
//!   medium is in; what it had before is put back at the eject.
//! - **Identity**: hostname, plan, id, facility and metro for FRU 0; the device id as the system
//!   GUID.
//! - **Sensors**: the device's state as two discrete sensors ([`device_sensors`]): its ACPI
//!   power state, and its availability (running, in test while provisioning, power off, ...).

#![warn(missing_docs)]

pub mod api;
pub mod cache;
pub mod config;
pub mod media;
pub mod sos;

use api::{ApiError, Device, DeviceUpdate, MetalApi};
use async_trait::async_trait;
use cache::DeviceCache;
use ipmi_bmc::{
    Backend, BackendError, BackendResult, BootDevice, BootOverride, DiscreteKind, Inventory,
    PowerAction, PowerState, Requester, SensorReading,
};
use ipmi_proto::types::CompletionCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// One device's backend settings.
#[derive(Clone, Debug)]
pub struct MetalConfig {
    /// The device UUID.
    pub device_id: String,
    /// Set with `always_pxe` when a PXE boot is asked for.
    pub ipxe_script_url: Option<String>,
    /// How long a read device state is used before it is read again.
    pub cache: Duration,
    /// Every operation ends within this time (then 0xC3).
    pub deadline: Duration,
    /// The serial console through SOS, if configured.
    pub sos: Option<sos::SosConfig>,
}

/// The boot override as asked over IPMI, and the next-boot-only bookkeeping.
#[derive(Debug, Default)]
struct Boot {
    asked: Option<BootOverride>,
    /// A next-boot-only PXE is set and waits for the boot that consumes it.
    once_pending: bool,
    /// Since it was set (or since the last power on or reboot asked for), an API read has shown
    /// the device not `active`: it is booting, or was off.
    left_active: bool,
    /// When the override was set; reads begun earlier say nothing about it.
    armed_at: Option<Instant>,
    /// When the last power on or reboot was sent while the override waited.
    action_at: Option<Instant>,
    /// Bumped at every change of the override, so that a clearing decided on an older one is
    /// dropped.
    generation: u64,
}

/// A next-boot-only PXE whose power on or reboot was sent this long ago, with the device active,
/// is taken as consumed even if no read caught the device outside `active` (an API that keeps
/// `active` through a reboot must not leave the machine booting from PXE for ever).
const PXE_ONCE_GRACE: Duration = Duration::from_secs(600);

/// The metal backend of one device.
pub struct MetalBackend {
    api: Arc<MetalApi>,
    config: MetalConfig,
    cache: DeviceCache,
    boot: Mutex<Boot>,
    /// Serializes the boot updates (set and clear), so that they reach the API in order.
    boot_io: tokio::sync::Mutex<()>,
}

/// How the API's device states read as IPMI power states.
pub fn power_state_of(state: &str) -> PowerState {
    match state {
        "active" | "powering_on" | "provisioning" | "reinstalling" | "deprovisioning" => {
            PowerState::On
        }
        _ => PowerState::Off,
    }
}

/// The sensors of a device in API state `state`: "Power State" (ACPI S0/G0 working when the
/// state reads as on, S5/G2 soft off otherwise) and "Device State" (availability: `active`
/// running, `provisioning` and `reinstalling` in test, `powering_on` on line,
/// `deprovisioning` and `deleted` off line, `inactive` and `powering_off` power off, `queued`
/// off duty, `failed` install error; another state unavailable).
pub fn device_sensors(state: &str) -> Vec<SensorReading> {
    let acpi = match power_state_of(state) {
        PowerState::On => DiscreteKind::S0_WORKING,
        PowerState::Off => DiscreteKind::S5_SOFT_OFF,
    };
    let availability = match state {
        "active" => Some(DiscreteKind::RUNNING),
        "provisioning" | "reinstalling" => Some(DiscreteKind::IN_TEST),
        "powering_on" => Some(DiscreteKind::ON_LINE),
        "deprovisioning" | "deleted" => Some(DiscreteKind::OFF_LINE),
        "inactive" | "powering_off" => Some(DiscreteKind::POWER_OFF),
        "queued" => Some(DiscreteKind::OFF_DUTY),
        "failed" => Some(DiscreteKind::INSTALL_ERROR),
        _ => None,
    };
    vec![
        SensorReading::discrete("Power State", DiscreteKind::AcpiPowerState, Some(1 << acpi)),
        SensorReading::discrete(
            "Device State",
            DiscreteKind::Availability,
            availability.map(|o| 1 << o),
        ),
    ]
}

fn backend_error(e: ApiError) -> BackendError {
    match e {
        ApiError::RateLimited(d) => BackendError::Busy(format!("Metal API rate limit, {d:?} left")),
        ApiError::Timeout(m) => BackendError::Timeout(m),
        ApiError::Transport(m) | ApiError::Connect(m) => {
            BackendError::Timeout(format!("API unreachable: {m}"))
        }
        ApiError::Unprocessable(m) => BackendError::InvalidState(m),
        other => BackendError::Failed(other.to_string()),
    }
}

impl MetalBackend {
    /// A backend for `config.device_id` through `api` (shared by the BMCs with the same endpoint
    /// and token).
    pub fn new(api: Arc<MetalApi>, config: MetalConfig) -> Arc<Self> {
        Arc::new(MetalBackend {
            cache: DeviceCache::new(config.cache),
            api,
            config,
            boot: Mutex::new(Boot::default()),
            boot_io: tokio::sync::Mutex::new(()),
        })
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.config.deadline
    }

    /// The device, from the cache if fresh; the whole operation ends by `deadline`.
    async fn device(&self, deadline: Instant) -> BackendResult<Device> {
        let (d, started) = self
            .cache
            .get_read(|| self.api.device(&self.config.device_id, deadline))
            .await
            .map_err(backend_error)?;
        if let Some(started) = started {
            self.observe(&d, started, deadline).await;
        }
        Ok(d)
    }

    /// Next-boot-only PXE: once an API read (begun after the override was set, or after the
    /// power on or reboot) has shown the device outside `active`, and a later one shows it
    /// `active` again, it has booted with PXE, and `always_pxe` is cleared.
    async fn observe(&self, d: &Device, started: Instant, deadline: Instant) {
        let active = d.state.as_deref() == Some("active");
        let generation = {
            let mut b = self.boot.lock().expect("boot lock");
            let since = b.action_at.or(b.armed_at);
            if !b.once_pending || since.is_some_and(|t| started < t) {
                return;
            }
            if !active {
                b.left_active = true;
                return;
            }
            let grace = b.action_at.is_some_and(|t| t.elapsed() >= PXE_ONCE_GRACE);
            if !b.left_active && !grace {
                return;
            }
            b.generation
        };
        let _io = self.boot_io.lock().await;
        {
            let b = self.boot.lock().expect("boot lock");
            if !b.once_pending || b.generation != generation {
                return; // cleared by another poller meanwhile, or a new override set
            }
        }
        let update = DeviceUpdate {
            always_pxe: Some(false),
            ipxe_script_url: None,
        };
        let sent = Instant::now();
        match self
            .api
            .update(&self.config.device_id, &update, deadline)
            .await
        {
            Ok(d) => {
                let mut b = self.boot.lock().expect("boot lock");
                b.once_pending = false;
                b.left_active = false;
                b.asked = None;
                b.action_at = None;
                b.generation += 1;
                self.cache.put(d, sent);
                tracing::info!(device = %self.config.device_id, "booted once with PXE: always_pxe cleared");
            }
            Err(e) => {
                tracing::warn!(device = %self.config.device_id, error = %e, "could not clear always_pxe after the PXE boot; will retry")
            }
        }
    }

    /// After a power on or reboot with a next-boot-only PXE pending, watch the device until it
    /// is active again, so that `always_pxe` is cleared even if no client polls.
    fn watch_boot(self: &Arc<Self>) {
        if !self.boot.lock().expect("boot lock").once_pending {
            return;
        }
        let me = Arc::downgrade(self);
        // In the span of the request that armed it, so that its log lines say whose they are.
        let watch = async move {
            let give_up = Instant::now() + Duration::from_secs(30 * 60);
            while Instant::now() < give_up {
                let Some(b) = me.upgrade() else { return };
                tokio::time::sleep(b.config.cache.max(Duration::from_millis(500))).await;
                if !b.boot.lock().expect("boot lock").once_pending {
                    return;
                }
                let _ = b.device(b.deadline()).await;
            }
        };
        tokio::spawn(tracing::Instrument::in_current_span(watch));
    }

    async fn act(&self, action: &str, expect: &str, deadline: Instant) -> BackendResult<()> {
        let boots = matches!(action, "power_on" | "reboot");
        let sent = Instant::now();
        self.api
            .action(&self.config.device_id, action, deadline)
            .await
            .map_err(backend_error)?;
        // The API will say this next: answer from it instead of asking again at once. It is no
        // evidence of a boot, though: only API reads are.
        self.cache.set_state(expect);
        if boots {
            let mut b = self.boot.lock().expect("boot lock");
            if b.once_pending {
                b.action_at = Some(sent);
            }
        }
        Ok(())
    }

    /// Carries out a power action (the [`Backend::power`] of an `Arc`, which can start the
    /// watch for a next-boot-only PXE).
    pub async fn power_action(self: &Arc<Self>, action: PowerAction) -> BackendResult<()> {
        // One deadline for the whole action, however many API calls it takes.
        let deadline = self.deadline();
        let mut d = self.device(deadline).await?;
        // On after off (or off after on) in quick succession, as Ironic and MAAS do: wait for
        // the transition to end rather than ask for an action the API refuses mid-way.
        let opposite = matches!(
            (action, d.state.as_deref()),
            (PowerAction::On, Some("powering_off"))
                | (PowerAction::Off | PowerAction::Soft, Some("powering_on"))
        );
        if opposite {
            let give_up = deadline - Duration::from_millis(500).min(self.config.deadline / 2);
            let from = d.state.clone();
            while d.state == from && Instant::now() < give_up {
                tokio::time::sleep(self.config.cache.max(Duration::from_millis(250))).await;
                d = self.device(deadline).await?;
            }
        }
        let state = d.state.unwrap_or_default();
        let on = power_state_of(&state) == PowerState::On;
        let transitioning = matches!(state.as_str(), "powering_on" | "powering_off");
        match action {
            PowerAction::On if on => Ok(()),
            PowerAction::On => {
                self.act("power_on", "powering_on", deadline).await?;
                self.watch_boot();
                Ok(())
            }
            PowerAction::Off | PowerAction::Soft if !on => Ok(()),
            PowerAction::Off | PowerAction::Soft => {
                self.act("power_off", "powering_off", deadline).await
            }
            PowerAction::Cycle | PowerAction::Reset if !on || transitioning => {
                Err(BackendError::InvalidState(format!("the device is {state}")))
            }
            PowerAction::Cycle | PowerAction::Reset => {
                self.act("reboot", "powering_off", deadline).await?;
                self.watch_boot();
                Ok(())
            }
            PowerAction::Diag => Err(BackendError::Completion(CompletionCode(0xd6))),
        }
    }
}

/// The backend as the BMC model holds it.
pub struct SharedMetalBackend(pub Arc<MetalBackend>);

#[async_trait]
impl Backend for SharedMetalBackend {
    fn kind(&self) -> &'static str {
        "metal"
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        let d = self.0.device(self.0.deadline()).await?;
        Ok(power_state_of(d.state.as_deref().unwrap_or("")))
    }

    async fn power(&self, action: PowerAction, who: &Requester) -> BackendResult<()> {
        let r = self.0.power_action(action).await;
        tracing::info!(device = %self.0.config.device_id, %action, %who, ok = r.is_ok(), "power action through the Metal API");
        r
    }

    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        who: &Requester,
    ) -> BackendResult<()> {
        let b = &self.0;
        let pxe = match boot.map(|o| o.device) {
            Some(BootDevice::Pxe) => true,
            None | Some(BootDevice::Disk) | Some(BootDevice::DiskSafe) => false,
            Some(_) => return Err(BackendError::Completion(CompletionCode::INVALID_FIELD)),
        };
        let update = DeviceUpdate {
            always_pxe: Some(pxe),
            ipxe_script_url: if pxe {
                b.config.ipxe_script_url.clone()
            } else {
                None
            },
        };
        let _io = b.boot_io.lock().await;
        let sent = Instant::now();
        let d = b
            .api
            .update(&b.config.device_id, &update, b.deadline())
            .await
            .map_err(backend_error)?;
        tracing::info!(device = %b.config.device_id, always_pxe = pxe, ?boot, %who, "boot override set through the Metal API");
        let active = d.state.as_deref() == Some("active");
        b.cache.put(d, sent);
        let mut s = b.boot.lock().expect("boot lock");
        s.asked = boot;
        s.once_pending = pxe && boot.is_some_and(|o| !o.persistent);
        // A device that is not running now will boot with it when it next becomes active.
        s.left_active = !active;
        s.armed_at = Some(sent);
        s.action_at = None;
        s.generation += 1;
        Ok(())
    }

    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        if self.0.boot.lock().expect("boot lock").once_pending {
            self.0.device(self.0.deadline()).await?;
        }
        Ok(self.0.boot.lock().expect("boot lock").asked)
    }

    fn boots_ipxe(&self) -> bool {
        true
    }

    async fn boot_ipxe(&self, url: &str, who: &Requester) -> BackendResult<String> {
        self.0.boot_ipxe(url, who).await
    }

    async fn restore_boot(&self, note: &str, who: &Requester) -> BackendResult<()> {
        self.0.restore_boot(note, who).await
    }

    async fn sensors(&self) -> BackendResult<Vec<SensorReading>> {
        let d = self.0.device(self.0.deadline()).await?;
        Ok(device_sensors(d.state.as_deref().unwrap_or("")))
    }

    async fn console(&self, _who: &Requester) -> BackendResult<Box<dyn ipmi_bmc::Console>> {
        let Some(sos) = &self.0.config.sos else {
            return Err(BackendError::NotSupported);
        };
        let d = match self.0.cache.identity() {
            Some(d) => d,
            None => self.0.device(self.0.deadline()).await?,
        };
        let facility = d
            .facility
            .as_ref()
            .and_then(|f| f.key())
            .unwrap_or_default();
        sos.open(&d.id, facility)
    }

    async fn inventory(&self) -> BackendResult<Inventory> {
        let d = match self.0.cache.identity() {
            Some(d) => d,
            None => self.0.device(self.0.deadline()).await?,
        };
        let key = |n: &Option<api::Named>| {
            n.as_ref()
                .and_then(|n| n.key())
                .unwrap_or_default()
                .to_string()
        };
        let (facility, metro) = (key(&d.facility), key(&d.metro));
        let location = match (facility.is_empty(), metro.is_empty()) {
            (false, false) => format!("{facility} / {metro}"),
            (false, true) => facility,
            (true, false) => metro,
            (true, true) => String::new(),
        };
        Ok(Inventory {
            manufacturer: "Equinix Metal".into(),
            product: key(&d.plan),
            serial: d.id.clone(),
            part_number: key(&d.plan),
            asset_tag: d.hostname.clone().unwrap_or_default(),
            location,
            guid: guid_of(&d.id),
        })
    }
}

/// The device UUID as an IPMI GUID (wire order: the text's bytes reversed, so that clients
/// show the UUID as the API writes it).
pub fn guid_of(uuid: &str) -> Option<[u8; 16]> {
    ipmi_bmc::guid_from_uuid(uuid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_states_as_sensors() {
        let states =
            |s: &str| -> Vec<Option<u16>> { device_sensors(s).iter().map(|r| r.states).collect() };
        assert_eq!(
            states("active"),
            [Some(1), Some(1 << DiscreteKind::RUNNING)]
        );
        assert_eq!(
            states("provisioning"),
            [Some(1), Some(1 << DiscreteKind::IN_TEST)]
        );
        assert_eq!(
            states("inactive"),
            [Some(1 << 5), Some(1 << DiscreteKind::POWER_OFF)]
        );
        assert_eq!(
            states("failed"),
            [Some(1 << 5), Some(1 << DiscreteKind::INSTALL_ERROR)]
        );
        assert_eq!(states("something new")[1], None);
    }

    #[test]
    fn states_read_as_power() {
        for s in ["active", "powering_on", "provisioning", "reinstalling"] {
            assert_eq!(power_state_of(s), PowerState::On, "{s}");
        }
        for s in [
            "inactive",
            "powering_off",
            "queued",
            "failed",
            "deleted",
            "?",
        ] {
            assert_eq!(power_state_of(s), PowerState::Off, "{s}");
        }
    }

    #[test]
    fn guid_is_the_uuid_reversed() {
        let g = guid_of("01234567-89ab-cdef-0123-456789abcdef").unwrap();
        assert_eq!(g[0], 0xef);
        assert_eq!(g[15], 0x01);
        assert_eq!(guid_of("nope"), None);
        // Found by the metal_json fuzz target: a multibyte character used to panic.
        assert_eq!(guid_of("0123456789abcdef0123456789abcde\u{e9}"), None);
        assert_eq!(guid_of("\u{fffd}123456789abcdef0123456789abcd"), None);
    }
}
