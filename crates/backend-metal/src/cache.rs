//! A device read cache with single-flight: a read younger than the cache period is answered from
//! memory; otherwise one caller asks the API while the others wait for its answer (or its error)
//! instead of asking too. So however many clients poll a BMC, at most one `GET /devices/{id}`
//! per cache period reaches the API.

use crate::api::{ApiError, Device};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// How long the identity (hostname, plan, facility) is reused before it is read again.
const IDENTITY_TTL: Duration = Duration::from_secs(600);

/// The cache of one device.
pub struct DeviceCache {
    ttl: Duration,
    /// The device, when it was stored, and when the read that got it began (`None` for a state
    /// only expected after an action).
    latest: Mutex<Option<(Device, Instant, Option<Instant>)>>,
    last_error: Mutex<Option<(ApiError, Instant)>>,
    flight: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
}

impl DeviceCache {
    /// A cache whose reads are fresh for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        DeviceCache {
            ttl,
            latest: Mutex::new(None),
            last_error: Mutex::new(None),
            flight: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
        }
    }

    fn fresh(&self) -> Option<(Device, Option<Instant>)> {
        let l = self.latest.lock().expect("cache lock");
        l.as_ref()
            .filter(|(_, at, _)| at.elapsed() < self.ttl)
            .map(|(d, _, started)| (d.clone(), *started))
    }

    /// The device: fresh from memory, else from `fetch`, run by one caller at a time.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<Device, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Device, ApiError>>,
    {
        self.get_read(fetch).await.map(|(d, _)| d)
    }

    /// Like [`DeviceCache::get`], with when the API read began (`None` for an expected state
    /// that no read has confirmed yet).
    pub async fn get_read<F, Fut>(&self, fetch: F) -> Result<(Device, Option<Instant>), ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Device, ApiError>>,
    {
        if let Some(d) = self.fresh() {
            return Ok(d);
        }
        let asked = Instant::now();
        let _flight = self.flight.lock().await;
        if let Some(d) = self.fresh() {
            return Ok(d);
        }
        // The fetch that failed while this caller waited is this caller's answer too.
        if let Some((e, at)) = self.last_error.lock().expect("cache lock").as_ref() {
            if *at >= asked {
                return Err(e.clone());
            }
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        match fetch().await {
            Ok(d) => {
                self.put(d.clone(), started);
                Ok((d, Some(started)))
            }
            Err(e) => {
                *self.last_error.lock().expect("cache lock") = Some((e.clone(), Instant::now()));
                Err(e)
            }
        }
    }

    /// Stores a device the API returned for a request sent at `started`.
    pub fn put(&self, d: Device, started: Instant) {
        *self.latest.lock().expect("cache lock") = Some((d, Instant::now(), Some(started)));
    }

    /// Records the state an accepted action leads to, to answer from until the next read.
    pub fn set_state(&self, state: &str) {
        if let Some((d, at, started)) = self.latest.lock().expect("cache lock").as_mut() {
            d.state = Some(state.to_string());
            *at = Instant::now();
            *started = None;
        }
    }

    /// The last device read, fresh or not.
    pub fn peek(&self) -> Option<Device> {
        self.latest
            .lock()
            .expect("cache lock")
            .as_ref()
            .map(|(d, _, _)| d.clone())
    }

    /// The last device read, if recent enough for its identity (hostname, plan, place).
    pub fn identity(&self) -> Option<Device> {
        self.latest
            .lock()
            .expect("cache lock")
            .as_ref()
            .filter(|(_, at, _)| at.elapsed() < IDENTITY_TTL)
            .map(|(d, _, _)| d.clone())
    }

    /// How many times the API was asked.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    fn device(state: &str) -> Device {
        Device {
            id: "d".into(),
            state: Some(state.into()),
            ..Device::default()
        }
    }

    #[tokio::test]
    async fn concurrent_reads_share_one_fetch_and_one_error() {
        let cache = Arc::new(DeviceCache::new(Duration::from_secs(2)));
        let calls = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(device("active"))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().state.as_deref(), Some("active"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let failing = Arc::new(DeviceCache::new(Duration::from_secs(2)));
        let calls = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (cache, calls) = (failing.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err(ApiError::Timeout("down".into()))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_err());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "waiters share the failure");
    }

    #[tokio::test(start_paused = true)]
    async fn reads_expire_and_actions_update_the_state() {
        let cache = DeviceCache::new(Duration::from_secs(2));
        cache.put(device("active"), Instant::now());
        cache.set_state("powering_off");
        let d = cache.get(|| async { Ok(device("x")) }).await.unwrap();
        assert_eq!(d.state.as_deref(), Some("powering_off"));
        tokio::time::advance(Duration::from_secs(3)).await;
        let d = cache
            .get(|| async { Ok(device("inactive")) })
            .await
            .unwrap();
        assert_eq!(d.state.as_deref(), Some("inactive"));
        assert_eq!(cache.fetches(), 1);
    }
}
