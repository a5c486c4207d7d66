//! `GET /healthz`: 200 and how many BMCs are served, while the process serves (open without
//! the token if the configuration says `open = ["healthz"]`).

use super::AdminState;
use axum::extract::State;
use axum::routing::get;
use axum::Router;

/// The health route.
pub fn routes() -> Router<AdminState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AdminState>) -> String {
    format!("ok: {} BMCs served\n", state.fleet.names().len())
}
