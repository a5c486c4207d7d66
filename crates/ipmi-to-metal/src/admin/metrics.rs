//! `GET /metrics`: every metric in the Prometheus text format (see docs/operations.md), open
//! without the token if the configuration says `open = ["metrics"]`.
//!
//! One rendering at a time, shared: a scrape that comes while one is under way waits for the
//! next one, which every scrape waiting then takes. However many clients scrape at once (an
//! open `/metrics` hammered, a misconfigured Prometheus), the fleet is read by one blocking
//! thread at most, at most twice per burst.

use super::AdminState;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use std::time::Instant;

/// The metrics route.
pub fn routes() -> Router<AdminState> {
    Router::new().route("/metrics", get(metrics))
}

/// The last rendering and when it began; held while one is under way.
static LATEST: Shared = Shared::new();

/// Renders the metrics. The session counts are read from every BMC (a short lock each, as the
/// receive loop takes for a datagram): off the runtime's worker threads, so that a scrape of a
/// large fleet does not hold up their datagrams.
async fn metrics() -> Response {
    match LATEST.get(telemetry::render).await {
        Ok(text) => (
            [(header::CONTENT_TYPE, telemetry::CONTENT_TYPE)],
            String::clone(&text),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A rendering shared by the scrapes that wait for it.
struct Shared(tokio::sync::Mutex<Option<(Instant, Arc<String>)>>);

impl Shared {
    const fn new() -> Shared {
        Shared(tokio::sync::Mutex::const_new(None))
    }

    /// A rendering that began after this call: the one a caller ahead in line made, or a new
    /// one by `render` on a blocking thread.
    async fn get(&self, render: fn() -> String) -> Result<Arc<String>, tokio::task::JoinError> {
        let asked = Instant::now();
        let mut latest = self.0.lock().await;
        if let Some((began, text)) = latest.as_ref() {
            if *began >= asked {
                return Ok(text.clone());
            }
        }
        let began = Instant::now();
        let text = Arc::new(tokio::task::spawn_blocking(render).await?);
        *latest = Some((began, text.clone()));
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    static MOST: AtomicUsize = AtomicUsize::new(0);
    static RENDERS: AtomicUsize = AtomicUsize::new(0);

    fn slow_render() -> String {
        let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
        MOST.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(50));
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        format!("render {}", RENDERS.fetch_add(1, Ordering::SeqCst))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_of_scrapes_renders_one_at_a_time_at_most_twice() {
        static SHARED: Shared = Shared::new();
        let scrapes: Vec<_> = (0..64)
            .map(|_| tokio::spawn(SHARED.get(slow_render)))
            .collect();
        for s in scrapes {
            s.await.unwrap().unwrap();
        }
        assert_eq!(MOST.load(Ordering::SeqCst), 1, "one rendering at a time");
        let renders = RENDERS.load(Ordering::SeqCst);
        assert!(
            (1..=2).contains(&renders),
            "{renders} renderings for 64 scrapes"
        );
        // A scrape after the burst gets a new rendering, not the old one.
        assert_eq!(
            *SHARED.get(slow_render).await.unwrap(),
            format!("render {renders}")
        );
    }
}
