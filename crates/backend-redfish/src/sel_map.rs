//! A Redfish `LogEntry` as an IPMI SEL record (IPMI 2.0 section 32), as faithfully as the entry
//! allows.
//!
//! - **An entry of `EntryType` `SEL`** whose `SensorType` is one of the schema's (the names of
//!   IPMI table 42-3) is a **system event record** (type 02h): the timestamp from `Created`, the
//!   generator from `GeneratorId` (else the BMC, 20h), EvM revision 04h, the sensor type code of
//!   its `SensorType`, its `SensorNumber`, and the event type and direction of its `EntryCode`
//!   (the names of IPMI tables 42-1 and 42-2: a threshold crossing is event type 01h with its
//!   offset, a generic state 02h to 0Ch with its offset, `Assert`/`Deassert` sensor-specific
//!   6Fh in that direction, `OEM` 70h). The event data are the three bytes `MessageId` holds for
//!   a SEL entry (`0xAABBCC`, the schema's pattern), else the offset in event data 1 with
//!   bytes 2 and 3 unspecified (FFh); an `Assert` without them then shows offset 0.
//! - **Every other entry** (a Redfish event, an OEM record, a SEL entry whose sensor type is
//!   not the schema's) is an **OEM timestamped record** (type C0h, of the range C0h-DFh rather
//!   than the non-timestamped E0h-FFh, so that clients still print its date and the log stays
//!   in time order): manufacturer ID 412 (the DMTF's IANA number), then the `Severity` (00h OK,
//!   01h Warning, 02h Critical, FFh none) and the first five characters of the message's name
//!   (the last part of its `MessageId`).

use ipmi_proto::cmd::storage::{SelRecord, SystemEvent, SENSOR_SPECIFIC};
use serde_json::Value;

/// The record type of the OEM timestamped records made of entries that are no system events.
pub const OEM_TIMESTAMPED: u8 = 0xc0;
/// The DMTF's IANA enterprise number (412), least significant byte first.
const DMTF_IANA: [u8; 3] = [0x9c, 0x01, 0x00];
/// The generator when the entry names none: the BMC (slave address 20h, LUN 0).
const GENERATOR_BMC: [u8; 2] = [0x20, 0x00];
/// Event type 01h: threshold.
const THRESHOLD: u8 = 0x01;
/// Event type 70h: the first OEM event type.
const OEM_EVENT: u8 = 0x70;
/// Sensor type C0h: the first OEM sensor type.
const OEM_SENSOR: u8 = 0xc0;

/// The name with only its letters and digits, in lower case: services write `Power Unit`,
/// `PowerUnit` or `power unit` alike.
fn norm(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The sensor type code (IPMI table 42-3) of a `SensorType` of the LogEntry schema, with a few
/// spellings services use besides; `OEM` is C0h.
pub fn sensor_type_code(name: &str) -> Option<u8> {
    Some(match norm(name).as_str() {
        "temperature" => 0x01,
        "voltage" => 0x02,
        "current" => 0x03,
        "fan" => 0x04,
        "physicalchassissecurity" | "physicalsecurity" => 0x05,
        "platformsecurityviolationattempt" => 0x06,
        "processor" => 0x07,
        "powersupplyconverter" | "powersupply" => 0x08,
        "powerunit" => 0x09,
        "coolingdevice" => 0x0a,
        "otherunitsbasedsensor" => 0x0b,
        "memory" => 0x0c,
        "driveslotbay" | "driveslot" => 0x0d,
        "postmemoryresize" => 0x0e,
        "systemfirmwareprogress" => 0x0f,
        "eventloggingdisabled" => 0x10,
        "systemevent" => 0x12,
        "criticalinterrupt" => 0x13,
        "buttonswitch" => 0x14,
        "moduleboard" => 0x15,
        "microcontrollercoprocessor" => 0x16,
        "addincard" => 0x17,
        "chassis" => 0x18,
        "chipset" => 0x19,
        "otherfru" => 0x1a,
        "cableinterconnect" => 0x1b,
        "terminator" => 0x1c,
        "systembootrestart" | "systembootrestartinitiated" => 0x1d,
        "booterror" => 0x1e,
        "baseosbootinstallationstatus" => 0x1f,
        "osstopshutdown" => 0x20,
        "slotconnector" => 0x21,
        "systemacpipowerstate" => 0x22,
        // The schema has one Watchdog: IPMI 2.0's (23h), not IPMI 1.0's (11h).
        "watchdog" => 0x23,
        "platformalert" => 0x24,
        "entitypresence" => 0x25,
        "monitorasicic" => 0x26,
        "lan" => 0x27,
        "managementsubsystemhealth" => 0x28,
        "battery" => 0x29,
        "sessionaudit" => 0x2a,
        "versionchange" => 0x2b,
        "frustate" => 0x2c,
        "oem" => OEM_SENSOR,
        _ => return None,
    })
}

/// The generic event/reading types (IPMI table 42-2) by the `EntryCode` names of their offsets,
/// in offset order.
const GENERIC: &[(u8, &[&str])] = &[
    (
        THRESHOLD,
        &[
            "Lower Non-critical - going low",
            "Lower Non-critical - going high",
            "Lower Critical - going low",
            "Lower Critical - going high",
            "Lower Non-recoverable - going low",
            "Lower Non-recoverable - going high",
            "Upper Non-critical - going low",
            "Upper Non-critical - going high",
            "Upper Critical - going low",
            "Upper Critical - going high",
            "Upper Non-recoverable - going low",
            "Upper Non-recoverable - going high",
        ],
    ),
    (
        0x02,
        &[
            "Transition to Idle",
            "Transition to Active",
            "Transition to Busy",
        ],
    ),
    (0x03, &["State Deasserted", "State Asserted"]),
    (
        0x04,
        &[
            "Predictive Failure deasserted",
            "Predictive Failure asserted",
        ],
    ),
    (0x05, &["Limit Not Exceeded", "Limit Exceeded"]),
    (0x06, &["Performance Met", "Performance Lags"]),
    (
        0x07,
        &[
            "Transition to OK",
            "Transition to Non-Critical from OK",
            "Transition to Critical from less severe",
            "Transition to Non-recoverable from less severe",
            "Transition to Non-Critical from more severe",
            "Transition to Critical from Non-recoverable",
            "Transition to Non-recoverable",
            "Monitor",
            "Informational",
        ],
    ),
    (
        0x08,
        &[
            "Device Removed / Device Absent",
            "Device Inserted / Device Present",
        ],
    ),
    (0x09, &["Device Disabled", "Device Enabled"]),
    (
        0x0a,
        &[
            "Transition to Running",
            "Transition to In Test",
            "Transition to Power Off",
            "Transition to On Line",
            "Transition to Off Line",
            "Transition to Off Duty",
            "Transition to Degraded",
            "Transition to Power Save",
            "Install Error",
        ],
    ),
    (
        0x0b,
        &[
            "Fully Redundant",
            "Redundancy Lost",
            "Redundancy Degraded",
            "Non-redundant:Sufficient Resources from Redundant",
            "Non-redundant:Sufficient Resources from Insufficient Resources",
            "Non-redundant:Insufficient Resources",
            "Redundancy Degraded from Fully Redundant",
            "Redundancy Degraded from Non-redundant",
        ],
    ),
    (
        0x0c,
        &[
            "D0 Power State",
            "D1 Power State",
            "D2 Power State",
            "D3 Power State",
        ],
    ),
];

/// What an `EntryCode` says of the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    /// The event/reading type code.
    pub event_type: u8,
    /// The offset (event data 1, bits 3:0).
    pub offset: u8,
    /// A deassertion event.
    pub deasserted: bool,
}

/// The event type, offset and direction of an `EntryCode`; an unknown code is a sensor-specific
/// assertion of offset 0.
pub fn entry_code(name: Option<&str>) -> Code {
    let code = |event_type, offset, deasserted| Code {
        event_type,
        offset,
        deasserted,
    };
    let Some(name) = name.map(norm) else {
        return code(SENSOR_SPECIFIC, 0, false);
    };
    match name.as_str() {
        "assert" => return code(SENSOR_SPECIFIC, 0, false),
        "deassert" => return code(SENSOR_SPECIFIC, 0, true),
        "oem" => return code(OEM_EVENT, 0, false),
        _ => {}
    }
    for (event_type, names) in GENERIC {
        if let Some(i) = names.iter().position(|n| norm(n) == name) {
            return code(*event_type, i as u8, false);
        }
    }
    code(SENSOR_SPECIFIC, 0, false)
}

/// `0x` and `2 * n` hex digits as `n` bytes, in the order written.
fn hex_bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if h.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An ISO 8601 date and time as Redfish writes `Created` (`2024-05-01T10:20:30Z`, with
/// fractions of a second or an offset such as `+06:00`, or without seconds or zone, read as
/// UTC), in seconds since 1970 UTC clamped to the SEL's 32 bits.
pub fn parse_time(s: &str) -> Option<u32> {
    let s = s.trim();
    let num = |a: usize, b: usize| -> Option<i64> {
        let t = s.get(a..b)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if s.get(4..5)? != "-" || s.get(7..8)? != "-" || !matches!(s.get(10..11)?, "T" | "t" | " ") {
        return None;
    }
    let (h, mi) = (num(11, 13)?, num(14, 16)?);
    let mut rest = s.get(16..)?;
    let mut sec = 0;
    if let Some(r) = rest.strip_prefix(':') {
        sec = num(17, 19)?;
        rest = r.get(2..)?;
        if let Some(r) = rest.strip_prefix('.') {
            rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
        }
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        z => {
            let sign = match z.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let z = z[1..].replace(':', "");
            if z.len() != 4 || !z.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (zh, zm): (i64, i64) = (z[..2].parse().ok()?, z[2..].parse().ok()?);
            sign * (zh * 3600 + zm * 60)
        }
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let t = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    Some(t.clamp(0, i64::from(u32::MAX)) as u32)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?.as_str()
}

/// The entry's time: `Created`, else `EventTimestamp`; 0 (before the SEL's clock was set, as
/// clients print it) when it has neither in a form this reads.
pub fn time_of(entry: &Value) -> u32 {
    ["Created", "EventTimestamp"]
        .iter()
        .find_map(|k| text(entry, k).and_then(parse_time))
        .unwrap_or(0)
}

/// The SEL record (its record ID still 0) of a LogEntry.
pub fn record_of(entry: &Value) -> SelRecord {
    let time = time_of(entry);
    let sel = text(entry, "EntryType").is_some_and(|t| t.eq_ignore_ascii_case("SEL"));
    let sensor_type = text(entry, "SensorType").and_then(sensor_type_code);
    let mut record = match (sel, sensor_type) {
        (true, Some(sensor_type)) => system_event(entry, sensor_type),
        _ => oem_record(entry),
    };
    record.stamp(time);
    record
}

fn system_event(entry: &Value, sensor_type: u8) -> SelRecord {
    let code = entry_code(text(entry, "EntryCode"));
    let sensor_type = match (sensor_type, text(entry, "OemSensorType")) {
        (OEM_SENSOR, Some(oem)) => hex_bytes::<1>(oem).map_or(OEM_SENSOR, |[b]| b.max(OEM_SENSOR)),
        (t, _) => t,
    };
    let data = text(entry, "MessageId")
        .and_then(hex_bytes::<3>)
        .unwrap_or([code.offset, 0xff, 0xff]);
    SelRecord::system_event(&SystemEvent {
        generator: text(entry, "GeneratorId")
            .and_then(hex_bytes::<2>)
            .unwrap_or(GENERATOR_BMC),
        sensor_type,
        sensor_number: entry
            .get("SensorNumber")
            .and_then(Value::as_u64)
            .and_then(|n| u8::try_from(n).ok())
            .unwrap_or(0xff),
        deasserted: code.deasserted,
        event_type: code.event_type,
        data,
    })
}

fn oem_record(entry: &Value) -> SelRecord {
    let mut r = [0u8; 16];
    r[2] = OEM_TIMESTAMPED;
    r[7..10].copy_from_slice(&DMTF_IANA);
    r[10] = match text(entry, "Severity") {
        Some("OK") => 0x00,
        Some("Warning") => 0x01,
        Some("Critical") => 0x02,
        _ => 0xff,
    };
    let name = text(entry, "MessageId")
        .and_then(|m| m.rsplit('.').next())
        .unwrap_or_default();
    for (i, b) in name
        .bytes()
        .filter(u8::is_ascii_graphic)
        .take(5)
        .enumerate()
    {
        r[11 + i] = b;
    }
    SelRecord(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn created_times() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2024-05-01T10:20:30Z"), Some(1_714_558_830));
        assert_eq!(parse_time("2024-05-01T16:20:30+06:00"), Some(1_714_558_830));
        assert_eq!(
            parse_time("2024-05-01T10:20:30.123456-00:00"),
            Some(1_714_558_830)
        );
        // The DMTF emulator's entry: no seconds, no zone.
        assert_eq!(parse_time("2012-03-07T14:44"), Some(1_331_131_440));
        assert_eq!(parse_time("2000-02-29 00:00:00"), Some(951_782_400));
        assert_eq!(parse_time("1969-12-31T23:59:59Z"), Some(0));
        for bad in [
            "",
            "2024-05-01",
            "2024-13-01T00:00:00Z",
            "2024-05-01T10:20:30+6",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn sensor_types_and_entry_codes() {
        assert_eq!(sensor_type_code("Temperature"), Some(0x01));
        assert_eq!(sensor_type_code("PowerUnit"), Some(0x09));
        assert_eq!(sensor_type_code("Power Unit"), Some(0x09));
        assert_eq!(sensor_type_code("SystemBoot/Restart"), Some(0x1d));
        assert_eq!(sensor_type_code("System ACPI PowerState"), Some(0x22));
        assert_eq!(sensor_type_code("Watchdog"), Some(0x23));
        assert_eq!(sensor_type_code("FRUState"), Some(0x2c));
        assert_eq!(sensor_type_code("Humidity"), None);
        let c = entry_code(Some("Upper Critical - going high"));
        assert_eq!((c.event_type, c.offset, c.deasserted), (0x01, 0x09, false));
        let c = entry_code(Some("Device Removed / Device Absent"));
        assert_eq!((c.event_type, c.offset), (0x08, 0));
        let c = entry_code(Some("Non-redundant:Insufficient Resources"));
        assert_eq!((c.event_type, c.offset), (0x0b, 5));
        assert_eq!(entry_code(Some("D3 Power State")).offset, 3);
        assert!(entry_code(Some("Deassert")).deasserted);
        assert_eq!(entry_code(Some("OEM")).event_type, 0x70);
        assert_eq!(entry_code(None).event_type, 0x6f);
        // Every generic name is found at its own offset.
        for (t, names) in GENERIC {
            for (i, n) in names.iter().enumerate() {
                assert_eq!(
                    entry_code(Some(n)),
                    Code {
                        event_type: *t,
                        offset: i as u8,
                        deasserted: false
                    }
                );
            }
        }
    }

    #[test]
    fn a_sel_entry_is_a_system_event() {
        let e = json!({
            "Id": "1", "EntryType": "SEL", "Severity": "Critical",
            "Created": "2024-05-01T10:20:30Z", "EntryCode": "Upper Critical - going high",
            "SensorType": "Temperature", "SensorNumber": 49, "GeneratorId": "0x2000",
            "Message": "CPU1 Temp above critical", "MessageId": "0x595c5a"
        });
        let r = record_of(&e);
        assert_eq!(r.timestamp(), Some(1_714_558_830));
        let f = r.system_event_fields().unwrap();
        assert_eq!(f.generator, [0x20, 0x00]);
        assert_eq!((f.sensor_type, f.sensor_number), (0x01, 49));
        assert_eq!((f.event_type, f.deasserted), (0x01, false));
        assert_eq!(f.data, [0x59, 0x5c, 0x5a]);
        // Without event data in MessageId (the DMTF emulator's entry): the offset alone.
        let e = json!({
            "EntryType": "SEL", "Created": "2012-03-07T14:44", "EntryCode": "Deassert",
            "SensorType": "Power Supply / Converter", "SensorNumber": 1,
            "MessageId": "Event.1.0.TempWayTooHot"
        });
        let f = record_of(&e).system_event_fields().unwrap();
        assert_eq!(
            (f.sensor_type, f.event_type, f.deasserted),
            (0x08, 0x6f, true)
        );
        assert_eq!(f.data, [0x00, 0xff, 0xff]);
        assert_eq!(f.generator, [0x20, 0x00]);
        let e = json!({"EntryType": "SEL", "EntryCode": "Device Inserted / Device Present",
                       "SensorType": "Drive Slot/Bay"});
        let r = record_of(&e);
        assert_eq!(r.timestamp(), Some(0));
        let f = r.system_event_fields().unwrap();
        assert_eq!(
            (f.sensor_type, f.sensor_number, f.event_type),
            (0x0d, 0xff, 0x08)
        );
        assert_eq!(f.data, [0x01, 0xff, 0xff]);
    }

    #[test]
    fn other_entries_are_oem_timestamped_records() {
        let e = json!({
            "EntryType": "Event", "Severity": "Warning", "Created": "2024-05-01T10:20:30Z",
            "MessageId": "OpenBMC.0.1.PowerButtonPressed", "Message": "The power button was pressed."
        });
        let r = record_of(&e);
        assert_eq!(r.record_type(), 0xc0);
        assert_eq!(r.timestamp(), Some(1_714_558_830));
        assert_eq!(
            r.0[7..16],
            [0x9c, 0x01, 0x00, 0x01, b'P', b'o', b'w', b'e', b'r']
        );
        // A SEL entry of a sensor type IPMI does not have.
        let e = json!({"EntryType": "SEL", "SensorType": "Humidity", "MessageId": "X"});
        let r = record_of(&e);
        assert_eq!(r.record_type(), 0xc0);
        assert_eq!(r.0[10..16], [0xff, b'X', 0, 0, 0, 0]);
    }
}
