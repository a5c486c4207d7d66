//! The readings of one BMC's sensors, kept for a short time and fetched once for all who ask
//! (single-flight): however many clients poll, the backend is asked at most once per period.
//! A failure is kept for the same time, so a failing source is not hammered and every reading
//! is "unavailable" until a later fetch succeeds; a reading is never served older than the
//! period.

use crate::{Backend, BackendError, SensorReading};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// What one fetch from the backend gave.
#[derive(Debug)]
pub(crate) struct Snapshot {
    /// Counts fetches: a snapshot is applied to the repository once.
    pub generation: u64,
    /// When the fetch began (the readings are at least this fresh).
    pub taken: Instant,
    /// The same moment on the wall clock, for IPMI timestamps.
    pub wall: SystemTime,
    /// The readings, or why there are none.
    pub result: Result<Vec<SensorReading>, BackendError>,
}

/// The cache.
pub(crate) struct ReadingCache {
    ttl: Duration,
    fetch_timeout: Duration,
    last: Mutex<Option<Arc<Snapshot>>>,
    /// Held by the one task fetching; the others wait on it and then find the fresh snapshot.
    fetching: tokio::sync::Mutex<()>,
}

impl ReadingCache {
    /// A cache keeping readings for `ttl`; a fetch that takes longer than `fetch_timeout` fails
    /// (as a timeout).
    pub fn new(ttl: Duration, fetch_timeout: Duration) -> Self {
        ReadingCache {
            ttl,
            fetch_timeout,
            last: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self) -> Option<Arc<Snapshot>> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.as_ref()
            .filter(|s| s.taken.elapsed() < self.ttl)
            .cloned()
    }

    /// The readings, fetched from `backend` unless a fetch younger than the TTL has them.
    pub async fn get(&self, bmc: &str, backend: &dyn Backend) -> Arc<Snapshot> {
        if let Some(s) = self.fresh() {
            return s;
        }
        let _one = self.fetching.lock().await;
        // Another task may have fetched while this one waited.
        if let Some(s) = self.fresh() {
            return s;
        }
        let (taken, wall) = (Instant::now(), SystemTime::now());
        let result = match tokio::time::timeout(self.fetch_timeout, backend.sensors()).await {
            Ok(r) => r,
            Err(_) => Err(BackendError::Timeout(format!(
                "no sensor readings within {:?}",
                self.fetch_timeout
            ))),
        };
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let previous = last.as_ref();
        // Log changes of the source's health, not every failed fetch.
        match (&result, previous.map(|p| p.result.is_ok())) {
            (Err(BackendError::NotSupported), _) => {}
            (Err(e), None | Some(true)) => {
                tracing::warn!(bmc, backend = backend.kind(), error = ?e.to_string(), "sensor readings unavailable")
            }
            (Ok(_), Some(false)) => {
                tracing::info!(
                    bmc,
                    backend = backend.kind(),
                    "sensor readings available again"
                )
            }
            _ => {}
        }
        let snapshot = Arc::new(Snapshot {
            generation: previous.map_or(1, |p| p.generation + 1),
            taken,
            wall,
            result,
        });
        *last = Some(snapshot.clone());
        snapshot
    }
}
