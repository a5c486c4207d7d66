//! # backend-sim
//!
//! The built-in simulated machine, so that anyone can try ipmi-to-metal and every test can run
//! without hardware. It keeps its state in memory and advances it lazily from the clock (no task or
//! timer per machine, so thousands of them cost nothing while idle):
//!
//! - power on takes `transition` before the machine reports on, and then *boots*: the boot uses the
//!   pending boot override, and a next-boot-only override is consumed;
//! - power off is immediate (hard off); power cycle is off now, on after `transition`; hard reset
//!   boots again at once;
//! - soft off behaves like ACPI: the "operating system" shuts down after `soft_off_delay`, or
//!   ignores the request if `honour_soft_off` is false;
//! - cycle, reset, diag and soft need the machine on; when it is off they fail with
//!   [`BackendError::InvalidState`] (0xD5), as real BMCs answer;
//! - its sensors (temperatures, fans, voltages, power draw, power supply, chassis intrusion,
//!   ACPI state) follow the power state and a slowly varying load ([`sensors`]);
//! - its serial console ([`console`]) prints boot messages when it boots, a login prompt and a
//!   tiny shell, and the messages of a clean shutdown.
//!
//! Every action leaves a log line with the user who asked.

#![warn(missing_docs)]

pub mod config;
pub mod console;
mod sensors;

use async_trait::async_trait;
use ipmi_bmc::{
    Backend, BackendError, BackendResult, BootDevice, BootOverride, Console, Inventory,
    MediaInsert, MediaSlot, PowerAction, PowerState, Requester, SensorReading,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the simulated machine behaves.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The BMC's name, used as the machine's serial number and asset tag.
    pub name: String,
    /// Whether the machine is on when the process starts.
    pub power_on_at_start: bool,
    /// How long power on (and the "on" half of a cycle) takes.
    pub transition: Duration,
    /// How long the operating system takes to shut down after a soft off.
    pub soft_off_delay: Duration,
    /// Whether the operating system honours a soft off (ACPI power button) at all.
    pub honour_soft_off: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            name: "sim".into(),
            power_on_at_start: true,
            transition: Duration::from_millis(500),
            soft_off_delay: Duration::from_secs(2),
            honour_soft_off: true,
        }
    }
}

/// A boot of the simulated machine, for tests and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boot {
    /// The device it booted from (the override's, else the default disk).
    pub device: BootDevice,
    /// Whether it booted in EFI mode.
    pub efi: bool,
}

#[derive(Debug)]
pub(crate) struct State {
    power: PowerState,
    /// A power change that completes at a given time.
    pending: Option<(PowerState, Instant)>,
    /// The serial console.
    screen: console::Screen,
    /// Woken at the next power change or key: a console reader that parked while nothing was
    /// due ([`ipmi_bmc::Console::park`]).
    parked: Option<std::task::Waker>,
    boot_override: Option<BootOverride>,
    /// The image URLs in the virtual CD and USB stick.
    cd: Option<String>,
    usb: Option<String>,
    boots: Vec<Boot>,
    nmis: u32,
    /// The machine's heat (0 cold .. 1 hot) at a moment; it follows the power state since.
    heat: (Instant, f64),
}

/// The simulated machine.
#[derive(Debug)]
pub struct SimBackend {
    config: SimConfig,
    state: Arc<Mutex<State>>,
    /// Wakes a console reader when output may have come (a power change, typed keys).
    wake: Arc<tokio::sync::Notify>,
    /// When it was created: the load varies with the time since.
    created: Instant,
}

impl SimBackend {
    /// Creates a simulated machine.
    pub fn new(config: SimConfig) -> Self {
        let name = config.name.clone();
        let power = if config.power_on_at_start {
            PowerState::On
        } else {
            PowerState::Off
        };
        let now = Instant::now();
        let heat = if power == PowerState::On {
            sensors::MEAN_LOAD
        } else {
            0.0
        };
        SimBackend {
            config,
            state: Arc::new(Mutex::new(State {
                power,
                pending: None,
                screen: console::Screen::new(&name),
                parked: None,
                boot_override: None,
                cd: None,
                usb: None,
                boots: Vec::new(),
                nmis: 0,
                heat: (now, heat),
            })),
            wake: Arc::default(),
            created: now,
        }
    }

    /// The boots so far, oldest first.
    pub fn boots(&self) -> Vec<Boot> {
        let mut st = self.lock();
        advance(&mut st, Instant::now());
        st.boots.clone()
    }

    /// How many diagnostic interrupts (NMIs) the machine has received.
    pub fn nmis(&self) -> u32 {
        self.lock().nmis
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn schedule(&self, st: &mut State, to: PowerState, after: Duration, now: Instant) {
        if after.is_zero() {
            st.pending = Some((to, now));
            advance(st, now);
        } else {
            st.pending = Some((to, now + after));
        }
    }
}

#[async_trait]
impl Backend for SimBackend {
    fn kind(&self) -> &'static str {
        "sim"
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        let mut st = self.lock();
        advance(&mut st, Instant::now());
        Ok(st.power)
    }

    async fn power(&self, action: PowerAction, who: &Requester) -> BackendResult<()> {
        let now = Instant::now();
        let mut st = self.lock();
        advance(&mut st, now);
        let on = st.power == PowerState::On;
        tracing::info!(action = %action, user = %who.user, peer = %who.peer, was_on = on, "sim: power action");
        let needs_on = || {
            if on {
                Ok(())
            } else {
                Err(BackendError::InvalidState(format!(
                    "power {action} needs the machine on"
                )))
            }
        };
        match action {
            PowerAction::On => {
                if !on && st.pending.is_none_or(|(to, _)| to != PowerState::On) {
                    self.schedule(&mut st, PowerState::On, self.config.transition, now);
                }
            }
            PowerAction::Off => {
                st.pending = None;
                set_power(&mut st, PowerState::Off, now);
                st.screen.power_cut(now);
            }
            PowerAction::Cycle => {
                needs_on()?;
                set_power(&mut st, PowerState::Off, now);
                st.screen.power_cut(now);
                self.schedule(&mut st, PowerState::On, self.config.transition, now);
            }
            PowerAction::Reset => {
                needs_on()?;
                st.pending = None;
                st.screen.power_cut(now);
                boot(&mut st, now);
            }
            PowerAction::Diag => {
                needs_on()?;
                st.nmis += 1;
            }
            PowerAction::Soft => {
                needs_on()?;
                if self.config.honour_soft_off {
                    self.schedule(&mut st, PowerState::Off, self.config.soft_off_delay, now);
                } else {
                    tracing::info!("sim: operating system ignores the soft off request");
                }
            }
        }
        // The console's schedule changed: its reader looks again.
        let parked = st.parked.take();
        drop(st);
        self.wake.notify_one();
        if let Some(w) = parked {
            w.wake();
        }
        Ok(())
    }

    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        who: &Requester,
    ) -> BackendResult<()> {
        let mut st = self.lock();
        advance(&mut st, Instant::now());
        tracing::info!(boot = ?boot, user = %who.user, peer = %who.peer, "sim: boot override");
        st.boot_override = boot;
        Ok(())
    }

    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        let mut st = self.lock();
        advance(&mut st, Instant::now());
        Ok(st.boot_override)
    }

    fn media_slots(&self) -> &'static [MediaSlot] {
        &[MediaSlot::Cd, MediaSlot::UsbStick]
    }

    async fn insert_media(
        &self,
        slot: MediaSlot,
        media: &MediaInsert,
        _ipxe_url: Option<&str>,
        who: &Requester,
    ) -> BackendResult<()> {
        tracing::info!(%slot, image = ?media.image, user = %who.user, "sim: virtual media inserted");
        let mut st = self.lock();
        *media_of(&mut st, slot) = Some(media.image.clone());
        Ok(())
    }

    async fn eject_media(&self, slot: MediaSlot, who: &Requester) -> BackendResult<()> {
        tracing::info!(%slot, user = %who.user, "sim: virtual media ejected");
        *media_of(&mut self.lock(), slot) = None;
        Ok(())
    }

    async fn identify(&self, seconds: Option<u8>, who: &Requester) -> BackendResult<()> {
        tracing::info!(?seconds, user = %who.user, "sim: identify light");
        Ok(())
    }

    async fn sensors(&self) -> BackendResult<Vec<SensorReading>> {
        let now = Instant::now();
        let mut st = self.lock();
        advance(&mut st, now);
        let (since, h0) = st.heat;
        let heat = sensors::heat_after(h0, st.power, now.saturating_duration_since(since));
        let load = sensors::load_at(now.saturating_duration_since(self.created));
        Ok(sensors::readings(st.power, heat, load))
    }

    async fn console(&self, _who: &Requester) -> BackendResult<Box<dyn Console>> {
        Ok(Box::new(console::SimConsole {
            state: self.state.clone(),
            wake: self.wake.clone(),
        }))
    }

    async fn inventory(&self) -> BackendResult<Inventory> {
        Ok(Inventory {
            manufacturer: "ipmi-to-metal".into(),
            product: "Simulated machine".into(),
            serial: self.config.name.clone(),
            part_number: "sim".into(),
            asset_tag: self.config.name.clone(),
            location: "simulated rack".into(),
            guid: None,
        })
    }
}

/// Applies a pending power change whose time has come.
pub(crate) fn advance(st: &mut State, now: Instant) {
    if let Some((to, at)) = st.pending {
        if now >= at {
            st.pending = None;
            match to {
                PowerState::On => boot(st, at),
                PowerState::Off => {
                    set_power(st, PowerState::Off, at);
                    st.screen.shutdown(at);
                    tracing::info!("sim: operating system shut down, power is off");
                }
            }
        }
    }
}

/// Powers the machine on at `at` and boots it, consuming a next-boot-only override.
fn boot(st: &mut State, at: Instant) {
    set_power(st, PowerState::On, at);
    let boot = match st.boot_override {
        Some(o) => Boot {
            device: o.device,
            efi: o.efi,
        },
        None => Boot {
            device: BootDevice::Disk,
            efi: true,
        },
    };
    if st.boot_override.is_some_and(|o| !o.persistent) {
        st.boot_override = None;
    }
    st.boots.push(boot);
    // From the virtual CD when asked and one is in: the console names the image it booted.
    let media = match boot.device {
        BootDevice::Cdrom | BootDevice::RemoteCdrom => st.cd.clone(),
        _ => None,
    };
    match media {
        Some(url) => st
            .screen
            .boot(at, &format!("virtual media CD {url}"), boot.efi),
        None => st.screen.boot(at, boot.device.name(), boot.efi),
    }
    tracing::info!(
        device = boot.device.name(),
        efi = boot.efi,
        "sim: machine booted"
    );
}

/// The image of the virtual medium in `slot`.
fn media_of(st: &mut State, slot: MediaSlot) -> &mut Option<String> {
    match slot {
        MediaSlot::Cd => &mut st.cd,
        MediaSlot::UsbStick => &mut st.usb,
    }
}

/// Changes the power state at `at`, keeping the heat continuous across the change.
fn set_power(st: &mut State, to: PowerState, at: Instant) {
    let (since, h0) = st.heat;
    st.heat = (
        at,
        sensors::heat_after(h0, st.power, at.saturating_duration_since(since)),
    );
    st.power = to;
}
