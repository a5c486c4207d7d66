//! A read cache with single-flight: a value younger than the cache period is answered from
//! memory; otherwise one caller asks the service while the others wait for its answer (or its
//! error) instead of asking too. However many clients poll a BMC, one read of the resource per
//! cache period reaches the service. A cache made [`SingleFlight::counted`] counts its reads
//! for the metrics: a hit when no read of its own reached the service, a miss when one did.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The cache of one resource, whose reads fail with `E`.
pub struct SingleFlight<T, E> {
    ttl: Duration,
    latest: Mutex<Option<(T, Instant)>>,
    last_error: Mutex<Option<(E, Instant)>>,
    flight: tokio::sync::Mutex<()>,
    /// Bumped by [`SingleFlight::forget`]: reads begun before it do not store their answer.
    generation: AtomicU64,
    fetches: AtomicU64,
    counters: Option<telemetry::CacheCounters>,
}

impl<T: Clone, E: Clone> SingleFlight<T, E> {
    /// A cache whose reads are fresh for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        SingleFlight {
            ttl,
            latest: Mutex::new(None),
            last_error: Mutex::new(None),
            flight: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
            counters: None,
        }
    }

    /// The same cache, its reads counted as API `api`'s (`metal`, `redfish`, `http`).
    pub fn counted(mut self, api: &'static str) -> Self {
        self.counters = Some(telemetry::api_cache(api));
        self
    }

    fn hit(&self) {
        if let Some(c) = &self.counters {
            c.hit();
        }
    }

    /// The last value stored less than `max_age` ago.
    pub fn peek_within(&self, max_age: Duration) -> Option<T> {
        let l = self.latest.lock().expect("cache lock");
        l.as_ref()
            .filter(|(_, at)| at.elapsed() < max_age)
            .map(|(v, _)| v.clone())
    }

    /// The value: fresh from memory, else from `fetch`, run by one caller at a time.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(v) = self.peek_within(self.ttl) {
            self.hit();
            return Ok(v);
        }
        let asked = Instant::now();
        let _flight = self.flight.lock().await;
        if let Some(v) = self.peek_within(self.ttl) {
            self.hit();
            return Ok(v);
        }
        // The fetch that failed while this caller waited is this caller's answer too.
        if let Some((e, at)) = self.last_error.lock().expect("cache lock").as_ref() {
            if *at >= asked {
                self.hit();
                return Err(e.clone());
            }
        }
        let generation = self.generation.load(Ordering::SeqCst);
        self.fetches.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = &self.counters {
            c.miss();
        }
        match fetch().await {
            Ok(v) => {
                if self.generation.load(Ordering::SeqCst) == generation {
                    self.put(v.clone());
                }
                Ok(v)
            }
            Err(e) => {
                *self.last_error.lock().expect("cache lock") = Some((e.clone(), Instant::now()));
                Err(e)
            }
        }
    }

    /// Stores a value just read.
    pub fn put(&self, v: T) {
        *self.latest.lock().expect("cache lock") = Some((v, Instant::now()));
    }

    /// Changes the stored value, if there is one, and makes it fresh again (a state an
    /// accepted action leads to).
    pub fn update(&self, change: impl FnOnce(&mut T)) {
        if let Some((v, at)) = self.latest.lock().expect("cache lock").as_mut() {
            change(v);
            *at = Instant::now();
        }
    }

    /// Forgets the value (after a change), so that the next read asks the service.
    pub fn invalidate(&self) {
        *self.latest.lock().expect("cache lock") = None;
    }

    /// Forgets the value (an action was sent), and the answer of a read begun before now: the
    /// next read asks the service, and so does the one after a read already under way.
    pub fn forget(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.invalidate();
    }

    /// The last value read, fresh or not.
    pub fn peek(&self) -> Option<T> {
        self.latest
            .lock()
            .expect("cache lock")
            .as_ref()
            .map(|(v, _)| v.clone())
    }

    /// How many times the service was asked.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    type Cached<T> = SingleFlight<T, String>;

    #[tokio::test]
    async fn concurrent_reads_share_one_fetch_and_one_error() {
        let cache = Arc::new(Cached::<u32>::new(Duration::from_secs(2)));
        let calls = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..30 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(7)
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 7);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let failing = Arc::new(Cached::<u32>::new(Duration::from_secs(2)));
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (cache, calls) = (failing.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err("down".to_string())
                    })
                    .await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_err());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2, "waiters share the failure");
    }

    #[tokio::test(start_paused = true)]
    async fn values_expire_and_changes_invalidate() {
        let cache = Cached::<u32>::new(Duration::from_secs(2));
        assert_eq!(cache.get(|| async { Ok(1) }).await.unwrap(), 1);
        assert_eq!(cache.get(|| async { Ok(2) }).await.unwrap(), 1);
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(cache.get(|| async { Ok(3) }).await.unwrap(), 3);
        cache.invalidate();
        assert_eq!(cache.get(|| async { Ok(4) }).await.unwrap(), 4);
        assert_eq!(cache.fetches(), 3);
    }
}
