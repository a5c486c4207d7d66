//! A device read cache with single-flight: a read younger than the cache period is answered from
//! memory; otherwise one caller asks the API while the others wait for its answer (or its error)
//! instead of asking too. So however many clients poll a BMC, at most one `GET /devices/{id}`
//! per cache period reaches the API.

use crate::api::{ApiError, Device};
use http_support::SingleFlight;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How long the identity (hostname, plan, facility) is reused before it is read again.
const IDENTITY_TTL: Duration = Duration::from_secs(600);

/// The cache of one device: the device and when the read that got it began (`None` for a
/// state only expected after an action).
pub struct DeviceCache(SingleFlight<(Device, Option<Instant>), ApiError>);

impl DeviceCache {
    /// A cache whose reads are fresh for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        DeviceCache(SingleFlight::new(ttl).counted("metal"))
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
        self.0
            .get(|| async {
                let started = Instant::now();
                fetch().await.map(|d| (d, Some(started)))
            })
            .await
    }

    /// Stores a device the API returned for a request sent at `started`.
    pub fn put(&self, d: Device, started: Instant) {
        self.0.put((d, Some(started)));
    }

    /// Records the state an accepted action leads to, to answer from until the next read.
    pub fn set_state(&self, state: &str) {
        self.0.update(|(d, started)| {
            d.state = Some(state.to_string());
            *started = None;
        });
    }

    /// The last device read, fresh or not.
    pub fn peek(&self) -> Option<Device> {
        self.0.peek().map(|(d, _)| d)
    }

    /// The last device read, if recent enough for its identity (hostname, plan, place).
    pub fn identity(&self) -> Option<Device> {
        self.0.peek_within(IDENTITY_TTL).map(|(d, _)| d)
    }

    /// How many times the API was asked.
    pub fn fetches(&self) -> u64 {
        self.0.fetches()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
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
