//! `GET /healthz`: 200 and how many BMCs are served, while the process serves (open without
//! the token if the configuration says `open = ["healthz"]`); 503 while the audit log cannot
//! be written and power actions are refused for it (it fails closed), 200 with a line that says
//! so where it fails open.

use super::AdminState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

/// The health route.
pub fn routes() -> Router<AdminState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AdminState>) -> (StatusCode, String) {
    let served = format!("{} BMCs served", state.fleet.names().len());
    match state.fleet.audit_failing() {
        None => (StatusCode::OK, format!("ok: {served}\n")),
        Some((why, true)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("failing: the audit log cannot be written ({why}): power actions are refused; {served}\n"),
        ),
        Some((why, false)) => (
            StatusCode::OK,
            format!("ok: {served}\naudit log failing ({why}): actions go on unrecorded (fail_open)\n"),
        ),
    }
}
