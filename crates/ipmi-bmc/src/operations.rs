//! The operations of the BMC model that every front-end calls: the IPMI handlers reach them
//! through their commands, the Redfish service and the admin API directly. Each carries out its
//! action on the same path whichever front-end asked (the backend call, the SEL record, the
//! audit record), so that the logs differ only in the record's [`crate::Protocol`].

use crate::audit::Asker;
use crate::handlers::requested_override;
use crate::SensorReading;
use crate::{BackendError, BackendResult, Bmc, BootOverride, Inventory, PowerAction, PowerState};
use ipmi_proto::cmd::chassis::BootFlags;
use ipmi_proto::types::CompletionCode;

/// What an operation that failed tells its caller: the completion code an IPMI client would
/// get, and why.
pub type Refusal = (CompletionCode, String);

/// Marks a power action in progress while it lives (for `PoweringOn`/`PoweringOff`).
pub(crate) struct PowerPending<'a> {
    bmc: &'a Bmc,
}

impl Drop for PowerPending<'_> {
    fn drop(&mut self) {
        self.bmc.state().power_pending = None;
    }
}

impl Bmc {
    /// Marks `action` in progress until the guard returned is dropped.
    pub(crate) fn power_pending(&self, action: PowerAction) -> PowerPending<'_> {
        let mut st = self.state();
        st.power_pending = Some(action);
        st.power_epoch = st.power_epoch.wrapping_add(1);
        PowerPending { bmc: self }
    }

    /// Reads the power state from the backend and takes note of it ([`Bmc::observe_power`]),
    /// unless a power action started or ended while it was read: then what was read may be
    /// the state from before the action, and only the caller gets it.
    pub(crate) async fn read_power(&self) -> BackendResult<PowerState> {
        let epoch = self.state().power_epoch;
        let power = self.backend.power_state().await;
        if self.state().power_epoch == epoch {
            self.observe_power(&power).await;
        }
        power
    }

    /// The power action the backend is carrying out now, if any (a slow backend's on or off).
    pub fn power_in_progress(&self) -> Option<PowerAction> {
        self.state().power_pending
    }

    /// Carries out a power action for `asker`, as Chassis Control does: through the backend,
    /// recorded in the SEL, and audited as `command` durably before this returns.
    pub async fn power_as(
        &self,
        action: PowerAction,
        asker: &Asker,
        command: &'static str,
    ) -> Result<(), Refusal> {
        self.power_action(action, asker, command).await
    }

    /// The power state, read from the backend as Get Chassis Status reads it (a change seen
    /// is recorded in the SEL).
    pub async fn power_state(&self) -> BackendResult<PowerState> {
        let power = self.read_power().await;
        if let Err(e) = &power {
            self.backend_failed("power status", e);
        }
        power
    }

    /// The boot override pending now (`None`: none), as Get System Boot Options reports it: a
    /// next-boot-only override is gone once the machine has booted with it.
    pub async fn boot_override_now(&self) -> Option<BootOverride> {
        requested_override(&self.current_boot_flags().await).flatten()
    }

    /// Whether the boot flags ask for EFI boot (kept even while no override is pending).
    pub async fn boot_efi(&self) -> bool {
        self.state().boot_flags.efi()
    }

    /// Sets (or, with `None`, clears) the boot override for `asker`, as Set System Boot Options
    /// does, audited as `command`; `efi` is kept as the firmware type even with no override.
    pub async fn set_boot_override_as(
        &self,
        boot: Option<BootOverride>,
        efi: bool,
        asker: &Asker,
        command: &'static str,
    ) -> Result<(), Refusal> {
        let flags = match boot {
            Some(b) => BootFlags::new(true, b.persistent, b.efi, b.device.selector()),
            None => BootFlags::new(false, false, efi, 0),
        };
        self.boot_as(boot, flags, asker, command).await
    }

    /// Whether the identify light is on (Chassis Identify).
    pub fn identify_on(&self) -> bool {
        self.identify_lit()
    }

    /// Turns the identify light on (until turned off) or off for `asker`, as Chassis Identify
    /// does, audited as `command`.
    pub async fn set_identify_as(
        &self,
        on: bool,
        asker: &Asker,
        command: &'static str,
    ) -> Result<(), Refusal> {
        self.identify_as(if on { None } else { Some(0) }, asker, command)
            .await
    }

    /// The records of the System Event Log, oldest first (`Ok(None)`: the log served is the BMC
    /// behind's, which only IPMI reaches).
    pub fn sel_entries(&self) -> Result<Option<Vec<sel_store::Entry>>, CompletionCode> {
        self.sel_records()
    }

    /// Clears the System Event Log for `asker`, as Clear SEL does, audited as `command`.
    pub async fn clear_sel_for(&self, asker: &Asker, command: &'static str) -> Result<(), Refusal> {
        self.clear_sel_as(asker, command).await
    }

    /// The sensors' readings now, as the SDR and Get Sensor Reading see them (cached briefly,
    /// fetched once for all front-ends).
    pub async fn sensor_readings(&self) -> Result<Vec<SensorReading>, BackendError> {
        let snapshot = self
            .sensors
            .current(&self.settings.name, &*self.backend)
            .await;
        snapshot.result.clone()
    }

    /// The machine's inventory, as the FRU shows it (an empty one where the backend has none).
    pub async fn inventory(&self) -> Result<Inventory, BackendError> {
        self.fru_inventory().await
    }
}
