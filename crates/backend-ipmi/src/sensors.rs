//! The BMC behind's analog sensors as readings ([`ipmi_bmc::Backend::sensors`]), for what this
//! BMC computes from them itself: the DCMI power statistics (a BMC behind without DCMI gets
//! them too), and the SDR repository when the relay list leaves the SDR and sensor commands
//! out (then clients read the sensors mapped, through the model, rather than relayed whole).
//!
//! The SDR repository behind is read once, record by record (each in parts of 16 bytes under a
//! reservation), and again when its addition or erase timestamp moves. The walk keeps its
//! progress between fetches, so a large repository on a slow BMC is read over several fetches
//! rather than never within one. Each full record of a linear sensor owned by the BMC (LUN 0)
//! in degrees C, volts, amperes, watts or RPM is then read with Get Sensor Reading; a reading
//! the BMC marks unavailable (or refuses) is `None`, never a number.

use crate::IpmiBackend;
use ipmi_bmc::{BackendError, BackendResult, SensorKind, SensorReading, SensorThresholds};
use ipmi_proto::sdr::{FullSensorRecord, Record, Thresholds, HEADER_LEN};
use ipmi_proto::types::{CompletionCode, NetFn};

const GET_SDR_REPOSITORY_INFO: u8 = 0x20;
const RESERVE_SDR_REPOSITORY: u8 = 0x22;
const GET_SDR: u8 = 0x23;
const GET_SENSOR_READING: u8 = 0x2d;
/// The BMC's slave address, the owner of the sensors read.
const BMC_ADDRESS: u8 = 0x20;
/// The part of a record read at once (what every BMC can return in one answer).
const PART: usize = 16;
/// A repository with more records than this is taken for a loop of next-record IDs.
const MAX_RECORDS: usize = 4096;
/// Get Sensor Reading byte 2: reading unavailable, and scanning enabled.
const READING_UNAVAILABLE: u8 = 0x20;
const SCANNING_ENABLED: u8 = 0x40;

/// The SDR repository behind as read so far.
#[derive(Default)]
pub(crate) struct SdrWalk {
    /// Its addition and erase timestamps when the walk began.
    stamp: Option<[u8; 8]>,
    /// The reservation for partial reads, once obtained.
    reservation: Option<[u8; 2]>,
    /// The next record to read (0: the first), or `None` once the last is read.
    next: Option<u16>,
    /// The sensors found so far.
    sensors: Vec<FullSensorRecord>,
    records: usize,
}

impl IpmiBackend {
    /// The readings of the BMC behind's analog sensors.
    pub(crate) async fn mapped_sensors(&self) -> BackendResult<Vec<SensorReading>> {
        let sensors = self.walk_sdr().await?;
        let mut readings = Vec::with_capacity(sensors.len());
        for r in &sensors {
            let Some(kind) = kind_of(r) else { continue };
            let reply = self
                .call(NetFn::SENSOR_EVENT, GET_SENSOR_READING, &[r.common.number])
                .await?;
            let value = match reply.data[..] {
                [raw, flags, ..]
                    if reply.ccode == CompletionCode::OK
                        && flags & READING_UNAVAILABLE == 0
                        && flags & SCANNING_ENABLED != 0 =>
                {
                    Some(value(r, raw))
                }
                _ => None,
            };
            readings.push(
                SensorReading::new(r.name.clone(), kind, value).with_thresholds(thresholds(r)),
            );
        }
        Ok(readings)
    }

    /// The full records of the repository behind, read (or read on) as far as needed.
    async fn walk_sdr(&self) -> BackendResult<Vec<FullSensorRecord>> {
        let info = self
            .call_ok(NetFn::STORAGE, GET_SDR_REPOSITORY_INFO, &[])
            .await?;
        let stamp: [u8; 8] = info
            .get(5..13)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| BackendError::Failed("short SDR repository info".into()))?;
        let mut walk = self.sdr.lock().await;
        if walk.stamp != Some(stamp) {
            *walk = SdrWalk {
                stamp: Some(stamp),
                next: Some(0),
                ..SdrWalk::default()
            };
        }
        // Progress is kept record by record: a fetch cut off by its time limit goes on from
        // there next time.
        while let Some(id) = walk.next {
            if walk.records >= MAX_RECORDS {
                return Err(BackendError::Failed(
                    "the SDR repository behind does not end".into(),
                ));
            }
            let (bytes, next) = self.read_record(&mut walk.reservation, id).await?;
            if let Ok((_, Record::Full(r))) = Record::parse(&bytes) {
                walk.sensors.push(r);
            }
            walk.records += 1;
            walk.next = (next != 0xffff).then_some(next);
        }
        Ok(walk.sensors.clone())
    }

    /// Record `id` whole, and the ID of the next one; a cancelled reservation is renewed.
    async fn read_record(
        &self,
        reservation: &mut Option<[u8; 2]>,
        id: u16,
    ) -> BackendResult<(Vec<u8>, u16)> {
        for _ in 0..3 {
            let res = match *reservation {
                Some(r) => r,
                None => {
                    let d = self
                        .call_ok(NetFn::STORAGE, RESERVE_SDR_REPOSITORY, &[])
                        .await?;
                    let r = [*d.first().unwrap_or(&0), *d.get(1).unwrap_or(&0)];
                    *reservation = Some(r);
                    r
                }
            };
            match self.read_parts(res, id).await {
                Err(BackendError::Completion(CompletionCode::INVALID_RESERVATION)) => {
                    *reservation = None;
                }
                other => return other,
            }
        }
        Err(BackendError::Failed(format!(
            "SDR record {id} behind: the reservation keeps being cancelled"
        )))
    }

    async fn read_parts(&self, res: [u8; 2], id: u16) -> BackendResult<(Vec<u8>, u16)> {
        let [lo, hi] = id.to_le_bytes();
        let mut bytes = Vec::new();
        let mut next = 0xffff;
        let mut len = HEADER_LEN;
        while bytes.len() < len {
            let count = (len - bytes.len()).min(PART) as u8;
            let offset = u8::try_from(bytes.len())
                .map_err(|_| BackendError::Failed(format!("SDR record {id} too long")))?;
            let d = self
                .call_ok(
                    NetFn::STORAGE,
                    GET_SDR,
                    &[res[0], res[1], lo, hi, offset, count],
                )
                .await?;
            if d.len() < 3 {
                return Err(BackendError::Failed(format!("empty SDR record {id}")));
            }
            next = u16::from_le_bytes([d[0], d[1]]);
            bytes.extend_from_slice(&d[2..]);
            if bytes.len() >= HEADER_LEN {
                len = HEADER_LEN + usize::from(bytes[4]);
            }
        }
        bytes.truncate(len);
        Ok((bytes, next))
    }
}

/// What a record's sensor measures, if it is one this backend reads: linear, owned by the BMC
/// on LUN 0, in a plain unit (no rate, modifier unit or percentage).
fn kind_of(r: &FullSensorRecord) -> Option<SensorKind> {
    let c = &r.common;
    let plain = c.units[0] & 0x3f == 0 && c.units[0] >> 6 != 3;
    if c.owner_id != BMC_ADDRESS || c.owner_lun & 0x03 != 0 || r.linearization & 0x7f != 0 || !plain
    {
        return None;
    }
    Some(match c.units[1] {
        1 => SensorKind::Temperature,
        4 => SensorKind::Voltage,
        5 => SensorKind::Current,
        6 => SensorKind::Power,
        18 => SensorKind::Fan,
        _ => return None,
    })
}

/// The value of a raw reading (or threshold), by the record's analog data format (unsigned,
/// one's or two's complement) and factors (IPMI 2.0 section 36.3).
fn value(r: &FullSensorRecord, raw: u8) -> f64 {
    let x = match r.common.units[0] >> 6 {
        1 if raw & 0x80 != 0 => -f64::from(!raw),
        2 => f64::from(raw as i8),
        _ => f64::from(raw),
    };
    let f = &r.factors;
    (f64::from(f.m) * x + f64::from(f.b) * 10f64.powi(f.b_exp.into())) * 10f64.powi(f.r_exp.into())
}

/// The thresholds the record gives, in its unit, and its positive-going hysteresis.
fn thresholds(r: &FullSensorRecord) -> SensorThresholds {
    let t = r.given_thresholds();
    let at = |i| t.get(i).map(|raw| value(r, raw));
    let step = (f64::from(r.factors.m) * 10f64.powi(r.factors.r_exp.into())).abs();
    SensorThresholds {
        lower_non_critical: at(Thresholds::LNC),
        lower_critical: at(Thresholds::LC),
        lower_non_recoverable: at(Thresholds::LNR),
        upper_non_critical: at(Thresholds::UNC),
        upper_critical: at(Thresholds::UC),
        upper_non_recoverable: at(Thresholds::UNR),
        hysteresis: f64::from(r.hysteresis[0]) * step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipmi_proto::sdr::{Linear, SensorCommon};

    fn record(units0: u8, unit: u8, m: i16, r_exp: i8) -> FullSensorRecord {
        FullSensorRecord {
            common: SensorCommon {
                owner_id: 0x20,
                number: 3,
                reading_mask: 0x10,
                units: [units0, unit, 0],
                ..SensorCommon::default()
            },
            linearization: 0,
            factors: Linear {
                m,
                b: 0,
                b_exp: 0,
                r_exp,
            },
            analog_flags: 0,
            normal: [0; 3],
            range: [255, 0],
            thresholds: [0, 0, 0, 0, 132, 0],
            hysteresis: [2, 2],
            oem: 0,
            name: "12V".into(),
        }
    }

    #[test]
    fn factors_formats_and_units() {
        let volts = record(0, 4, 1, -1);
        assert_eq!(kind_of(&volts), Some(SensorKind::Voltage));
        assert!((value(&volts, 121) - 12.1).abs() < 1e-9);
        let t = thresholds(&volts);
        assert!((t.upper_critical.unwrap() - 13.2).abs() < 1e-9);
        assert_eq!(t.upper_non_critical, None);
        assert!((t.hysteresis - 0.2).abs() < 1e-9);
        // Two's and one's complement readings.
        assert_eq!(value(&record(0x80, 1, 1, 0), 0xf6), -10.0);
        assert_eq!(value(&record(0x40, 1, 1, 0), 0xf5), -10.0);
        // Not read: no analog reading, a rate, another owner, an unknown unit.
        assert_eq!(kind_of(&record(0xc0, 4, 1, 0)), None);
        assert_eq!(kind_of(&record(0x08, 4, 1, 0)), None);
        assert_eq!(kind_of(&record(0, 21, 1, 0)), None);
        let mut other = record(0, 6, 1, 0);
        other.common.owner_id = 0x82;
        assert_eq!(kind_of(&other), None);
    }
}
