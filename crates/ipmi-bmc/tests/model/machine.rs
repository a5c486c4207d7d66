//! A small in-memory machine, the test backend of the BMC model's tests: it follows the rules of
//! a real machine that the model relies on (power on boots it, a boot consumes a next-boot-only
//! override, cycle, reset, diag and soft need it on), without the sim's clock: a power change
//! is either immediate or held until the test calls [`TestMachine::settle`]. Its sensors, if
//! given, are what the test sets, and can be made to fail.

use async_trait::async_trait;
use ipmi_bmc::{
    Backend, BackendError, BackendResult, BootDevice, BootOverride, Inventory, PowerAction,
    PowerState, Requester, SensorReading,
};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use std::sync::Mutex;

/// A boot of the machine: the device and firmware boot type it used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boot {
    /// The device it booted from (the override's, else the default disk).
    pub device: BootDevice,
    /// Whether it booted in EFI mode.
    pub efi: bool,
}

/// What the machine is and has done.
#[derive(Debug)]
struct State {
    power: PowerState,
    /// A power change held until [`TestMachine::settle`].
    pending: Option<PowerState>,
    boot_override: Option<BootOverride>,
    boots: Vec<Boot>,
    nmis: u32,
    /// Whether reading the power state times out, as an unreachable backend does.
    unreachable: bool,
    /// The sensors (`None`: the machine has no sensors to report).
    sensors: Option<Vec<SensorReading>>,
    /// Whether reading the sensors fails (as a source that does not answer).
    sensors_fail: bool,
    /// How many times the sensors were read.
    sensor_reads: u32,
    /// How long reading the sensors takes.
    sensor_delay: std::time::Duration,
    /// How long a power state read takes to answer (with the state from when it began).
    power_read_delay: std::time::Duration,
    /// The records added to the SEL of "its BMC" (Add SEL Entry behind).
    sel_added: Vec<[u8; 16]>,
}

/// The test backend: a machine that starts powered off.
#[derive(Debug)]
pub struct TestMachine {
    /// Whether power changes wait for [`TestMachine::settle`] (a machine that takes time to
    /// power on) rather than happen at once.
    hold_transitions: bool,
    /// The one command this machine relays to "its BMC", and the privilege it needs.
    relayed: Option<(NetFn, u8, Privilege)>,
    /// Whether the boot override is read back from "the machine", where it can change
    /// behind the BMC ([`TestMachine::change_override_behind`]).
    read_back: bool,
    state: Mutex<State>,
}

impl TestMachine {
    /// A machine, off, whose power changes happen at once.
    pub fn new() -> Self {
        TestMachine {
            hold_transitions: false,
            relayed: None,
            read_back: false,
            state: Mutex::new(State {
                power: PowerState::Off,
                pending: None,
                boot_override: None,
                boots: Vec::new(),
                nmis: 0,
                unreachable: false,
                sensors: None,
                sensors_fail: false,
                sensor_reads: 0,
                sensor_delay: std::time::Duration::ZERO,
                power_read_delay: std::time::Duration::ZERO,
                sel_added: Vec::new(),
            }),
        }
    }

    /// A machine whose power on, cycle and soft off wait for [`TestMachine::settle`].
    pub fn holding_transitions() -> Self {
        TestMachine {
            hold_transitions: true,
            ..TestMachine::new()
        }
    }

    /// A machine that relays `netfn`/`cmd` to the BMC behind it under privilege `need`; the
    /// answer is 0xAA followed by the request data.
    pub fn relaying(netfn: NetFn, cmd: u8, need: Privilege) -> Self {
        TestMachine {
            relayed: Some((netfn, cmd, need)),
            ..TestMachine::new()
        }
    }

    /// A machine whose boot override is read back from it (as a Redfish service holds it).
    pub fn reading_boot_back() -> Self {
        TestMachine {
            read_back: true,
            ..TestMachine::new()
        }
    }

    /// Changes the boot override on the machine itself, not through the BMC.
    pub fn change_override_behind(&self, boot: Option<BootOverride>) {
        self.lock().boot_override = boot;
    }

    /// A machine, off, that reports these sensors.
    pub fn with_sensors(sensors: Vec<SensorReading>) -> Self {
        let m = TestMachine::new();
        m.set_sensors(sensors);
        m
    }

    /// Replaces the sensors the machine reports.
    pub fn set_sensors(&self, sensors: Vec<SensorReading>) {
        self.lock().sensors = Some(sensors);
    }

    /// Makes reading the sensors fail (`true`) or work again.
    pub fn fail_sensors(&self, fail: bool) {
        self.lock().sensors_fail = fail;
    }

    /// Makes a power state read take `delay`, answering the state from when it began.
    pub fn slow_power_reads(&self, delay: std::time::Duration) {
        self.lock().power_read_delay = delay;
    }

    /// Makes reading the sensors take `delay`.
    pub fn slow_sensors(&self, delay: std::time::Duration) {
        self.lock().sensor_delay = delay;
    }

    /// How many times the sensors were read.
    pub fn sensor_reads(&self) -> u32 {
        self.lock().sensor_reads
    }

    /// The records added to the SEL of the BMC behind, oldest first.
    pub fn sel_added(&self) -> Vec<[u8; 16]> {
        self.lock().sel_added.clone()
    }

    /// Completes the power change held so far, as time passing would.
    pub fn settle(&self) {
        complete_pending(&mut self.lock());
    }

    /// The boots so far, oldest first.
    pub fn boots(&self) -> Vec<Boot> {
        self.lock().boots.clone()
    }

    /// How many diagnostic interrupts (NMIs) the machine has received.
    pub fn nmis(&self) -> u32 {
        self.lock().nmis
    }

    /// The power state now.
    pub fn power_now(&self) -> PowerState {
        self.lock().power
    }

    /// Makes reading the power state time out (`true`) or answer again.
    pub fn set_unreachable(&self, unreachable: bool) {
        self.lock().unreachable = unreachable;
    }

    /// Changes the power state behind the BMC's back (a power button, a power loss).
    pub fn force_power(&self, power: PowerState) {
        let mut st = self.lock();
        st.pending = None;
        st.power = power;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a power change: at once, or held until [`TestMachine::settle`].
    fn change(&self, st: &mut State, to: PowerState) {
        st.pending = Some(to);
        if !self.hold_transitions {
            complete_pending(st);
        }
    }
}

/// Completes a held power change.
fn complete_pending(st: &mut State) {
    match st.pending.take() {
        Some(PowerState::On) => boot(st),
        Some(PowerState::Off) => st.power = PowerState::Off,
        None => {}
    }
}

/// Powers the machine on and boots it, consuming a next-boot-only override.
fn boot(st: &mut State) {
    st.power = PowerState::On;
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
}

#[async_trait]
impl Backend for TestMachine {
    fn kind(&self) -> &'static str {
        "test"
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        let (power, delay) = {
            let st = self.lock();
            if st.unreachable {
                return Err(BackendError::Timeout("the machine does not answer".into()));
            }
            (st.power, st.power_read_delay)
        };
        // The answer of a slow read is the state when it began.
        tokio::time::sleep(delay).await;
        Ok(power)
    }

    async fn power(&self, action: PowerAction, _who: &Requester) -> BackendResult<()> {
        let mut st = self.lock();
        let on = st.power == PowerState::On;
        if !on && !matches!(action, PowerAction::On | PowerAction::Off) {
            return Err(BackendError::InvalidState(format!(
                "power {action} needs the machine on"
            )));
        }
        match action {
            PowerAction::On => {
                if !on && st.pending != Some(PowerState::On) {
                    self.change(&mut st, PowerState::On);
                }
            }
            PowerAction::Off => {
                st.pending = None;
                st.power = PowerState::Off;
            }
            PowerAction::Cycle => {
                st.power = PowerState::Off;
                self.change(&mut st, PowerState::On);
            }
            PowerAction::Reset => {
                st.pending = None;
                boot(&mut st);
            }
            PowerAction::Diag => st.nmis += 1,
            PowerAction::Soft => self.change(&mut st, PowerState::Off),
        }
        Ok(())
    }

    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        _who: &Requester,
    ) -> BackendResult<()> {
        self.lock().boot_override = boot;
        Ok(())
    }

    fn boot_read_back(&self) -> bool {
        self.read_back
    }

    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        Ok(self.lock().boot_override)
    }

    async fn sensors(&self) -> BackendResult<Vec<SensorReading>> {
        let delay = self.lock().sensor_delay;
        tokio::time::sleep(delay).await;
        let mut st = self.lock();
        st.sensor_reads += 1;
        match (&st.sensors, st.sensors_fail) {
            (None, _) => Err(BackendError::NotSupported),
            (Some(_), true) => Err(BackendError::Timeout("the sensors do not answer".into())),
            (Some(s), false) => Ok(s.clone()),
        }
    }

    async fn inventory(&self) -> BackendResult<Inventory> {
        Ok(Inventory {
            manufacturer: "ipmi-to-metal".into(),
            product: "Test machine".into(),
            serial: "node1".into(),
            part_number: "test".into(),
            asset_tag: "node1".into(),
            location: "test rack".into(),
            guid: None,
        })
    }

    async fn add_sel_entry(&self, record: [u8; 16], _who: &Requester) -> BackendResult<u16> {
        let mut st = self.lock();
        st.sel_added.push(record);
        Ok(st.sel_added.len() as u16)
    }

    fn relays(&self, netfn: NetFn, cmd: u8) -> Option<Privilege> {
        self.relayed
            .filter(|&(n, c, _)| (n, c) == (netfn, cmd))
            .map(|(_, _, need)| need)
    }

    async fn relay(
        &self,
        _netfn: NetFn,
        _cmd: u8,
        data: &[u8],
        _who: &Requester,
    ) -> BackendResult<(CompletionCode, Vec<u8>)> {
        let mut answer = vec![0xaa];
        answer.extend_from_slice(data);
        Ok((CompletionCode::OK, answer))
    }
}
