//! The power state read through the API, reused for a short while with single-flight: a read
//! younger than the cache period is answered from memory; otherwise one caller asks the API
//! while the others wait for its answer (or its error). So however many clients poll a BMC, at
//! most one status request per cache period reaches the API. An action forgets the state: the
//! next read asks again, and a read begun before the action does not store its answer.

use http_support::SingleFlight;
use ipmi_bmc::{BackendError, BackendResult, PowerState};
use std::future::Future;
use std::time::Duration;

/// The cache of one machine's power state.
pub struct StatusCache(SingleFlight<PowerState, BackendError>);

impl StatusCache {
    /// A cache whose reads are fresh for `ttl` (zero: every caller reads, one at a time).
    pub fn new(ttl: Duration) -> Self {
        StatusCache(SingleFlight::new(ttl).counted("http"))
    }

    /// The state: fresh from memory, else from `read`, run by one caller at a time.
    pub async fn get<F, Fut>(&self, read: F) -> BackendResult<PowerState>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = BackendResult<PowerState>>,
    {
        self.0.get(read).await
    }

    /// Forgets the state (an action was sent).
    pub fn forget(&self) {
        self.0.forget();
    }

    /// How many times the API was asked.
    pub fn reads(&self) -> u64 {
        self.0.fetches()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn concurrent_reads_share_one_request() {
        let cache = Arc::new(StatusCache::new(Duration::from_secs(2)));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let cache = cache.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(PowerState::On)
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(PowerState::On));
        }
        assert_eq!(cache.reads(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_action_forgets_and_a_read_begun_before_it_is_not_stored() {
        let cache = Arc::new(StatusCache::new(Duration::from_secs(2)));
        assert_eq!(
            cache.get(|| async { Ok(PowerState::On) }).await,
            Ok(PowerState::On)
        );
        cache.forget();
        let slow = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get(|| async {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok(PowerState::On)
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        cache.forget();
        assert_eq!(slow.await.unwrap(), Ok(PowerState::On));
        assert_eq!(
            cache.get(|| async { Ok(PowerState::Off) }).await,
            Ok(PowerState::Off)
        );
        assert_eq!(cache.reads(), 3);
    }
}
