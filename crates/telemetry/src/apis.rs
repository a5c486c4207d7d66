//! The backend APIs' side (metal, redfish, http): reads answered from the cache or not, rate
//! limits met, and how long until a rate-limited API is asked again. Handles are taken when a
//! cache or client is made; counting on them is a relaxed atomic add.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// The counts of one API.
#[derive(Debug)]
struct ApiStats {
    api: &'static str,
    hits: AtomicU64,
    misses: AtomicU64,
    rate_limited: AtomicU64,
    /// Milliseconds after [`EPOCH`] until which the API is not asked (the latest known).
    closed_until_ms: AtomicU64,
}

static APIS: Mutex<Vec<Arc<ApiStats>>> = Mutex::new(Vec::new());
/// What rate-limit deadlines are counted from.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn stats(api: &'static str) -> Arc<ApiStats> {
    let mut all = APIS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = all.iter().find(|s| s.api == api) {
        return s.clone();
    }
    let s = Arc::new(ApiStats {
        api,
        hits: AtomicU64::new(0),
        misses: AtomicU64::new(0),
        rate_limited: AtomicU64::new(0),
        closed_until_ms: AtomicU64::new(0),
    });
    all.push(s.clone());
    s
}

/// The cache counts of one API's reads.
#[derive(Clone, Debug)]
pub struct CacheCounters(Arc<ApiStats>);

impl CacheCounters {
    /// A read answered from the cache (or by a read another caller had under way).
    pub fn hit(&self) {
        self.0.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// A read that asked the API.
    pub fn miss(&self) {
        self.0.misses.fetch_add(1, Ordering::Relaxed);
    }
}

/// The cache counts of API `api` (`metal`, `redfish`, `http`).
pub fn api_cache(api: &'static str) -> CacheCounters {
    CacheCounters(stats(api))
}

/// The rate-limit state of one API.
#[derive(Clone, Debug)]
pub struct RateLimit(Arc<ApiStats>);

impl RateLimit {
    /// The API answered that its rate limit is exhausted (HTTP 429).
    pub fn limited(&self) {
        self.0.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// The API is not asked again for `wait` from now.
    pub fn closed_for(&self, wait: Duration) {
        let until = Instant::now().saturating_duration_since(*EPOCH) + wait;
        let ms = u64::try_from(until.as_millis()).unwrap_or(u64::MAX);
        self.0.closed_until_ms.fetch_max(ms, Ordering::Relaxed);
    }
}

/// The rate-limit state of API `api`.
pub fn api_rate_limit(api: &'static str) -> RateLimit {
    LazyLock::force(&EPOCH);
    RateLimit(stats(api))
}

/// Per API: (name, cache hits, cache misses, 429s, seconds until it is asked again).
pub(crate) fn each(mut f: impl FnMut(&str, u64, u64, u64, f64)) {
    let all: Vec<_> = APIS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let now_ms = Instant::now().saturating_duration_since(*EPOCH).as_millis() as u64;
    for s in all {
        let until = s.closed_until_ms.load(Ordering::Relaxed);
        f(
            s.api,
            s.hits.load(Ordering::Relaxed),
            s.misses.load(Ordering::Relaxed),
            s.rate_limited.load(Ordering::Relaxed),
            until.saturating_sub(now_ms) as f64 / 1000.0,
        );
    }
}
