//! The system event records (IPMI 2.0 section 32.1) the BMC writes to its SEL for what is done
//! through it and what it sees of the machine, with sensor types and offsets from table 42-3 that
//! `ipmitool sel elist` and FreeIPMI's `ipmi-sel` print by name.
//!
//! Every record names the BMC (slave address 0x20) as its generator. A record cannot carry a
//! user name; where a client asked for the action, event data 3 holds the session's user ID
//! (marked "OEM code in byte 3" in event data 1), and the log line written with the record
//! names the user and address.

use crate::{BootOverride, PowerAction, PowerState};
use ipmi_proto::cmd::storage::{SelRecord, SystemEvent, SENSOR_SPECIFIC};

/// The sensor numbers of the BMC's event-only sensors, one per sensor type it logs; an SDR
/// repository can describe them with event-only records of these numbers.
pub mod sensor {
    /// Power Unit (type 0x09): power off, power cycle.
    pub const POWER_UNIT: u8 = 0xe0;
    /// System Boot / Restart Initiated (type 0x1D): power on, hard reset, PXE boot requested.
    pub const SYSTEM_BOOT: u8 = 0xe1;
    /// System ACPI Power State (type 0x22): the power state as seen changing.
    pub const ACPI_POWER_STATE: u8 = 0xe2;
    /// Critical Interrupt (type 0x13): diagnostic interrupt (NMI).
    pub const CRITICAL_INTERRUPT: u8 = 0xe3;
    /// Button / Switch (type 0x14): soft off, a press of the power button.
    pub const BUTTON: u8 = 0xe4;
    /// Slot / Connector (type 0x21): the chassis identify light.
    pub const IDENTIFY: u8 = 0xe5;
    /// System Event (type 0x12): the boot device set (other than PXE) or cleared.
    pub const SYSTEM_EVENT: u8 = 0xe6;
    /// Event Logging Disabled (type 0x10): the SEL was cleared.
    pub const EVENT_LOG: u8 = 0xe7;
    /// Management Subsystem Health (type 0x28): the backend became unreachable, or came back.
    pub const BACKEND_HEALTH: u8 = 0xe8;
    /// Slot / Connector (type 0x21): a virtual medium inserted (asserted) or ejected.
    pub const VIRTUAL_MEDIA: u8 = 0xe9;
}

/// One of the BMC's event-only sensors, as the SDR repository describes it (an event-only
/// record, type 03h), so that `ipmitool sel elist` and FreeIPMI's `ipmi-sel` name the sensor
/// of each record, as they do on real BMCs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EventSensor {
    /// Its sensor number (one of [`sensor`]).
    pub number: u8,
    /// Its sensor type (table 42-3): the type of every record it logs.
    pub sensor_type: u8,
    /// The entity it belongs to (table 43-13).
    pub entity: u8,
    /// Its name in the record.
    pub name: &'static str,
}

/// The event-only sensors, in sensor number order.
pub(crate) const EVENT_SENSORS: [EventSensor; 10] = {
    use ipmi_proto::sdr::entity::*;
    const fn s(number: u8, sensor_type: u8, entity: u8, name: &'static str) -> EventSensor {
        EventSensor {
            number,
            sensor_type,
            entity,
            name,
        }
    }
    [
        s(sensor::POWER_UNIT, 0x09, POWER_UNIT, "Power Control"),
        s(sensor::SYSTEM_BOOT, 0x1d, SYSTEM_BOARD, "Boot Request"),
        s(sensor::ACPI_POWER_STATE, 0x22, SYSTEM_BOARD, "Host Power"),
        s(
            sensor::CRITICAL_INTERRUPT,
            0x13,
            SYSTEM_BOARD,
            "Diag Interrupt",
        ),
        s(sensor::BUTTON, 0x14, FRONT_PANEL, "Power Button"),
        s(sensor::IDENTIFY, 0x21, CHASSIS, "Chassis Identify"),
        s(sensor::SYSTEM_EVENT, 0x12, SYSTEM_BOARD, "Boot Device"),
        s(sensor::EVENT_LOG, 0x10, MANAGEMENT_MODULE, "Event Log"),
        s(
            sensor::BACKEND_HEALTH,
            0x28,
            MANAGEMENT_MODULE,
            "Backend Access",
        ),
        s(sensor::VIRTUAL_MEDIA, 0x21, SYSTEM_BOARD, "Virtual Media"),
    ]
};

/// The BMC's generator ID: IPMB slave address 0x20, channel 0, LUN 0.
const GENERATOR_BMC: [u8; 2] = [0x20, 0x00];
/// Event data 1, bits 5:4: "OEM code in event data 3".
const DATA3_OEM: u8 = 0x20;
/// Event data 1, bits 7:6: "OEM code in event data 2".
const DATA2_OEM: u8 = 0x80;

/// Something the BMC logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A power action was carried out.
    Power(PowerAction),
    /// The boot device was set (`Some`) or cleared (`None`).
    Boot(Option<BootOverride>),
    /// The identify light was turned on (`true`) or off.
    Identify(bool),
    /// The machine was seen in a power state other than the last one seen.
    PowerSeen(PowerState),
    /// The backend stopped answering (`false`) or answers again (`true`).
    Backend(bool),
    /// The SEL was cleared.
    Cleared,
    /// A virtual medium was inserted (`true`) or ejected.
    Media(bool),
}

impl Event {
    /// Sensor type, sensor number, offset, deassertion, and event data 2.
    fn fields(self) -> (u8, u8, u8, bool, Option<u8>) {
        use sensor::*;
        match self {
            Event::Power(PowerAction::Off) => (0x09, POWER_UNIT, 0x00, false, None),
            Event::Power(PowerAction::Cycle) => (0x09, POWER_UNIT, 0x01, false, None),
            Event::Power(PowerAction::On) => (0x1d, SYSTEM_BOOT, 0x00, false, None),
            Event::Power(PowerAction::Reset) => (0x1d, SYSTEM_BOOT, 0x01, false, None),
            Event::Power(PowerAction::Diag) => (0x13, CRITICAL_INTERRUPT, 0x00, false, None),
            Event::Power(PowerAction::Soft) => (0x14, BUTTON, 0x00, false, None),
            Event::Boot(Some(b)) if b.device == crate::BootDevice::Pxe => {
                (0x1d, SYSTEM_BOOT, 0x03, false, Some(b.device.selector()))
            }
            // "System Reconfigured", with the device selector (0: none) in event data 2.
            Event::Boot(b) => (
                0x12,
                SYSTEM_EVENT,
                0x00,
                false,
                Some(b.map_or(0, |b| b.device.selector())),
            ),
            Event::Identify(on) => (0x21, IDENTIFY, 0x01, !on, None),
            Event::PowerSeen(PowerState::On) => (0x22, ACPI_POWER_STATE, 0x00, false, None),
            Event::PowerSeen(PowerState::Off) => (0x22, ACPI_POWER_STATE, 0x05, false, None),
            Event::Backend(back) => (0x28, BACKEND_HEALTH, 0x01, back, None),
            Event::Cleared => (0x10, EVENT_LOG, 0x02, false, None),
            // "Device installed/attached", deasserted when ejected.
            Event::Media(inserted) => (0x21, VIRTUAL_MEDIA, 0x02, !inserted, None),
        }
    }

    /// The system event record; `user` is the ID of the session's user who asked, if one did.
    pub(crate) fn record(self, user: Option<u8>) -> SelRecord {
        let (sensor_type, sensor_number, offset, deasserted, data2) = self.fields();
        let data1 = offset
            | if data2.is_some() { DATA2_OEM } else { 0 }
            | if user.is_some() { DATA3_OEM } else { 0 };
        SelRecord::system_event(&SystemEvent {
            generator: GENERATOR_BMC,
            sensor_type,
            sensor_number,
            deasserted,
            event_type: SENSOR_SPECIFIC,
            data: [data1, data2.unwrap_or(0xff), user.unwrap_or(0xff)],
        })
    }

    /// What the record says, as ipmitool prints it, for the log line.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Event::Power(PowerAction::Off) => "Power Unit: Power off/down",
            Event::Power(PowerAction::Cycle) => "Power Unit: Power cycle",
            Event::Power(PowerAction::On) => "System Boot Initiated: Initiated by power up",
            Event::Power(PowerAction::Reset) => "System Boot Initiated: Initiated by hard reset",
            Event::Power(PowerAction::Diag) => "Critical Interrupt: NMI/Diag Interrupt",
            Event::Power(PowerAction::Soft) => "Button: Power Button pressed",
            Event::Boot(Some(b)) if b.device == crate::BootDevice::Pxe => {
                "System Boot Initiated: User requested PXE boot"
            }
            Event::Boot(_) => "System Event: System Reconfigured (boot device)",
            Event::Identify(true) => "Slot/Connector: Identify Status asserted",
            Event::Identify(false) => "Slot/Connector: Identify Status deasserted",
            Event::PowerSeen(PowerState::On) => "System ACPI Power State: S0/G0: working",
            Event::PowerSeen(PowerState::Off) => "System ACPI Power State: S5/G2: soft-off",
            Event::Backend(false) => {
                "Management Subsystem Health: Controller access degraded or unavailable"
            }
            Event::Backend(true) => {
                "Management Subsystem Health: Controller access degraded or unavailable, deasserted"
            }
            Event::Cleared => "Event Logging Disabled: Log area reset/cleared",
            Event::Media(true) => "Slot/Connector: Device installed/attached asserted",
            Event::Media(false) => "Slot/Connector: Device installed/attached deasserted",
        }
    }
}

/// Every event the BMC logs, one of each description (the boot device set to another device
/// than PXE is described as [`Event::Boot`] with none).
const ALL_EVENTS: [Event; 17] = [
    Event::Power(PowerAction::Off),
    Event::Power(PowerAction::Cycle),
    Event::Power(PowerAction::On),
    Event::Power(PowerAction::Reset),
    Event::Power(PowerAction::Diag),
    Event::Power(PowerAction::Soft),
    Event::Boot(Some(BootOverride {
        device: crate::BootDevice::Pxe,
        persistent: false,
        efi: false,
    })),
    Event::Boot(None),
    Event::Identify(true),
    Event::Identify(false),
    Event::PowerSeen(PowerState::On),
    Event::PowerSeen(PowerState::Off),
    Event::Backend(false),
    Event::Backend(true),
    Event::Cleared,
    Event::Media(true),
    Event::Media(false),
];

/// What a SEL record says, as ipmitool names it: the description of the event this BMC logs
/// with its sensor, offset and direction, else the sensor type, number and offset (a record a
/// client added), with the user ID that asked if the record carries one.
pub(crate) fn describe_record(r: &SelRecord) -> String {
    let Some(e) = r.system_event_fields() else {
        return format!("OEM record type 0x{:02x}", r.record_type());
    };
    let offset = e.data[0] & 0x0f;
    let known = ALL_EVENTS.iter().find(|ev| {
        let (sensor_type, number, off, deasserted, _) = ev.fields();
        (sensor_type, number, off, deasserted)
            == (e.sensor_type, e.sensor_number, offset, e.deasserted)
    });
    let mut text = match known {
        Some(ev) => ev.describe().to_string(),
        None => format!(
            "sensor type 0x{:02x} #0x{:02x}: offset {offset}{}",
            e.sensor_type,
            e.sensor_number,
            if e.deasserted { ", deasserted" } else { "" }
        ),
    };
    if known.is_some() && e.data[0] & DATA3_OEM != 0 {
        text.push_str(&format!(" (user ID {})", e.data[2]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BootDevice;

    /// Every record names a sensor of [`EVENT_SENSORS`], with that sensor's type.
    #[test]
    fn every_event_has_its_event_only_sensor() {
        let events = ALL_EVENTS;
        for e in events {
            let f = e.record(None).system_event_fields().unwrap();
            let s = EVENT_SENSORS
                .iter()
                .find(|s| s.number == f.sensor_number)
                .unwrap_or_else(|| panic!("{e:?}: no event-only sensor"));
            assert_eq!(s.sensor_type, f.sensor_type, "{e:?}");
        }
        let names: std::collections::HashSet<_> = EVENT_SENSORS.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), EVENT_SENSORS.len());
        assert!(EVENT_SENSORS.iter().all(|s| s.name.len() <= 16));
    }

    /// Each record the BMC writes reads back as its own description; another reads as its
    /// fields.
    #[test]
    fn records_read_back_as_their_description() {
        for e in ALL_EVENTS {
            assert_eq!(describe_record(&e.record(None)), e.describe(), "{e:?}");
        }
        let by_user = describe_record(&Event::Power(PowerAction::Cycle).record(Some(2)));
        assert_eq!(by_user, "Power Unit: Power cycle (user ID 2)");
        let other = SelRecord::system_event(&SystemEvent {
            generator: [0x41, 0],
            sensor_type: 0x01,
            sensor_number: 0x30,
            deasserted: true,
            event_type: 0x01,
            data: [0x02, 0xff, 0xff],
        });
        assert_eq!(
            describe_record(&other),
            "sensor type 0x01 #0x30: offset 2, deasserted"
        );
    }

    #[test]
    fn power_off_by_user_3() {
        let r = Event::Power(PowerAction::Off).record(Some(3));
        let e = r.system_event_fields().unwrap();
        assert_eq!(e.generator, [0x20, 0]);
        assert_eq!((e.sensor_type, e.sensor_number), (0x09, sensor::POWER_UNIT));
        assert_eq!((e.event_type, e.deasserted), (0x6f, false));
        assert_eq!(e.data, [0x20, 0xff, 3]);
    }

    #[test]
    fn boot_device_in_data_2_and_identify_off_deasserts() {
        let pxe = BootOverride {
            device: BootDevice::Pxe,
            persistent: false,
            efi: true,
        };
        let e = Event::Boot(Some(pxe))
            .record(Some(2))
            .system_event_fields()
            .unwrap();
        assert_eq!((e.sensor_type, e.data), (0x1d, [0xa3, 0x01, 2]));
        let bios = BootOverride {
            device: BootDevice::BiosSetup,
            ..pxe
        };
        let e = Event::Boot(Some(bios))
            .record(None)
            .system_event_fields()
            .unwrap();
        assert_eq!((e.sensor_type, e.data), (0x12, [0x80, 0x06, 0xff]));
        let e = Event::Identify(false)
            .record(Some(2))
            .system_event_fields()
            .unwrap();
        assert!(e.deasserted);
        let e = Event::PowerSeen(PowerState::Off)
            .record(None)
            .system_event_fields()
            .unwrap();
        assert_eq!((e.sensor_type, e.data), (0x22, [0x05, 0xff, 0xff]));
    }
}
