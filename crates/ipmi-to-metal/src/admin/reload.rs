//! `POST /reload`: reads the configuration file again and applies it, as SIGHUP does (see
//! [`crate::reload`]). 200 with what changed as JSON (`outcome`: `applied` or `unchanged`;
//! `started`, `stopped`, `restarted` by name, `unchanged` counted, `discoveries` the same,
//! `needs_restart`); refused with `{"outcome": "refused", "error": "..."}`: 422 for a file
//! that does not load (the error names its file, line and column), 409 for one that cannot be
//! applied (a port that cannot be bound), 503 during the shutdown. The configuration in force
//! stays whenever a reload is refused.

use super::AdminState;
use crate::reload::{outcome_label, ReloadError, ReloadOutcome};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use std::net::SocketAddr;

/// The reload route.
pub fn routes() -> Router<AdminState> {
    Router::new().route("/reload", post(reload))
}

/// A reload's answer.
#[derive(Serialize)]
struct Answer<'a> {
    outcome: &'static str,
    #[serde(flatten)]
    changes: Option<&'a ReloadOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn reload(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    let result = match &state.reloader {
        Some(r) => r.reload(&format!("POST /reload from {peer}")).await,
        None => Err(ReloadError::NoFile),
    };
    let outcome = outcome_label(&result);
    match &result {
        Ok(changes) => Json(Answer {
            outcome,
            changes: Some(changes),
            error: None,
        })
        .into_response(),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let answer = Answer {
                outcome,
                changes: None,
                error: Some(e.to_string()),
            };
            (status, Json(answer)).into_response()
        }
    }
}
