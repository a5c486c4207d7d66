//! `GET /metrics`: every metric in the Prometheus text format (see the README's "Metrics"), open
//! without the token if the configuration says `open = ["metrics"]`.

use super::AdminState;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The metrics route.
pub fn routes() -> Router<AdminState> {
    Router::new().route("/metrics", get(metrics))
}

/// Renders the metrics. The session counts are read from every BMC (a short lock each, as the
/// receive loop takes for a datagram): off the runtime's worker threads, so that a scrape of a
/// large fleet does not hold up their datagrams.
async fn metrics() -> Response {
    match tokio::task::spawn_blocking(telemetry::render).await {
        Ok(text) => ([(header::CONTENT_TYPE, telemetry::CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
