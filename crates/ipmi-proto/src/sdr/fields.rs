//! What every record of [`crate::sdr`] shares: the header constants, the ID string, the code
//! tables (record types, sensor types, reading types, units, entities) and the thresholds.

/// The SDR version of IPMI 1.5 and 2.0 records and repositories (51h).
pub const SDR_VERSION: u8 = 0x51;
/// The length of a record header.
pub const HEADER_LEN: usize = 5;
/// The longest ID string a record carries.
pub const MAX_ID_LEN: usize = 16;

/// Record type codes (table 43-0 of section 43).
pub mod record_type {
    /// Full sensor record.
    pub const FULL_SENSOR: u8 = 0x01;
    /// Compact sensor record.
    pub const COMPACT_SENSOR: u8 = 0x02;
    /// Event-only sensor record.
    pub const EVENT_ONLY_SENSOR: u8 = 0x03;
    /// FRU device locator record.
    pub const FRU_LOCATOR: u8 = 0x11;
    /// Management controller device locator record.
    pub const MC_LOCATOR: u8 = 0x12;
}

/// Sensor type codes (table 42-3).
pub mod sensor_type {
    /// Temperature.
    pub const TEMPERATURE: u8 = 0x01;
    /// Voltage.
    pub const VOLTAGE: u8 = 0x02;
    /// Current.
    pub const CURRENT: u8 = 0x03;
    /// Fan.
    pub const FAN: u8 = 0x04;
    /// Physical security (chassis intrusion).
    pub const PHYSICAL_SECURITY: u8 = 0x05;
    /// Power supply.
    pub const POWER_SUPPLY: u8 = 0x08;
    /// Power unit.
    pub const POWER_UNIT: u8 = 0x09;
    /// Other units-based sensor (watts, for instance).
    pub const OTHER_UNITS: u8 = 0x0b;
    /// System ACPI power state.
    pub const SYSTEM_ACPI_POWER_STATE: u8 = 0x22;
    /// The first OEM sensor type.
    pub const OEM: u8 = 0xc0;
}

/// Event/reading type codes (table 42-1).
pub mod reading_type {
    /// Threshold-based.
    pub const THRESHOLD: u8 = 0x01;
    /// Generic "availability status" (transition to running, in test, power off, ...).
    pub const AVAILABILITY: u8 = 0x0a;
    /// Sensor-specific: the offsets of the sensor type (table 42-3).
    pub const SENSOR_SPECIFIC: u8 = 0x6f;
}

/// Sensor unit type codes (table 43-15).
pub mod unit {
    /// Unspecified (discrete sensors).
    pub const UNSPECIFIED: u8 = 0;
    /// Degrees Celsius.
    pub const DEGREES_C: u8 = 1;
    /// Volts.
    pub const VOLTS: u8 = 4;
    /// Amperes.
    pub const AMPS: u8 = 5;
    /// Watts.
    pub const WATTS: u8 = 6;
    /// Revolutions per minute.
    pub const RPM: u8 = 18;
}

/// Entity ID codes (table 43-13).
pub mod entity {
    /// Processor.
    pub const PROCESSOR: u8 = 0x03;
    /// System management module (the BMC itself).
    pub const MANAGEMENT_MODULE: u8 = 0x06;
    /// System board.
    pub const SYSTEM_BOARD: u8 = 0x07;
    /// Power supply.
    pub const POWER_SUPPLY: u8 = 0x0a;
    /// Power unit / power domain.
    pub const POWER_UNIT: u8 = 0x13;
    /// Front panel board (buttons).
    pub const FRONT_PANEL: u8 = 0x0c;
    /// System chassis.
    pub const CHASSIS: u8 = 0x17;
    /// Fan / cooling device.
    pub const FAN: u8 = 0x1d;
    /// Air inlet.
    pub const AIR_INLET: u8 = 0x37;
}

/// The threshold values of a sensor in the order of Get Sensor Thresholds (section 35.9): lower
/// non-critical, lower critical, lower non-recoverable, upper non-critical, upper critical,
/// upper non-recoverable; bit `i` of `readable` says that `raw[i]` is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Thresholds {
    /// Which thresholds are given (bit 0 lower non-critical ... bit 5 upper non-recoverable).
    pub readable: u8,
    /// The raw threshold values, by the index constants of this type.
    pub raw: [u8; 6],
}

impl Thresholds {
    /// Index of the lower non-critical threshold.
    pub const LNC: usize = 0;
    /// Index of the lower critical threshold.
    pub const LC: usize = 1;
    /// Index of the lower non-recoverable threshold.
    pub const LNR: usize = 2;
    /// Index of the upper non-critical threshold.
    pub const UNC: usize = 3;
    /// Index of the upper critical threshold.
    pub const UC: usize = 4;
    /// Index of the upper non-recoverable threshold.
    pub const UNR: usize = 5;

    /// The threshold at `index`, if given.
    pub fn get(&self, index: usize) -> Option<u8> {
        (self.readable & (1 << index) != 0).then(|| self.raw[index])
    }

    /// The comparison status of a raw reading (Get Sensor Reading byte 3): bit `i` set when the
    /// reading is at or below a given lower threshold `i`, or at or above a given upper one.
    pub fn status(&self, raw: u8) -> u8 {
        (0..6)
            .filter(|&i| match self.get(i) {
                Some(t) if i < Self::UNC => raw <= t,
                Some(t) => raw >= t,
                None => false,
            })
            .fold(0, |acc, i| acc | (1 << i))
    }

    /// The assertion, deassertion and reading masks of a full record for these thresholds
    /// (bytes 15-20): the "going low" events of the lower thresholds and the "going high" ones
    /// of the upper, the threshold comparisons returned, and the readable (none settable).
    pub fn record_masks(&self) -> [u16; 3] {
        let r = u16::from(self.readable);
        let lower = r & 0x07;
        let upper = (r >> 3) & 0x07;
        // Event bits: 2n is "going low" of threshold n, 2n+1 "going high" (table 42-2).
        let spread = |bits: u16, going_high: bool, first: u16| {
            (0..3)
                .filter(|n| bits & (1 << n) != 0)
                .fold(0u16, |acc, n| {
                    acc | 1 << (2 * (n + first) + u16::from(going_high))
                })
        };
        let events = spread(lower, false, 0) | spread(upper, true, 3);
        [events | (lower << 12), events | (upper << 12), r & 0x3f]
    }
}

/// Encodes an ID string as its type/length byte (8-bit ASCII + Latin 1) and bytes: at most 16
/// bytes, characters outside ASCII replaced by `?`.
pub(crate) fn emit_id(name: &str, out: &mut Vec<u8>) {
    let bytes: Vec<u8> = name
        .chars()
        .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
        .take(MAX_ID_LEN)
        .collect();
    out.push(0xc0 | bytes.len() as u8);
    out.extend_from_slice(&bytes);
}

/// Decodes an ID string from its type/length byte onwards as [`emit_id`] writes one: its first
/// 16 bytes (the most a record carries; the length field could say 31), bytes outside ASCII as
/// `?`. So a record parsed and emitted again says the same, and a name never turns into bytes
/// that are not ASCII on the way (some consoles take ID strings as UTF-8).
pub(crate) fn parse_id(d: &[u8]) -> Result<String, crate::types::ParseError> {
    let (&code, rest) = d.split_first().ok_or(crate::types::ParseError::Length)?;
    let len = usize::from(code & 0x1f);
    let bytes = rest.get(..len).ok_or(crate::types::ParseError::Length)?;
    Ok(bytes
        .iter()
        .take(MAX_ID_LEN)
        .map(|&b| if b.is_ascii() { char::from(b) } else { '?' })
        .collect())
}
