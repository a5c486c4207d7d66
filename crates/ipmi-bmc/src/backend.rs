//! The operations a machine's BMC carries out, as an async trait that each backend implements.
//!
//! A backend is what really acts on the machine: the built-in simulator, a cloud API, SSH on the host,
//! another BMC, or a configured program. The BMC model ([`crate::Bmc`]) turns IPMI commands into these
//! operations and maps [`BackendError`] to the completion code the client sees.

use async_trait::async_trait;
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use std::fmt;

mod media_types;
pub use media_types::{MediaInsert, MediaSlot, TransferProtocol};

/// The power state of the machine as the backend sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerState {
    /// Powered on (or powering on).
    On,
    /// Powered off (or powering off).
    Off,
}

/// A power action (Chassis Control, IPMI 2.0 section 28.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PowerAction {
    /// Power down immediately (hard off).
    Off,
    /// Power up.
    On,
    /// Power down, wait, power up again.
    Cycle,
    /// Hard reset, without a power cycle.
    Reset,
    /// Pulse a diagnostic interrupt (NMI).
    Diag,
    /// Orderly shutdown through ACPI (soft off).
    Soft,
}

impl PowerAction {
    /// A short lower-case name for logs and configuration (`on`, `off`, `cycle`, `reset`, `diag`, `soft`).
    pub const fn name(self) -> &'static str {
        match self {
            PowerAction::Off => "off",
            PowerAction::On => "on",
            PowerAction::Cycle => "cycle",
            PowerAction::Reset => "reset",
            PowerAction::Diag => "diag",
            PowerAction::Soft => "soft",
        }
    }
}

impl fmt::Display for PowerAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The device a boot override selects (the boot device selector of boot option parameter 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BootDevice {
    /// Force PXE (network) boot.
    Pxe,
    /// Force boot from the default hard drive.
    Disk,
    /// Force boot from the default hard drive, request safe mode.
    DiskSafe,
    /// Force boot from the diagnostic partition.
    Diag,
    /// Force boot from CD/DVD.
    Cdrom,
    /// Force boot into BIOS setup.
    BiosSetup,
    /// Force boot from a remotely connected floppy or primary removable media.
    RemoteFloppy,
    /// Force boot from remotely connected CD/DVD.
    RemoteCdrom,
    /// Force boot from primary remote media.
    RemoteMedia,
    /// Force boot from a remotely connected hard drive.
    RemoteDisk,
    /// Force boot from floppy or primary removable media.
    Floppy,
}

impl BootDevice {
    /// Decodes the 4-bit boot device selector (byte 2, bits 5:2, of boot flags); 0 means no override.
    pub fn from_selector(sel: u8) -> Option<BootDevice> {
        Some(match sel & 0x0f {
            0x1 => BootDevice::Pxe,
            0x2 => BootDevice::Disk,
            0x3 => BootDevice::DiskSafe,
            0x4 => BootDevice::Diag,
            0x5 => BootDevice::Cdrom,
            0x6 => BootDevice::BiosSetup,
            0x7 => BootDevice::RemoteFloppy,
            0x8 => BootDevice::RemoteCdrom,
            0x9 => BootDevice::RemoteMedia,
            0xb => BootDevice::RemoteDisk,
            0xf => BootDevice::Floppy,
            _ => return None,
        })
    }

    /// The 4-bit boot device selector.
    pub const fn selector(self) -> u8 {
        match self {
            BootDevice::Pxe => 0x1,
            BootDevice::Disk => 0x2,
            BootDevice::DiskSafe => 0x3,
            BootDevice::Diag => 0x4,
            BootDevice::Cdrom => 0x5,
            BootDevice::BiosSetup => 0x6,
            BootDevice::RemoteFloppy => 0x7,
            BootDevice::RemoteCdrom => 0x8,
            BootDevice::RemoteMedia => 0x9,
            BootDevice::RemoteDisk => 0xb,
            BootDevice::Floppy => 0xf,
        }
    }

    /// The Redfish `BootSourceOverrideTarget` of the device, if Redfish has one.
    pub const fn redfish_target(self) -> Option<&'static str> {
        Some(match self {
            BootDevice::Pxe => "Pxe",
            BootDevice::Disk => "Hdd",
            BootDevice::Cdrom | BootDevice::RemoteCdrom => "Cd",
            BootDevice::BiosSetup => "BiosSetup",
            BootDevice::Diag => "Diags",
            BootDevice::Floppy | BootDevice::RemoteFloppy => "Floppy",
            BootDevice::RemoteDisk => "RemoteDrive",
            BootDevice::DiskSafe | BootDevice::RemoteMedia => return None,
        })
    }

    /// The device of a Redfish `BootSourceOverrideTarget` (`None`: no override, or a target
    /// IPMI cannot show).
    pub fn from_redfish_target(target: &str) -> Option<BootDevice> {
        Some(match target {
            "Pxe" | "UefiHttp" => BootDevice::Pxe,
            "Hdd" => BootDevice::Disk,
            "Cd" => BootDevice::Cdrom,
            "BiosSetup" => BootDevice::BiosSetup,
            "Diags" => BootDevice::Diag,
            "Floppy" => BootDevice::Floppy,
            "RemoteDrive" => BootDevice::RemoteDisk,
            _ => return None,
        })
    }

    /// A short lower-case name for logs.
    pub const fn name(self) -> &'static str {
        match self {
            BootDevice::Pxe => "pxe",
            BootDevice::Disk => "disk",
            BootDevice::DiskSafe => "disk-safe",
            BootDevice::Diag => "diag",
            BootDevice::Cdrom => "cdrom",
            BootDevice::BiosSetup => "bios",
            BootDevice::RemoteFloppy => "remote-floppy",
            BootDevice::RemoteCdrom => "remote-cdrom",
            BootDevice::RemoteMedia => "remote-media",
            BootDevice::RemoteDisk => "remote-disk",
            BootDevice::Floppy => "floppy",
        }
    }
}

/// A boot override as asked by a client: which device, for how long, and which firmware boot type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BootOverride {
    /// The device to boot from.
    pub device: BootDevice,
    /// `true`: for all future boots; `false`: for the next boot only.
    pub persistent: bool,
    /// `true`: EFI boot; `false`: legacy (PC compatible) boot.
    pub efi: bool,
}

/// Who asked for an operation, for the log line every action leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requester {
    /// The user name of the session ("" for the null user).
    pub user: String,
    /// The remote address of the client.
    pub peer: std::net::SocketAddr,
    /// The BMC's configured name.
    pub bmc: String,
}

impl fmt::Display for Requester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "user={:?} from {} on bmc {}",
            self.user, self.peer, self.bmc
        )
    }
}

/// A sensor as a backend reports it: what it is (name, kind, thresholds), which makes the SDR
/// repository, and what it reads now. A reading the backend cannot take now is `None`: the
/// client sees "reading unavailable", never an older value.
#[derive(Clone, Debug, PartialEq)]
pub struct SensorReading {
    /// The sensor's name (at most 16 bytes on the wire; longer names are shortened).
    pub name: String,
    /// What it measures.
    pub kind: SensorKind,
    /// Threshold sensors (every kind but [`SensorKind::Discrete`]): the value in the kind's
    /// unit, if readable.
    pub value: Option<f64>,
    /// Threshold sensors: the limits, in the kind's unit (none by default).
    pub thresholds: SensorThresholds,
    /// Discrete sensors: the states asserted now (bit `n`: state offset `n` of the kind), if
    /// readable.
    pub states: Option<u16>,
}

impl SensorReading {
    /// A threshold sensor's reading, without thresholds.
    pub fn new(name: impl Into<String>, kind: SensorKind, value: Option<f64>) -> Self {
        SensorReading {
            name: name.into(),
            kind,
            value,
            thresholds: SensorThresholds::default(),
            states: None,
        }
    }

    /// A discrete sensor's reading: the states asserted now, if readable.
    pub fn discrete(name: impl Into<String>, kind: DiscreteKind, states: Option<u16>) -> Self {
        SensorReading {
            states,
            ..SensorReading::new(name, SensorKind::Discrete(kind), None)
        }
    }

    /// The same reading with these thresholds.
    pub fn with_thresholds(mut self, thresholds: SensorThresholds) -> Self {
        self.thresholds = thresholds;
        self
    }
}

/// The kind of quantity a sensor measures, which gives its SDR sensor type and unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SensorKind {
    /// Degrees Celsius.
    Temperature,
    /// Volts.
    Voltage,
    /// Revolutions per minute.
    Fan,
    /// Watts.
    Power,
    /// Amperes.
    Current,
    /// A discrete sensor: a set of states rather than a number.
    Discrete(DiscreteKind),
}

/// The discrete sensors a backend can report, each with the state offsets of its IPMI sensor
/// type (IPMI 2.0 tables 42-2 and 42-3); the `const`s are the bit numbers of
/// [`SensorReading::states`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiscreteKind {
    /// A power supply (sensor type 08h, sensor-specific states).
    PowerSupply,
    /// Chassis intrusion (physical security, sensor type 05h).
    ChassisIntrusion,
    /// The system's ACPI power state (sensor type 22h).
    AcpiPowerState,
    /// A device's availability (generic "availability status" states, reading type 0Ah).
    Availability,
}

impl DiscreteKind {
    /// Power supply: presence detected.
    pub const PRESENCE_DETECTED: u8 = 0;
    /// Power supply: failure detected.
    pub const SUPPLY_FAILURE: u8 = 1;
    /// Power supply: input lost.
    pub const INPUT_LOST: u8 = 3;
    /// Chassis intrusion: general chassis intrusion.
    pub const GENERAL_INTRUSION: u8 = 0;
    /// ACPI power state: S0/G0, working.
    pub const S0_WORKING: u8 = 0;
    /// ACPI power state: S5/G2, soft off.
    pub const S5_SOFT_OFF: u8 = 5;
    /// ACPI power state: unknown.
    pub const ACPI_UNKNOWN: u8 = 0x0e;
    /// Availability: running.
    pub const RUNNING: u8 = 0;
    /// Availability: in test.
    pub const IN_TEST: u8 = 1;
    /// Availability: power off.
    pub const POWER_OFF: u8 = 2;
    /// Availability: on line.
    pub const ON_LINE: u8 = 3;
    /// Availability: off line.
    pub const OFF_LINE: u8 = 4;
    /// Availability: off duty.
    pub const OFF_DUTY: u8 = 5;
    /// Availability: degraded.
    pub const DEGRADED: u8 = 6;
    /// Availability: install error.
    pub const INSTALL_ERROR: u8 = 8;

    /// The states the sensor can report (bit `n`: offset `n`).
    pub const fn possible_states(self) -> u16 {
        match self {
            DiscreteKind::PowerSupply => 0x000f,
            DiscreteKind::ChassisIntrusion => 0x0001,
            DiscreteKind::AcpiPowerState => 0x7fff,
            DiscreteKind::Availability => 0x01ff,
        }
    }
}

/// A threshold sensor's limits in its kind's unit (IPMI 2.0 section 36.1), and the hysteresis
/// that applies to them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SensorThresholds {
    /// Lower non-recoverable.
    pub lower_non_recoverable: Option<f64>,
    /// Lower critical.
    pub lower_critical: Option<f64>,
    /// Lower non-critical.
    pub lower_non_critical: Option<f64>,
    /// Upper non-critical.
    pub upper_non_critical: Option<f64>,
    /// Upper critical.
    pub upper_critical: Option<f64>,
    /// Upper non-recoverable.
    pub upper_non_recoverable: Option<f64>,
    /// How far a reading must come back past a threshold before its state clears, in both
    /// directions (0: none).
    pub hysteresis: f64,
}

impl SensorThresholds {
    /// The limits in the order of Get Sensor Thresholds: lower non-critical, lower critical,
    /// lower non-recoverable, upper non-critical, upper critical, upper non-recoverable.
    pub fn in_wire_order(&self) -> [Option<f64>; 6] {
        [
            self.lower_non_critical,
            self.lower_critical,
            self.lower_non_recoverable,
            self.upper_non_critical,
            self.upper_critical,
            self.upper_non_recoverable,
        ]
    }

    /// Whether any limit is given.
    pub fn any(&self) -> bool {
        self.in_wire_order().iter().any(Option::is_some)
    }
}

/// Identity and inventory of a machine, served as FRU 0 and the system GUID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Manufacturer name.
    pub manufacturer: String,
    /// Product name (e.g. plan).
    pub product: String,
    /// Serial number (e.g. device ID).
    pub serial: String,
    /// Part or model number.
    pub part_number: String,
    /// Asset tag or host name.
    pub asset_tag: String,
    /// Where the machine is (facility/metro), if known.
    pub location: String,
    /// A system GUID, if the backend knows one.
    pub guid: Option<[u8; 16]>,
}

/// A UUID in its text form (`0f0c3a4e-1111-4a5e-9d7e-000000000001`) as an IPMI GUID, for
/// [`Inventory::guid`]: wire order is the text's bytes reversed, so that clients show the UUID
/// as the provider writes it. `None` if it is not 32 hex digits (dashes aside); no
/// text panics (a multibyte character is no hex digit).
pub fn guid_from_uuid(uuid: &str) -> Option<[u8; 16]> {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    out.reverse();
    Some(out)
}

/// Why a backend operation failed; each maps to the completion code the client receives.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The backend is busy or rate-limited; the client may retry (0xC0).
    #[error("backend busy: {0}")]
    Busy(String),
    /// The backend did not answer in time (0xC3).
    #[error("backend timed out: {0}")]
    Timeout(String),
    /// The machine's present state does not allow the operation (0xD5).
    #[error("not possible in present state: {0}")]
    InvalidState(String),
    /// The backend does not implement this operation (0xC1).
    #[error("operation not supported by this backend")]
    NotSupported,
    /// Any other failure (0xFF).
    #[error("backend failure: {0}")]
    Failed(String),
    /// A completion code from a BMC behind, passed through as it is.
    #[error("completion code {0} from the BMC behind")]
    Completion(CompletionCode),
}

impl BackendError {
    /// The completion code a client receives for this error.
    pub fn completion_code(&self) -> CompletionCode {
        match self {
            BackendError::Busy(_) => CompletionCode::NODE_BUSY,
            BackendError::Timeout(_) => CompletionCode::TIMEOUT,
            BackendError::InvalidState(_) => CompletionCode::INVALID_STATE,
            BackendError::NotSupported => CompletionCode::INVALID_COMMAND,
            BackendError::Failed(_) => CompletionCode::UNSPECIFIED,
            BackendError::Completion(cc) => *cc,
        }
    }
}

/// The result of a backend operation.
pub type BackendResult<T> = Result<T, BackendError>;

/// The operations of a machine. Every method is async and must return within the backend's own
/// timeout: a hung backend must never hang the IPMI session.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The backend's kind, for logs (`sim`, `metal`, ...).
    fn kind(&self) -> &'static str;

    /// The current power state.
    async fn power_state(&self) -> BackendResult<PowerState>;

    /// Carries out a power action. Returns once the action is accepted, not necessarily done.
    async fn power(&self, action: PowerAction, who: &Requester) -> BackendResult<()>;

    /// Whether [`Backend::power`] can carry `action` out as the backend is configured (what a
    /// Redfish client is offered as a reset type): true unless the backend knows it cannot (an
    /// http preset without that request), so that an action it fails at says why.
    fn offers(&self, _action: PowerAction) -> bool {
        true
    }

    /// Sets (`Some`) or clears (`None`) the boot override.
    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        who: &Requester,
    ) -> BackendResult<()>;

    /// The boot override still pending: a next-boot-only override is gone once the machine has
    /// booted with it.
    async fn boot_override(&self) -> BackendResult<Option<BootOverride>>;

    /// Whether [`Backend::boot_override`] reads the override back from the machine (so that it
    /// may differ from what was set through the shim), rather than report what was set. Then
    /// Get System Boot Options shows what it reads, every time.
    fn boot_read_back(&self) -> bool {
        false
    }

    /// Turns the chassis identify light on for `seconds` (0 turns it off), or on until turned off.
    async fn identify(&self, _seconds: Option<u8>, _who: &Requester) -> BackendResult<()> {
        Ok(())
    }

    /// The machine's sensors and their readings now, for the SDR repository, the sensor
    /// commands and DCMI power. The BMC model caches them briefly (and asks once for many
    /// clients); a failure makes every reading "unavailable" until the source answers again.
    async fn sensors(&self) -> BackendResult<Vec<SensorReading>> {
        Err(BackendError::NotSupported)
    }

    /// Identity and inventory, for FRU 0 and the system GUID.
    async fn inventory(&self) -> BackendResult<Inventory> {
        Err(BackendError::NotSupported)
    }

    /// Opens the machine's serial console, for Serial over LAN.
    async fn console(&self, _who: &Requester) -> BackendResult<Box<dyn Console>> {
        Err(BackendError::NotSupported)
    }

    /// Adds a system event record (16 bytes, its timestamp for the BMC behind to set) to the SEL
    /// of the machine's own BMC, for a backend that serves that SEL (it relays Get SEL Entry):
    /// the records of the actions carried out through this BMC then appear in the log clients
    /// read. Returns the record ID the BMC behind gave it.
    async fn add_sel_entry(&self, _record: [u8; 16], _who: &Requester) -> BackendResult<u16> {
        Err(BackendError::NotSupported)
    }

    /// Whether this backend relays command `cmd` of `netfn` whole to the machine's own BMC, and
    /// if so the session privilege a client needs for it. A relayed command bypasses the BMC
    /// model: what the BMC behind answers is what the client sees. The BMC model requires at
    /// least the command's appendix G privilege ([`crate::privilege_floor`]) whatever this says.
    fn relays(&self, _netfn: NetFn, _cmd: u8) -> Option<Privilege> {
        None
    }

    /// The virtual media slots this backend carries out itself (the machine's own virtual CD,
    /// a provider's "boot this ISO" call): [`Backend::insert_media`] and
    /// [`Backend::eject_media`] then work for them. Empty (the default): none.
    fn media_slots(&self) -> &'static [MediaSlot] {
        &[]
    }

    /// Inserts `media` into `slot` (one of [`Backend::media_slots`]). `ipxe_url` is the
    /// machine's iPXE script URL on the shim's endpoint, if one is configured: for a provider
    /// whose machines netboot a custom iPXE URL, that is what to give it.
    async fn insert_media(
        &self,
        _slot: MediaSlot,
        _media: &MediaInsert,
        _ipxe_url: Option<&str>,
        _who: &Requester,
    ) -> BackendResult<()> {
        Err(BackendError::NotSupported)
    }

    /// Ejects the medium of `slot`.
    async fn eject_media(&self, _slot: MediaSlot, _who: &Requester) -> BackendResult<()> {
        Err(BackendError::NotSupported)
    }

    /// Whether the machine can be made to netboot an iPXE script URL ([`Backend::boot_ipxe`]):
    /// then the BMC model offers a virtual CD through the shim's iPXE endpoint.
    fn boots_ipxe(&self) -> bool {
        false
    }

    /// Makes every boot of the machine from now on netboot the iPXE script at `url`. Returns a
    /// note of what it replaced (opaque to the caller, who keeps it durably and gives it back
    /// to [`Backend::restore_boot`]).
    async fn boot_ipxe(&self, _url: &str, _who: &Requester) -> BackendResult<String> {
        Err(BackendError::NotSupported)
    }

    /// Puts back what [`Backend::boot_ipxe`] replaced, from its note.
    async fn restore_boot(&self, _note: &str, _who: &Requester) -> BackendResult<()> {
        Err(BackendError::NotSupported)
    }

    /// Relays a request that [`Backend::relays`] allows; returns the completion code and data
    /// of the answer.
    async fn relay(
        &self,
        _netfn: NetFn,
        _cmd: u8,
        _data: &[u8],
        _who: &Requester,
    ) -> BackendResult<(CompletionCode, Vec<u8>)> {
        Err(BackendError::NotSupported)
    }
}

/// A connection to a machine's serial console, which Serial over LAN and the console log carry.
/// Reading and writing take `&self` so that one task can read while another writes (the
/// console's output is read continuously, whether or not a remote console is attached).
#[async_trait]
pub trait Console: Send + Sync {
    /// Waits for console output and reads it into `buf`; returns 0 when the console has closed
    /// (the source ended: the caller opens it again).
    async fn read(&self, buf: &mut [u8]) -> BackendResult<usize>;
    /// Sends keyboard input to the console.
    async fn write(&self, data: &[u8]) -> BackendResult<()>;
    /// Sends a break on the serial line (the remote console asked for one).
    async fn send_break(&self) -> BackendResult<()> {
        Ok(())
    }
    /// If the console will print nothing until something happens to it (no output waiting or
    /// scheduled: only a power change or a key can bring some), keeps `waker` and wakes it at the
    /// first such thing, and returns true: the caller may then stop reading, and hold no read,
    /// buffer or task until woken (thousands of idle consoles in one process). Returns false
    /// (the default) if the console may print at any time: the caller keeps reading.
    fn park(&self, _waker: &std::task::Waker) -> bool {
        false
    }
}
