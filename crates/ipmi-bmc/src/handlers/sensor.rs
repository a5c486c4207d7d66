//! Sensor/Event commands on the sensors of the SDR repository: readings (with the
//! reading-unavailable bit when the source has none), thresholds, hysteresis, event enables and
//! status, reading factors.

use crate::dispatch::{ok, Outcome};
use crate::sensors::{reading_of, SensorDef, Snapshot};
use crate::{Bmc, SensorKind};
use ipmi_proto::cmd::sensor::{
    EventEnable, EventStatus, Hysteresis, HysteresisRequest, ReadingFactors, ReadingFactorsRequest,
    SensorReadingResponse, READING_UNAVAILABLE, SCANNING_ENABLED,
};
use ipmi_proto::types::CompletionCode;
use std::sync::Arc;

/// What a sensor reads now: a raw value with its threshold comparison status, or the states of
/// a discrete sensor; `None` when unavailable.
struct Present {
    raw: u8,
    states: u16,
}

impl Bmc {
    /// The readings now, applied to the repository.
    pub(crate) async fn sensor_snapshot(&self) -> Arc<Snapshot> {
        self.sensors
            .current(&self.settings.name, self.backend.as_ref())
            .await
    }

    /// Sensor `number` of the repository, and the snapshot of its reading.
    async fn sensor(&self, number: u8) -> Result<(SensorDef, Arc<Snapshot>), CompletionCode> {
        let snapshot = self.sensor_snapshot().await;
        let def = self
            .sensors
            .state(&self.settings.name)
            .repository
            .sensor(number)
            .cloned()
            .ok_or(CompletionCode::NOT_PRESENT)?;
        Ok((def, snapshot))
    }

    /// Sensor `number`, which must be a threshold sensor.
    async fn threshold_sensor(&self, number: u8) -> Result<SensorDef, CompletionCode> {
        let (def, _) = self.sensor(number).await?;
        if def.linear.is_none() {
            return Err(CompletionCode::ILLEGAL_FOR_TYPE);
        }
        Ok(def)
    }

    pub(crate) async fn sensor_reading(&self, number: u8) -> Outcome {
        let (def, snapshot) = self.sensor(number).await?;
        ok(match present(&def, &snapshot) {
            Some(p) => SensorReadingResponse {
                raw: p.raw,
                flags: SCANNING_ENABLED,
                states: Some(p.states),
            },
            None => SensorReadingResponse {
                raw: 0,
                flags: SCANNING_ENABLED | READING_UNAVAILABLE,
                states: Some(0),
            },
        })
    }

    pub(crate) async fn sensor_thresholds(&self, number: u8) -> Outcome {
        ok(self.threshold_sensor(number).await?.thresholds)
    }

    pub(crate) async fn sensor_hysteresis(&self, r: HysteresisRequest) -> Outcome {
        let def = self.threshold_sensor(r.sensor).await?;
        ok(Hysteresis {
            positive: def.hysteresis[0],
            negative: def.hysteresis[1],
        })
    }

    pub(crate) async fn sensor_reading_factors(&self, r: ReadingFactorsRequest) -> Outcome {
        let def = self.threshold_sensor(r.sensor).await?;
        ok(ReadingFactors {
            // Linear: the same factors for every reading.
            next_reading: 0xff,
            factors: def.linear.expect("a threshold sensor"),
        })
    }

    pub(crate) async fn sensor_event_enable(&self, number: u8) -> Outcome {
        self.sensor(number).await?;
        // Scanned; the BMC sends no event messages for its sensors.
        ok(EventEnable {
            flags: SCANNING_ENABLED,
            masks: Some((0, 0)),
        })
    }

    pub(crate) async fn sensor_event_status(&self, number: u8) -> Outcome {
        let (def, snapshot) = self.sensor(number).await?;
        ok(match present(&def, &snapshot) {
            None => EventStatus {
                flags: SCANNING_ENABLED | READING_UNAVAILABLE,
                assertion: 0,
                deassertion: 0,
            },
            Some(p) => EventStatus {
                flags: SCANNING_ENABLED,
                assertion: if def.linear.is_some() {
                    threshold_events(p.states as u8)
                } else {
                    p.states
                },
                deassertion: 0,
            },
        })
    }
}

/// What the sensor reads in the snapshot, if it reads anything.
fn present(def: &SensorDef, snapshot: &Snapshot) -> Option<Present> {
    let reading = reading_of(snapshot, def)?;
    match (def.kind, def.linear) {
        (SensorKind::Discrete(d), _) => Some(Present {
            raw: 0,
            states: reading.states? & d.possible_states(),
        }),
        (_, Some(linear)) => {
            // A value that is not a number is no reading.
            let raw = linear.raw(reading.value.filter(|v| v.is_finite())?);
            Some(Present {
                raw,
                states: u16::from(def.thresholds.status(raw)),
            })
        }
        (_, None) => None,
    }
}

/// The threshold events asserted for a comparison status: "going low" for a lower threshold
/// the reading is at or below, "going high" for an upper one it is at or above (table 42-2).
fn threshold_events(status: u8) -> u16 {
    (0..6u16)
        .filter(|i| status & (1 << i) != 0)
        .fold(0, |acc, i| acc | 1 << (2 * i + u16::from(i >= 3)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_of_a_status() {
        // At or below lower critical (bit 1): LC going low (event 2); at or above upper
        // non-critical (bit 3): UNC going high (event 7).
        assert_eq!(threshold_events(0b1010), (1 << 2) | (1 << 7));
        assert_eq!(threshold_events(0), 0);
    }
}
