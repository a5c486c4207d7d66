//! The BMCs through the admin API: `GET /bmcs` (every BMC served, what its configuration says
//! and what it is doing), `POST /bmcs/{name}/power` (a power action carried out by the BMC
//! model as an IPMI client's would be: through the route's backends, recorded in the SEL, and
//! audited with the HTTP client's address and the user `admin-api`), and
//! `GET /bmcs/{name}/console?kib=N` (the end of the console log, as text). A BMC's power state
//! says when it was last confirmed (`checked`, and `age_s` seconds ago): the background refresh
//! ([`crate::power_refresh`]) keeps it recent.

use super::{AdminState, Role};
use crate::runtime::BmcView;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use ipmi_bmc::{PowerAction, PowerState, Requester};
use ipmi_proto::types::CompletionCode;
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// The user name the admin API's actions are audited under.
pub const API_USER: &str = "admin-api";
/// How the admin API's power actions are named in the audit log.
const API_COMMAND: &str = "admin API power";
/// The console tail sent without `kib`, and the most that may be asked for.
const CONSOLE_KIB: (usize, usize) = (64, 1024);

/// The BMC routes.
pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/bmcs", get(list))
        .route("/bmcs/:name/power", post(power))
        .route("/bmcs/:name/console", get(console))
}

/// Every BMC, and what the token asking may do (`you`: `act` for power actions, `type` for
/// typing into a live console), for the page to offer only that.
async fn list(State(state): State<AdminState>, role: Option<Extension<Role>>) -> Json<Value> {
    let bmcs: Vec<Value> = state.fleet.views().iter().map(bmc_json).collect();
    let operator = role.is_some_and(|Extension(r)| r == Role::Operator);
    let you = json!({
        "act": operator,
        "type": operator && state.auth().console_input,
    });
    Json(json!({ "bmcs": bmcs, "you": you }))
}

fn power_name(p: PowerState) -> &'static str {
    match p {
        PowerState::On => "on",
        PowerState::Off => "off",
    }
}

/// One BMC as `GET /bmcs` shows it.
fn bmc_json(v: &BmcView) -> Value {
    let status = v.bmc.status();
    let utc = crate::console_log::utc;
    let routes = (!v.info.routes.is_empty()).then(|| {
        v.info
            .routes
            .iter()
            .map(|(op, chain)| ((*op).to_string(), json!(chain)))
            .collect::<serde_json::Map<_, _>>()
    });
    json!({
        "name": v.name,
        "address": v.info.listen.to_string(),
        "backends": v.info.backends.iter()
            .map(|(kind, describe)| json!({ "kind": kind, "describe": describe }))
            .collect::<Vec<_>>(),
        "routes": routes,
        "power": status.power.map(|p| json!({
            "state": power_name(p.state),
            "since": utc(p.since),
            "checked": utc(p.checked),
            "age_s": p.checked.elapsed().map_or(0, |d| d.as_secs()),
        })),
        "backend_down": status.backend_down,
        "last_action": status.last_action.as_ref().map(crate::audit::json),
        "last_error": status.last_error.as_ref().map(|(t, e)| json!({ "time": utc(*t), "error": e })),
        "sessions": v.sessions,
        "console_log": v.info.console_log.is_some(),
        "console_log_failing": v.info.console_log_health.failing()
            .map(|(since, error)| json!({ "since": utc(since), "error": error })),
    })
}

/// The answer for a BMC not served: 404.
pub(super) fn not_found(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("no BMC {name:?}"))
}

/// An error answer: status and `{"error": ...}`.
pub(super) fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PowerBody {
    action: String,
}

/// The HTTP status of a power action the BMC model refused or the backend failed.
pub(super) fn failed_status(cc: CompletionCode) -> StatusCode {
    match cc {
        CompletionCode::NODE_BUSY => StatusCode::SERVICE_UNAVAILABLE,
        CompletionCode::TIMEOUT => StatusCode::GATEWAY_TIMEOUT,
        CompletionCode::INVALID_STATE => StatusCode::CONFLICT,
        CompletionCode::INVALID_COMMAND => StatusCode::NOT_IMPLEMENTED,
        _ => StatusCode::BAD_GATEWAY,
    }
}

async fn power(
    State(state): State<AdminState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    body: Result<Json<PowerBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Some(view) = state.fleet.view(&name) else {
        return not_found(&name);
    };
    let body = match body {
        Ok(Json(b)) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let action = match body.action.as_str() {
        "on" => PowerAction::On,
        "off" => PowerAction::Off,
        "cycle" => PowerAction::Cycle,
        "reset" => PowerAction::Reset,
        "soft" => PowerAction::Soft,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("unknown action {other:?} (on, off, cycle, reset, soft)"),
            )
        }
    };
    let who = Requester {
        user: API_USER.into(),
        peer: client,
        bmc: name.clone(),
    };
    let span = tracing::info_span!(parent: None, "admin", bmc = %name, %client);
    let done = tokio::time::timeout(
        backend_config::REQUEST_DEADLINE,
        tracing::Instrument::instrument(view.bmc.power_for(action, who, API_COMMAND), span),
    )
    .await;
    match done {
        Ok(Ok(())) => {
            Json(json!({ "bmc": name, "action": action.name(), "outcome": "done" })).into_response()
        }
        Ok(Err((cc, why))) => (
            // Refused for the audit log, not by the BMC or its backend: the service cannot
            // take power actions now.
            if why.starts_with(ipmi_bmc::AUDIT_REFUSED) {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                failed_status(cc)
            },
            Json(
                json!({ "bmc": name, "action": action.name(), "outcome": "failed",
                         "ccode": format!("0x{:02x}", cc.0), "error": why }),
            ),
        )
            .into_response(),
        Err(_) => error(
            StatusCode::GATEWAY_TIMEOUT,
            "no answer from the backend in time (the action may still be carried out)",
        ),
    }
}

#[derive(Deserialize)]
struct ConsoleQuery {
    kib: Option<usize>,
}

async fn console(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    Query(q): Query<ConsoleQuery>,
) -> Response {
    let Some(view) = state.fleet.view(&name) else {
        return not_found(&name);
    };
    let Some((path, keep)) = view.info.console_log.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            format!("BMC {name:?} keeps no console log"),
        );
    };
    let kib = q.kib.unwrap_or(CONSOLE_KIB.0).clamp(1, CONSOLE_KIB.1);
    let tail =
        tokio::task::spawn_blocking(move || crate::console_log::tail_at(&path, keep, kib * 1024))
            .await
            .unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        String::from_utf8_lossy(&tail).into_owned(),
    )
        .into_response()
}
