//! A read cache with single-flight: a value younger than the cache period is answered from
//! memory; otherwise one caller asks the service while the others wait for its answer (or its
//! error) instead of asking too. However many clients poll a BMC, one `GET` of the system per
//! cache period reaches the service.

use crate::errors::ApiError;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The cache of one resource.
pub struct Cached<T> {
    ttl: Duration,
    latest: Mutex<Option<(T, Instant)>>,
    last_error: Mutex<Option<(ApiError, Instant)>>,
    flight: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
}

impl<T: Clone> Cached<T> {
    /// A cache whose reads are fresh for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Cached {
            ttl,
            latest: Mutex::new(None),
            last_error: Mutex::new(None),
            flight: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
        }
    }

    fn fresh(&self) -> Option<T> {
        let l = self.latest.lock().expect("cache lock");
        l.as_ref()
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(v, _)| v.clone())
    }

    /// The value: fresh from memory, else from `fetch`, run by one caller at a time.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        if let Some(v) = self.fresh() {
            return Ok(v);
        }
        let asked = Instant::now();
        let _flight = self.flight.lock().await;
        if let Some(v) = self.fresh() {
            return Ok(v);
        }
        // The fetch that failed while this caller waited is this caller's answer too.
        if let Some((e, at)) = self.last_error.lock().expect("cache lock").as_ref() {
            if *at >= asked {
                return Err(e.clone());
            }
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match fetch().await {
            Ok(v) => {
                self.put(v.clone());
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

    /// Forgets the value (after a change), so that the next read asks the service.
    pub fn invalidate(&self) {
        *self.latest.lock().expect("cache lock") = None;
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
                        Err(ApiError::Timeout("down".into()))
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
