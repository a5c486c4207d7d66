//! The SDR repository of one BMC, built from the sensors its backend reports: a full record
//! for each threshold sensor (with its conversion factors, unit, thresholds and hysteresis), a
//! compact record for each discrete sensor, then a FRU device locator (FRU 0), the BMC's own
//! management controller locator, and an event-only record for each sensor the SEL's own
//! records name ([`crate::events::EVENT_SENSORS`]).
//!
//! The repository changes only when the set of sensors does (a sensor added or gone, other
//! thresholds), not when readings do; then its addition timestamp moves (and the erase
//! timestamp when a sensor went away), which tells clients that cache SDRs (FreeIPMI) to read
//! them again, and the reservations are cancelled. A sensor keeps its number and conversion
//! factors for the life of the BMC, so a raw reading means the same across rebuilds.
//!
//! The records are encoded when first asked for, not when the BMC starts: a BMC whose SDRs
//! nobody reads holds none (some 1 KiB each, thousands of BMCs in one process).

use super::kinds::{describe, Description};
use crate::events::EVENT_SENSORS;
use crate::{SensorKind, SensorReading};
use ipmi_proto::cmd::storage::{SdrRepositoryInfo, LAST_RECORD, SENSOR_SPECIFIC};
use ipmi_proto::sdr::{
    entity, CompactSensorRecord, EventOnlyRecord, FruLocatorRecord, FullSensorRecord, Linear,
    McLocatorRecord, Record, SensorCommon, Thresholds, MAX_ID_LEN, SDR_VERSION,
};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The BMC's slave address on IPMB, the owner of every sensor.
pub(crate) const BMC_ADDRESS: u8 = 0x20;
/// What the BMC is (Get Device ID's additional device support, the MC locator's capabilities):
/// chassis device, FRU inventory device, SEL device, SDR repository device, sensor device.
pub(crate) const DEVICE_SUPPORT: u8 = 0x80 | 0x08 | 0x04 | 0x02 | 0x01;
/// Sensor numbers are 1..=254 (FFh is reserved).
const MAX_SENSORS: usize = 254;

/// A sensor of the repository.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SensorDef {
    /// Its number.
    pub number: u8,
    /// The name the backend gives it (the record carries it shortened to 16 bytes).
    pub source: String,
    /// What it measures.
    pub kind: SensorKind,
    /// Threshold sensors: the conversion between raw readings and values.
    pub linear: Option<Linear>,
    /// Threshold sensors: the raw thresholds given.
    pub thresholds: Thresholds,
    /// Positive- and negative-going hysteresis (raw).
    pub hysteresis: [u8; 2],
    /// The events the sensor can assert (threshold events, or discrete states).
    pub event_mask: u16,
}

/// Which reservation: the SDR repository's (Storage) or the device SDRs' (Sensor/Event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reserver {
    /// Reserve SDR Repository.
    Repository = 0,
    /// Reserve Device SDR Repository.
    Device = 1,
}

/// The repository.
pub(crate) struct Repository {
    /// The records of [`Repository::sensors`], record ID `i + 1` at index `i`, once encoded
    /// (see [`Repository::records`]).
    records: OnceLock<Vec<Vec<u8>>>,
    sensors: Vec<SensorDef>,
    addition: u32,
    erase: u32,
    /// Numbers and factors given so far, by the backend's name and kind.
    numbers: HashMap<(String, SensorKind), u8>,
    factors: HashMap<(String, SensorKind), Linear>,
    /// The last reservation ID handed out, and which one is valid now, per [`Reserver`].
    last_reservation: u16,
    valid: [Option<u16>; 2],
    mc_name: String,
}

impl Repository {
    /// An empty repository (the locator records only), created at `now` (seconds since 1970).
    pub fn new(mc_name: &str, now: u32) -> Repository {
        Repository {
            records: OnceLock::new(),
            sensors: Vec::new(),
            addition: now,
            erase: now,
            numbers: HashMap::new(),
            factors: HashMap::new(),
            last_reservation: 0,
            valid: [None; 2],
            mc_name: mc_name.to_string(),
        }
    }

    /// The records, encoded now if they were not yet.
    fn records(&self) -> &[Vec<u8>] {
        self.records.get_or_init(|| self.encode(&self.sensors))
    }

    /// Rebuilds the repository if the set of sensors differs from the one it describes;
    /// returns whether it changed.
    pub fn apply(&mut self, readings: &[SensorReading], now: u32) -> bool {
        let sensors = self.define(readings);
        let records = self.encode(&sensors);
        if records == self.records() {
            return false;
        }
        let gone = self
            .sensors
            .iter()
            .any(|old| !sensors.iter().any(|s| s.number == old.number));
        // Strictly later than before: two changes within a second must still differ.
        let stamp = now.max(self.addition.max(self.erase).wrapping_add(1));
        self.addition = stamp;
        if gone {
            self.erase = stamp;
        }
        self.records = OnceLock::from(records);
        self.sensors = sensors;
        self.valid = [None; 2];
        true
    }

    /// The sensors of `readings`, with their numbers, factors and raw thresholds.
    fn define(&mut self, readings: &[SensorReading]) -> Vec<SensorDef> {
        let mut sensors = Vec::new();
        for r in readings {
            let key = (r.name.clone(), r.kind);
            if sensors
                .iter()
                .any(|s: &SensorDef| s.source == r.name && s.kind == r.kind)
            {
                continue;
            }
            let number = match self.numbers.get(&key) {
                Some(&n) => n,
                None if self.numbers.len() < MAX_SENSORS => {
                    let n = self.numbers.len() as u8 + 1;
                    self.numbers.insert(key.clone(), n);
                    n
                }
                None => {
                    tracing::warn!(sensor = ?r.name, "more than {MAX_SENSORS} sensors: left out of the SDR repository");
                    continue;
                }
            };
            let def = match r.kind {
                SensorKind::Discrete(d) => SensorDef {
                    number,
                    source: r.name.clone(),
                    kind: r.kind,
                    linear: None,
                    thresholds: Thresholds::default(),
                    hysteresis: [0, 0],
                    event_mask: d.possible_states(),
                },
                _ => {
                    let linear = *self
                        .factors
                        .entry(key)
                        .or_insert_with(|| super::kinds::factors(r));
                    let mut thresholds = Thresholds::default();
                    for (i, limit) in r.thresholds.in_wire_order().into_iter().enumerate() {
                        if let Some(v) = limit {
                            thresholds.readable |= 1 << i;
                            thresholds.raw[i] = linear.raw(v);
                        }
                    }
                    let h = linear.steps(r.thresholds.hysteresis);
                    SensorDef {
                        number,
                        source: r.name.clone(),
                        kind: r.kind,
                        linear: Some(linear),
                        thresholds,
                        hysteresis: [h, h],
                        event_mask: thresholds.record_masks()[0] & 0x0fff,
                    }
                }
            };
            sensors.push(def);
        }
        sensors
    }

    /// The records for `sensors`, then the FRU and MC locators, then the event-only records of
    /// the sensors the SEL's records name.
    fn encode(&self, sensors: &[SensorDef]) -> Vec<Vec<u8>> {
        let mut names = unique_names(
            sensors
                .iter()
                .map(|s| s.source.as_str())
                .chain(EVENT_SENSORS.iter().map(|e| e.name)),
        );
        let event_names = names.split_off(sensors.len());
        let mut instances: HashMap<u8, u8> = HashMap::new();
        let mut records: Vec<Record> = sensors
            .iter()
            .zip(names)
            .map(|(s, name)| {
                let d: Description = describe(s.kind, &s.source);
                let instance = instances.entry(d.entity).or_insert(0);
                *instance += 1;
                sensor_record(s, &d, *instance, name)
            })
            .collect();
        records.push(Record::FruLocator(FruLocatorRecord {
            access_address: BMC_ADDRESS,
            fru_id: 0,
            // Logical FRU device, LUN 0, no private bus.
            access: 0x80,
            channel: 0,
            // IPMI FRU inventory.
            device_type: [0x10, 0],
            entity: [entity::SYSTEM_BOARD, 1],
            oem: 0,
            name: "Builtin FRU".into(),
        }));
        records.push(Record::McLocator(McLocatorRecord {
            slave_address: BMC_ADDRESS,
            channel: 0,
            power_state: 0,
            capabilities: DEVICE_SUPPORT,
            entity: [entity::MANAGEMENT_MODULE, 1],
            oem: 0,
            name: self.mc_name.clone(),
        }));
        for (e, name) in EVENT_SENSORS.iter().zip(event_names) {
            records.push(Record::EventOnly(EventOnlyRecord {
                owner_id: BMC_ADDRESS,
                owner_lun: 0,
                number: e.number,
                // The one board, chassis or management controller there is.
                entity: [e.entity, 1],
                sensor_type: e.sensor_type,
                reading_type: SENSOR_SPECIFIC,
                sharing: [0, 0],
                oem: 0,
                name,
            }));
        }
        records
            .iter()
            .enumerate()
            .map(|(i, r)| r.to_bytes(i as u16 + 1))
            .collect()
    }

    /// Get SDR Repository Info: a read-only repository (no free space, no writes), supporting
    /// reservations and the allocation info command.
    pub fn info(&self) -> SdrRepositoryInfo {
        SdrRepositoryInfo {
            version: SDR_VERSION,
            record_count: self.records().len() as u16,
            free_space: 0,
            addition_timestamp: self.addition,
            erase_timestamp: self.erase,
            operations: 0x03,
        }
    }

    /// The addition timestamp (the device SDRs' sensor population change indicator).
    pub fn changed_at(&self) -> u32 {
        self.addition
    }

    /// The number of records, and the length of the longest.
    pub fn sizes(&self) -> (usize, usize) {
        let records = self.records();
        let longest = records.iter().map(Vec::len).max().unwrap_or(0);
        (records.len(), longest)
    }

    /// The record `id` (0000h: the first, FFFFh: the last) and the ID of the next one.
    pub fn record(&self, id: u16) -> Option<(&[u8], u16)> {
        let records = self.records();
        let index = match id {
            0 => 0,
            LAST_RECORD => records.len().checked_sub(1)?,
            n => usize::from(n) - 1,
        };
        let record = records.get(index)?;
        let next = if index + 1 < records.len() {
            index as u16 + 2
        } else {
            LAST_RECORD
        };
        Some((record, next))
    }

    /// A new reservation, which cancels the previous one of the same kind.
    pub fn reserve(&mut self, who: Reserver) -> u16 {
        self.last_reservation = self.last_reservation.wrapping_add(1).max(1);
        self.valid[who as usize] = Some(self.last_reservation);
        self.last_reservation
    }

    /// Whether `id` is the valid reservation of its kind.
    pub fn reserved(&self, who: Reserver, id: u16) -> bool {
        self.valid[who as usize] == Some(id)
    }

    /// The sensor with this number.
    pub fn sensor(&self, number: u8) -> Option<&SensorDef> {
        self.sensors.iter().find(|s| s.number == number)
    }

    /// The sensors, in record order.
    pub fn sensors(&self) -> &[SensorDef] {
        &self.sensors
    }
}

/// The record of one sensor.
fn sensor_record(s: &SensorDef, d: &Description, instance: u8, name: String) -> Record {
    let thresholds = s.thresholds.readable != 0;
    let common = SensorCommon {
        owner_id: BMC_ADDRESS,
        owner_lun: 0,
        number: s.number,
        entity_id: d.entity,
        entity_instance: instance & 0x7f,
        // Scanning (bit 6), thresholds and hysteresis (4, 3) initialized; scanning enabled (0).
        init: 0x41 | if thresholds { 0x18 } else { 0 },
        // Auto re-arm; hysteresis and thresholds readable when given; no event messages (the
        // BMC generates none for its sensors).
        capabilities: 0x43 | if thresholds { 0x14 } else { 0 },
        sensor_type: d.sensor_type,
        reading_type: d.reading_type,
        assertion_mask: 0,
        deassertion_mask: 0,
        reading_mask: 0,
        units: [0, d.unit, 0],
    };
    match s.linear {
        None => Record::Compact(CompactSensorRecord {
            common: SensorCommon {
                assertion_mask: s.event_mask,
                deassertion_mask: s.event_mask,
                reading_mask: s.event_mask,
                // No analog reading.
                units: [0xc0, 0, 0],
                ..common
            },
            sharing: [0, 0],
            hysteresis: [0, 0],
            oem: 0,
            name,
        }),
        Some(linear) => {
            let [assertion_mask, deassertion_mask, reading_mask] = s.thresholds.record_masks();
            Record::Full(FullSensorRecord {
                common: SensorCommon {
                    assertion_mask,
                    deassertion_mask,
                    reading_mask,
                    ..common
                },
                linearization: 0,
                factors: linear,
                analog_flags: 0,
                normal: [0; 3],
                range: [255, 0],
                thresholds: s.thresholds.raw,
                hysteresis: s.hysteresis,
                oem: 0,
                name,
            })
        }
    }
}

/// The names as records carry them: at most 16 bytes, and unique (a name that would repeat
/// another after shortening ends in `~2`, `~3`, ...).
fn unique_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let ascii: String = name
            .chars()
            .map(|c| if c.is_ascii() { c } else { '?' })
            .collect();
        let mut candidate: String = ascii.chars().take(MAX_ID_LEN).collect();
        let mut n = 2;
        while out.contains(&candidate) {
            let suffix = format!("~{n}");
            candidate = ascii
                .chars()
                .take(MAX_ID_LEN - suffix.len())
                .chain(suffix.chars())
                .collect();
            n += 1;
        }
        out.push(candidate);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DiscreteKind, SensorThresholds};

    fn set(extra: bool) -> Vec<SensorReading> {
        let mut v = vec![
            SensorReading::new("CPU Temp", SensorKind::Temperature, Some(45.0)).with_thresholds(
                SensorThresholds {
                    upper_critical: Some(90.0),
                    hysteresis: 2.0,
                    ..SensorThresholds::default()
                },
            ),
            SensorReading::discrete("PSU1 Status", DiscreteKind::PowerSupply, Some(1)),
        ];
        if extra {
            v.push(SensorReading::new("Fan 1", SensorKind::Fan, Some(3000.0)));
        }
        v
    }

    #[test]
    fn readings_do_not_change_it_the_sensor_set_does() {
        let mut r = Repository::new("bmc", 100);
        // The locators and the event-only records.
        assert_eq!(r.sizes().0, 2 + EVENT_SENSORS.len());
        assert!(r.apply(&set(false), 100));
        let first = r.info().addition_timestamp;
        assert_eq!(first, 101, "strictly later than the empty repository's");
        let mut again = set(false);
        again[0].value = Some(80.0);
        again[1].states = None;
        assert!(!r.apply(&again, 200));
        assert_eq!(r.info().addition_timestamp, first);
        let id = r.reserve(Reserver::Repository);
        assert!(r.reserved(Reserver::Repository, id));
        assert!(r.apply(&set(true), 300));
        assert_eq!(r.info().addition_timestamp, 300);
        assert_eq!(r.info().erase_timestamp, 100);
        assert!(!r.reserved(Reserver::Repository, id), "a change cancels it");
        // Fan 1 got the next number; the others kept theirs.
        let numbers: Vec<u8> = r.sensors().iter().map(|s| s.number).collect();
        assert_eq!(numbers, [1, 2, 3]);
        assert!(r.apply(&set(false), 300));
        assert_eq!(r.info().erase_timestamp, 301);
    }

    #[test]
    fn records_are_chained_and_names_unique() {
        let mut r = Repository::new("bmc", 1);
        r.apply(&set(true), 2);
        let (first, next) = r.record(0).unwrap();
        assert_eq!((first[3], next), (0x01, 2));
        // Three sensors, the FRU and MC locators, then the event-only records.
        assert_eq!(r.record(5).unwrap().0[3], 0x12);
        let (last, end) = r.record(LAST_RECORD).unwrap();
        assert_eq!((last[3], last[7], end), (0x03, 0xe9, LAST_RECORD));
        assert_eq!(r.sizes().0, 5 + EVENT_SENSORS.len());
        assert!(r.record(16).is_none());
        let names = unique_names(
            [
                "a very long sensor name 1",
                "a very long sensor name 2",
                "x",
            ]
            .into_iter(),
        );
        assert_eq!(names, ["a very long sens", "a very long se~2", "x"]);
        assert_eq!(
            r.sensor(1).unwrap().thresholds.get(Thresholds::UC),
            Some(90)
        );
        assert_eq!(r.sensor(1).unwrap().hysteresis, [2, 2]);
    }
}
