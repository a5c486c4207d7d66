//! The fake's devices and their power state machine, advanced lazily from the clock.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// A device as the devices file describes it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    /// The device UUID.
    pub id: String,
    /// Host name.
    pub hostname: String,
    /// The project UUID it belongs to.
    pub project_id: String,
    /// Plan slug, e.g. `c3.small.x86`.
    #[serde(default = "default_plan")]
    pub plan: String,
    /// Facility code, e.g. `da11`.
    #[serde(default = "default_facility")]
    pub facility: String,
    /// Metro code, e.g. `da`.
    #[serde(default = "default_metro")]
    pub metro: String,
    /// Initial state (`active`, `inactive`, `provisioning`, ...).
    #[serde(default = "default_state")]
    pub state: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Initial `always_pxe`.
    #[serde(default)]
    pub always_pxe: bool,
    /// Initial `ipxe_script_url`.
    #[serde(default)]
    pub ipxe_script_url: Option<String>,
}

fn default_plan() -> String {
    "c3.small.x86".into()
}
fn default_facility() -> String {
    "da11".into()
}
fn default_metro() -> String {
    "da".into()
}
fn default_state() -> String {
    "active".into()
}

/// What the fake knows of a device beyond what the API shows, for tests to check.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DeviceView {
    /// The device as first described.
    pub spec: DeviceSpec,
    /// The current state.
    pub state: String,
    /// The current `always_pxe`.
    pub always_pxe: bool,
    /// The current `ipxe_script_url`.
    pub ipxe_script_url: Option<String>,
    /// Boots completed (power on or reboot reaching `active`).
    pub boots: u64,
    /// Of those, the boots that went to PXE (`always_pxe` was set when the device booted).
    pub pxe_boots: u64,
    /// Every action accepted, in order.
    pub actions: Vec<String>,
    /// GET requests for this device.
    pub gets: u64,
}

pub(crate) struct Device {
    pub(crate) view: DeviceView,
    /// States still to come, each at its time.
    pending: VecDeque<(Instant, &'static str)>,
}

/// Why an action was refused (422).
pub(crate) struct NotAllowed(pub(crate) String);

impl Device {
    pub(crate) fn new(spec: DeviceSpec) -> Self {
        Device {
            view: DeviceView {
                state: spec.state.clone(),
                always_pxe: spec.always_pxe,
                ipxe_script_url: spec.ipxe_script_url.clone(),
                boots: 0,
                pxe_boots: 0,
                actions: Vec::new(),
                gets: 0,
                spec,
            },
            pending: VecDeque::new(),
        }
    }

    /// Applies the transitions that are due.
    pub(crate) fn advance(&mut self, now: Instant) {
        while let Some((at, state)) = self.pending.front().copied() {
            if at > now {
                break;
            }
            self.pending.pop_front();
            if state == "active" && self.view.state == "powering_on" {
                self.view.boots += 1;
                if self.view.always_pxe {
                    self.view.pxe_boots += 1;
                }
            }
            self.view.state = state.to_string();
        }
    }

    /// Starts an action, as the real API would accept or refuse it.
    pub(crate) fn act(
        &mut self,
        action: &str,
        now: Instant,
        t: Duration,
    ) -> Result<(), NotAllowed> {
        self.advance(now);
        let state = self.view.state.as_str();
        let refuse = |why: &str| Err(NotAllowed(format!("cannot {action}: {why}")));
        match (action, state) {
            ("power_on", "inactive") => {
                self.view.state = "powering_on".into();
                self.pending.push_back((now + t, "active"));
            }
            ("power_off", "active") => {
                self.view.state = "powering_off".into();
                self.pending.push_back((now + t, "inactive"));
            }
            ("reboot", "active") => {
                self.view.state = "powering_off".into();
                self.pending.push_back((now + t / 2, "powering_on"));
                self.pending.push_back((now + t, "active"));
            }
            ("power_on" | "power_off" | "reboot", _) => {
                return refuse(&format!("the device is {state}"));
            }
            ("rescue" | "reinstall", _) => return refuse("not simulated by the fake"),
            _ => return refuse("unknown action"),
        }
        self.view.actions.push(action.to_string());
        Ok(())
    }
}

/// Every device of the fake, by id.
#[derive(Default)]
pub(crate) struct Devices(pub(crate) BTreeMap<String, Device>);
