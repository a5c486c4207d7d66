//! Chassis commands: status, power control, identify, and the boot options kept as real state.

use crate::audit::{expected_power, Asker, Audit, KnownPower};
use crate::dispatch::{ok, Outcome};
use crate::events::Event;
use crate::Durability;
use crate::{Bmc, BootDevice, BootOverride, PowerAction, PowerState};
use ipmi_proto::cmd::chassis::{
    boot_param, BootFlags, BootOptionsRequest, BootOptionsResponse, ChassisCapabilities,
    ChassisStatus, ControlAction, IdentifyRequest, SetBootOptionsRequest, PARAMETER_NOT_SUPPORTED,
};
use ipmi_proto::cmd::chassis::{
    ChassisControl as ChassisControlCmd, ChassisIdentify, SetSystemBootOptions,
};
use ipmi_proto::cmd::{Body, Command};
use ipmi_proto::session::Request;
use ipmi_proto::types::CompletionCode;
use std::time::{Duration, Instant, SystemTime};

/// The identify interval when Chassis Identify gives none (section 28.5).
const DEFAULT_IDENTIFY_SECONDS: u8 = 15;

impl Bmc {
    pub(crate) fn chassis_capabilities(&self) -> Outcome {
        ok(ChassisCapabilities {
            // Diagnostic interrupt supported.
            flags: 0x04,
            fru_address: 0x20,
            sdr_address: 0x20,
            sel_address: 0x20,
            sm_address: 0x20,
            bridge_address: None,
        })
    }

    pub(crate) async fn chassis_status(&self) -> Outcome {
        let power = self.read_power().await;
        let power = power.map_err(|e| self.backend_failed("power status", &e))?;
        let st = self.state();
        let identify = match st.identify_until {
            None => 0,
            Some(None) => 2,
            Some(Some(until)) if until > Instant::now() => 1,
            Some(Some(_)) => 0,
        };
        ok(ChassisStatus {
            power_on: power == PowerState::On,
            // "Restore power to the state it was in": what a rented machine does.
            restore_policy: 1,
            power_faults: 0,
            last_event: if st.last_on_by_ipmi { 0x10 } else { 0 },
            // Identify command supported, and its state.
            misc: 0x40 | (identify << 4),
            // No front panel button can be disabled.
            front_panel: Some(0),
        })
    }

    pub(crate) async fn chassis_control(&self, req: &Request, action: ControlAction) -> Outcome {
        let action = match action {
            ControlAction::PowerDown => PowerAction::Off,
            ControlAction::PowerUp => PowerAction::On,
            ControlAction::PowerCycle => PowerAction::Cycle,
            ControlAction::HardReset => PowerAction::Reset,
            ControlAction::DiagnosticInterrupt => PowerAction::Diag,
            ControlAction::SoftShutdown => PowerAction::Soft,
        };
        self.power_action(action, &self.asker(req), ChassisControlCmd::NAME)
            .await
            .map_err(|(cc, _)| cc)?;
        Ok(Vec::new())
    }

    /// Carries out a power action for `asker`, audited (durably, before the caller answers) as
    /// `command`, and recorded in the SEL.
    pub(crate) async fn power_action(
        &self,
        action: PowerAction,
        asker: &Asker,
        command: &'static str,
    ) -> Result<(), (CompletionCode, String)> {
        let who = &asker.who;
        let mut audit = Audit::start(self, asker, command, format!("power {action}"));
        audit.admit(Durability::Synced).await?;
        tracing::info!(action = %action, who = %who, "power action requested");
        let done = {
            let _pending = self.power_pending(action);
            self.backend.power(action, who).await
        };
        let result = match done {
            Ok(()) => {
                {
                    let mut st = self.state();
                    // A read that overlapped the action does not undo what it made known.
                    st.power_epoch = st.power_epoch.wrapping_add(1);
                    // Only what came over IPMI counts for Get Chassis Status.
                    if asker.protocol == crate::Protocol::Ipmi
                        && matches!(
                            action,
                            PowerAction::On | PowerAction::Cycle | PowerAction::Reset
                        )
                    {
                        st.last_on_by_ipmi = true;
                    }
                    if let Some(state) = expected_power(action) {
                        let now = SystemTime::now();
                        st.known_power = Some(KnownPower {
                            state,
                            since: now,
                            checked: now,
                        });
                    }
                }
                tracing::info!(action = %action, who = %who, "power action accepted");
                self.record_for(Event::Power(action), Some(asker)).await;
                Ok(())
            }
            Err(e) => Err((self.backend_failed(action.name(), &e), e.to_string())),
        };
        audit.finish_with(&result, Durability::Synced).await;
        result
    }

    pub(crate) async fn chassis_identify(&self, req: &Request, r: IdentifyRequest) -> Outcome {
        let seconds = if r.force_on {
            None
        } else {
            Some(r.interval.unwrap_or(DEFAULT_IDENTIFY_SECONDS))
        };
        self.identify_as(seconds, &self.asker(req), ChassisIdentify::NAME)
            .await
            .map_err(|(cc, _)| cc)?;
        Ok(Vec::new())
    }

    /// Turns the identify light on for `seconds` (`None`: until turned off; `Some(0)`: off) for
    /// `asker`, audited as `command` and recorded in the SEL.
    pub(crate) async fn identify_as(
        &self,
        seconds: Option<u8>,
        asker: &Asker,
        command: &'static str,
    ) -> Result<(), (CompletionCode, String)> {
        let who = &asker.who;
        let call = match seconds {
            None => "identify on".to_string(),
            Some(0) => "identify off".to_string(),
            Some(s) => format!("identify {s} s"),
        };
        let mut audit = Audit::start(self, asker, command, call);
        audit.admit(Durability::Written).await?;
        let result = self
            .backend
            .identify(seconds, who)
            .await
            .map_err(|e| (self.backend_failed("identify", &e), e.to_string()));
        audit.finish_with(&result, Durability::Written).await;
        result?;
        tracing::info!(?seconds, who = %who, "chassis identify");
        self.record_for(Event::Identify(seconds != Some(0)), Some(asker))
            .await;
        self.state().identify_until = match seconds {
            None => Some(None),
            Some(0) => None,
            Some(s) => Some(Some(Instant::now() + Duration::from_secs(s.into()))),
        };
        Ok(())
    }

    /// Whether the identify light is on now.
    pub(crate) fn identify_lit(&self) -> bool {
        match self.state().identify_until {
            None => false,
            Some(None) => true,
            Some(Some(until)) => until > Instant::now(),
        }
    }

    pub(crate) async fn set_boot_option(&self, req: &Request, r: SetBootOptionsRequest) -> Outcome {
        let len_is = |n: usize| {
            if r.data.len() == n {
                Ok(())
            } else {
                Err(CompletionCode::INVALID_LENGTH)
            }
        };
        match r.parameter {
            boot_param::SET_IN_PROGRESS => {
                len_is(1)?;
                // "Commit write" (2) is not a state; the parameters are always committed at once.
                let v = r.data[0] & 0x03;
                self.state().boot_set_in_progress = if v == 1 { 1 } else { 0 };
            }
            boot_param::VALID_BIT_CLEARING => {
                len_is(1)?;
                self.state().boot_valid_bit_clearing = r.data[0] & 0x1f;
            }
            boot_param::BOOT_INFO_ACK => {
                len_is(2)?;
                let (mask, bits) = (r.data[0], r.data[1]);
                let mut st = self.state();
                st.boot_info_ack = (st.boot_info_ack & !mask) | (bits & mask);
            }
            boot_param::BOOT_FLAGS => {
                let flags = BootFlags::parse(&r.data).map_err(CompletionCode::from)?;
                let boot = requested_override(&flags).ok_or(CompletionCode::INVALID_FIELD)?;
                self.boot_as(boot, flags, &self.asker(req), SetSystemBootOptions::NAME)
                    .await
                    .map_err(|(cc, _)| cc)?;
            }
            _ => return Err(CompletionCode(PARAMETER_NOT_SUPPORTED)),
        }
        Ok(Vec::new())
    }

    /// Sets the boot override `boot` (kept as the boot flags `flags`) for `asker`, audited as
    /// `command` and recorded in the SEL.
    pub(crate) async fn boot_as(
        &self,
        boot: Option<BootOverride>,
        flags: BootFlags,
        asker: &Asker,
        command: &'static str,
    ) -> Result<(), (CompletionCode, String)> {
        let who = &asker.who;
        let mut audit = Audit::start(self, asker, command, boot_call(boot));
        audit.admit(Durability::Written).await?;
        let result = self.carry_boot(boot, who).await;
        audit.finish_with(&result, Durability::Written).await;
        result?;
        tracing::info!(boot = ?boot, who = %who, "boot override set");
        self.record_for(Event::Boot(boot), Some(asker)).await;
        self.state().boot_flags = flags;
        Ok(())
    }

    pub(crate) async fn get_boot_option(&self, r: BootOptionsRequest) -> Outcome {
        let data = match r.parameter {
            boot_param::SET_IN_PROGRESS => vec![self.state().boot_set_in_progress],
            boot_param::VALID_BIT_CLEARING => vec![self.state().boot_valid_bit_clearing],
            boot_param::BOOT_INFO_ACK => vec![0, self.state().boot_info_ack],
            boot_param::BOOT_FLAGS => self.current_boot_flags().await.0.to_vec(),
            _ => return Err(CompletionCode(PARAMETER_NOT_SUPPORTED)),
        };
        ok(BootOptionsResponse {
            invalid: false,
            parameter: r.parameter,
            data,
        })
    }

    /// The boot flags as last set, with the valid bit cleared once the machine has booted with a
    /// next-boot-only override (the backend no longer reports it pending). A backend that
    /// reads the override back from the machine (redfish) may report another one than was set
    /// here (changed behind the shim, or held differently): then the flags show what it holds.
    pub(crate) async fn current_boot_flags(&self) -> BootFlags {
        let flags = self.state().boot_flags;
        let pending_once = flags.valid() && !flags.persistent() && flags.device_selector() != 0;
        if !pending_once && !self.backend.boot_read_back() {
            return flags;
        }
        let cd = [BootDevice::Cdrom, BootDevice::RemoteCdrom]
            .iter()
            .any(|d| d.selector() == flags.device_selector());
        // A boot from the CD through the iPXE endpoint: the model knows whether it was used.
        let through_endpoint = match cd {
            true => self.endpoint_cd_boot_pending(),
            false => None,
        };
        let held = match through_endpoint {
            Some(pending) => Ok(pending.then_some(BootOverride {
                device: BootDevice::from_selector(flags.device_selector())
                    .unwrap_or(BootDevice::Cdrom),
                persistent: flags.persistent(),
                efi: flags.efi(),
            })),
            None => self.backend.boot_override().await,
        };
        match held {
            Ok(None) if flags.valid() && flags.device_selector() != 0 => {
                let mut st = self.state();
                // Only clear what we read: a Set that raced with us wins.
                if st.boot_flags == flags {
                    st.boot_flags = flags.invalidated();
                }
                flags.invalidated()
            }
            Ok(None) => flags,
            Ok(Some(held)) => with_override(flags, held),
            Err(e) => {
                tracing::warn!(error = ?e.to_string(), "could not read the pending boot override; reporting it as set");
                flags
            }
        }
    }

    /// Logs a backend failure and returns the completion code the client gets.
    pub(crate) fn backend_failed(&self, what: &str, e: &crate::BackendError) -> CompletionCode {
        let cc = e.completion_code();
        tracing::warn!(operation = what, error = ?e.to_string(), ccode = %cc, "backend operation failed");
        // For the status; a failure path only.
        self.state().last_error = Some((SystemTime::now(), format!("{what}: {e}")));
        cc
    }
}

/// What a boot override asks of the backend, for the audit.
pub(crate) fn boot_call(boot: Option<BootOverride>) -> String {
    match boot {
        None => "clear boot override".into(),
        Some(b) => format!(
            "set boot override {} ({}, {})",
            b.device.name(),
            if b.persistent {
                "persistent"
            } else {
                "next boot"
            },
            if b.efi { "efi" } else { "legacy" }
        ),
    }
}

/// The boot override that boot flags ask for (`None`: none), or `None` for a device selector
/// that names no device.
pub(crate) fn requested_override(flags: &BootFlags) -> Option<Option<BootOverride>> {
    if !flags.valid() || flags.device_selector() == 0 {
        return Some(None);
    }
    Some(Some(BootOverride {
        device: BootDevice::from_selector(flags.device_selector())?,
        persistent: flags.persistent(),
        efi: flags.efi(),
    }))
}

/// `flags` showing the override `held` (device, persistence, firmware type, valid), the other
/// bits as they were set.
fn with_override(flags: BootFlags, held: BootOverride) -> BootFlags {
    let shown = BootFlags::new(true, held.persistent, held.efi, held.device.selector());
    let mut out = flags.0;
    out[0] = (out[0] & 0x1f) | shown.0[0];
    out[1] = (out[1] & !0x3c) | shown.0[1];
    BootFlags(out)
}
