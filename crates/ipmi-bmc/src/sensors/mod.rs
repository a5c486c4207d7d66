//! The sensors of one BMC: the readings of the backend routed for `sensors` (cached briefly,
//! fetched once for all clients), the SDR repository built from them, and the DCMI power
//! statistics.

mod cache;
mod kinds;
mod power;
mod repository;

pub(crate) use cache::Snapshot;
pub(crate) use repository::{Repository, Reserver, SensorDef, BMC_ADDRESS, DEVICE_SUPPORT};

use crate::{Backend, SensorKind, SensorReading};
use cache::ReadingCache;
use power::PowerStats;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

/// How long readings are reused before the backend is asked again.
pub(crate) const READING_TTL: Duration = Duration::from_secs(2);
/// A fetch of the readings that takes longer fails (as a timeout), well within the 10 s a
/// request may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The sensors of a BMC, made at the first sensor, SDR or DCMI request: most BMCs of a large
/// fleet are never asked, and the cache, repository and statistics take 0.3 KiB a BMC (boxed,
/// the model is 16 bytes in every [`crate::Bmc`] until then).
pub(crate) struct SensorModel {
    parts: OnceLock<Box<Parts>>,
    /// When the BMC was made (seconds since 1970): the empty repository's timestamps.
    created: u32,
}

struct Parts {
    cache: ReadingCache,
    state: Mutex<SensorState>,
}

/// The repository and power statistics, as of the last snapshot applied.
pub(crate) struct SensorState {
    pub repository: Repository,
    pub power: PowerStats,
    applied: u64,
}

impl SensorModel {
    /// The sensors of a BMC made now, before any reading.
    pub fn new() -> SensorModel {
        SensorModel {
            parts: OnceLock::new(),
            created: ipmi_seconds(SystemTime::now()),
        }
    }

    /// The cache and the state of the BMC named `bmc`, made at the first call.
    fn parts(&self, bmc: &str) -> &Parts {
        self.parts.get_or_init(|| {
            Box::new(Parts {
                cache: ReadingCache::new(READING_TTL, FETCH_TIMEOUT),
                state: Mutex::new(SensorState {
                    repository: Repository::new(bmc, self.created),
                    power: PowerStats::default(),
                    applied: 0,
                }),
            })
        })
    }

    /// The readings now (fetched or reused), applied to the repository and the statistics.
    pub async fn current(&self, bmc: &str, backend: &dyn Backend) -> Arc<Snapshot> {
        let snapshot = self.parts(bmc).cache.get(bmc, backend).await;
        let mut st = self.state(bmc);
        if snapshot.generation > st.applied {
            st.applied = snapshot.generation;
            if let Ok(readings) = &snapshot.result {
                if st.repository.apply(readings, ipmi_seconds(snapshot.wall)) {
                    tracing::info!(
                        bmc,
                        sensors = st.repository.sensors().len(),
                        "SDR repository rebuilt: the set of sensors changed"
                    );
                }
                let power = system_power(readings).and_then(|r| r.value);
                if let Some(watts) = power.filter(|w| w.is_finite()) {
                    st.power.add(snapshot.wall, watts);
                }
            }
        }
        snapshot
    }

    /// The repository and statistics of the BMC named `bmc`.
    pub fn state(&self, bmc: &str) -> MutexGuard<'_, SensorState> {
        self.parts(bmc)
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// The reading of the sensor `def` describes, if the snapshot has it.
pub(crate) fn reading_of<'a>(s: &'a Snapshot, def: &SensorDef) -> Option<&'a SensorReading> {
    s.result
        .as_ref()
        .ok()?
        .iter()
        .find(|r| r.name == def.source && r.kind == def.kind)
}

/// The system's power sensor: the first sensor of kind [`SensorKind::Power`].
pub(crate) fn system_power(readings: &[SensorReading]) -> Option<&SensorReading> {
    readings.iter().find(|r| r.kind == SensorKind::Power)
}

/// An IPMI timestamp: seconds since 1970, as 32 bits.
pub(crate) fn ipmi_seconds(t: SystemTime) -> u32 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}
