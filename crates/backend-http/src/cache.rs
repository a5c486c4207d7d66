//! The power state read through the API, reused for a short while with single-flight: a read
//! younger than the cache period is answered from memory; otherwise one caller asks the API
//! while the others wait for its answer (or its error). So however many clients poll a BMC, at
//! most one status request per cache period reaches the API. An action forgets the state: the
//! next read asks again, and a read begun before the action does not store its answer.

use ipmi_bmc::{BackendResult, PowerState};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The cache of one machine's power state.
pub struct StatusCache {
    ttl: Duration,
    /// The state, when it was read, and the generation it was read in.
    latest: Mutex<Option<(PowerState, Instant)>>,
    /// The error of the last read, and when it came.
    last_error: Mutex<Option<(ipmi_bmc::BackendError, Instant)>>,
    flight: tokio::sync::Mutex<()>,
    /// Bumped by every action: reads begun before it do not store their answer.
    generation: AtomicU64,
    reads: AtomicU64,
}

impl StatusCache {
    /// A cache whose reads are fresh for `ttl` (zero: every caller reads, one at a time).
    pub fn new(ttl: Duration) -> Self {
        StatusCache {
            ttl,
            latest: Mutex::new(None),
            last_error: Mutex::new(None),
            flight: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            reads: AtomicU64::new(0),
        }
    }

    fn fresh(&self) -> Option<PowerState> {
        self.latest
            .lock()
            .expect("cache lock")
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(s, _)| s)
    }

    /// The state: fresh from memory, else from `read`, run by one caller at a time.
    pub async fn get<F, Fut>(&self, read: F) -> BackendResult<PowerState>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = BackendResult<PowerState>>,
    {
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let asked = Instant::now();
        let _flight = self.flight.lock().await;
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        // The read that failed while this caller waited is this caller's answer too.
        if let Some((e, at)) = self.last_error.lock().expect("cache lock").as_ref() {
            if *at >= asked {
                return Err(e.clone());
            }
        }
        let generation = self.generation.load(Ordering::SeqCst);
        self.reads.fetch_add(1, Ordering::Relaxed);
        match read().await {
            Ok(s) => {
                if self.generation.load(Ordering::SeqCst) == generation {
                    *self.latest.lock().expect("cache lock") = Some((s, Instant::now()));
                }
                Ok(s)
            }
            Err(e) => {
                *self.last_error.lock().expect("cache lock") = Some((e.clone(), Instant::now()));
                Err(e)
            }
        }
    }

    /// Forgets the state (an action was sent).
    pub fn forget(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self.latest.lock().expect("cache lock") = None;
    }

    /// How many times the API was asked.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
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
