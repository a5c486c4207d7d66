//! What the HTTP backends (metal, redfish, http) share: the [`SingleFlight`] read cache, the
//! settings of the process's reqwest client, reading a body up to a limit, the backoff of
//! retries, the wait a 429 asks for, and the [`RateGate`] that makes every call of an account
//! fail at once while a rate limit lasts.
//!
//! It is a crate of its own (not part of `backend-config`) so that the backends without HTTP
//! do not build reqwest.

#![warn(missing_docs)]

pub mod paths;
mod single_flight;

pub use single_flight::SingleFlight;

use reqwest::header::HeaderMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The User-Agent of the metal and http backends, naming the project.
pub const USER_AGENT: &str = concat!(
    "ipmi-to-metal/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/ipmi-to-metal)"
);

/// A reqwest client builder with the settings every backend uses: `user_agent`, a 3 s connect
/// timeout, idle connections kept for 60 s, and no redirects (a redirect would carry the
/// credentials to wherever it points).
pub fn client_builder(user_agent: &str) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(60))
}

/// Timeouts and retries of each call.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// The time limit of one HTTP exchange.
    pub timeout: Duration,
    /// Retries after the first try (for what may be retried).
    pub retries: u32,
    /// The first backoff; it doubles with each retry.
    pub backoff: Duration,
}

impl Policy {
    /// The wait before retry number `attempt + 1`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        backoff(self.backoff, attempt)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timeout: Duration::from_secs(5),
            retries: 2,
            backoff: Duration::from_millis(200),
        }
    }
}

/// The wait before retry number `attempt + 1`: `first`, doubled with each retry.
pub fn backoff(first: Duration, attempt: u32) -> Duration {
    first * 2u32.saturating_pow(attempt)
}

/// A header as a whole number (`Retry-After` in seconds, `X-RateLimit-Reset`...).
pub fn header_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The wait a 429 asks for, from its header in seconds: one second when it does not say, at
/// least one second and at most an hour.
pub fn rate_limit_wait(secs: Option<u64>) -> Duration {
    Duration::from_secs(secs.unwrap_or(1).clamp(1, 3600))
}

/// The body of `resp`, refused with `too_large()` as soon as it passes `limit` bytes while it
/// is read; a transport error while reading goes through `transport`.
pub async fn read_capped<E>(
    resp: &mut reqwest::Response,
    limit: usize,
    too_large: impl FnOnce() -> E,
    transport: impl Fn(reqwest::Error) -> E,
) -> Result<Vec<u8>, E> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(&transport)? {
        if out.len() + chunk.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Closed while an API account's rate limit lasts: its calls then fail at once instead of
/// asking (one client is shared by the BMCs of an account, so one 429 holds back all). A gate
/// made [`RateGate::for_api`] reports its state to the metrics.
#[derive(Debug, Default)]
pub struct RateGate(Mutex<Option<Instant>>, Option<telemetry::RateLimit>);

impl RateGate {
    /// An open gate.
    pub fn new() -> Self {
        RateGate::default()
    }

    /// An open gate of API `api` (`metal`, `redfish`, `http`), counted in the metrics.
    pub fn for_api(api: &'static str) -> Self {
        RateGate(Mutex::new(None), Some(telemetry::api_rate_limit(api)))
    }

    /// Counts a rate-limit answer (HTTP 429) of the API, for the metrics.
    pub fn limited(&self) {
        if let Some(m) = &self.1 {
            m.limited();
        }
    }

    /// How long the gate stays closed, if it is.
    pub fn closed_for(&self) -> Option<Duration> {
        let until = (*self.0.lock().expect("rate gate lock"))?;
        let now = Instant::now();
        (until > now).then(|| until - now)
    }

    /// Closes the gate for `wait` from now.
    pub fn close_for(&self, wait: Duration) {
        *self.0.lock().expect("rate gate lock") = Some(Instant::now() + wait);
        if let Some(m) = &self.1 {
            m.closed_for(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_429_waits_are_bounded() {
        let p = Policy::default();
        assert_eq!(p.backoff(0), Duration::from_millis(200));
        assert_eq!(p.backoff(2), Duration::from_millis(800));
        assert_eq!(rate_limit_wait(None), Duration::from_secs(1));
        assert_eq!(rate_limit_wait(Some(0)), Duration::from_secs(1));
        assert_eq!(rate_limit_wait(Some(99999)), Duration::from_secs(3600));
        let mut h = HeaderMap::new();
        h.insert("retry-after", " 7 ".parse().unwrap());
        assert_eq!(header_u64(&h, "retry-after"), Some(7));
        assert_eq!(header_u64(&h, "x-ratelimit-reset"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_gate_closes_for_a_while() {
        let gate = RateGate::new();
        assert_eq!(gate.closed_for(), None);
        gate.close_for(Duration::from_secs(2));
        assert_eq!(gate.closed_for(), Some(Duration::from_secs(2)));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(gate.closed_for(), None);
    }
}
