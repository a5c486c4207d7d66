//! One BMC in detail, for the status page's details view: `GET /bmcs/{name}/sensors` (the
//! readings as the SDR repository numbers them, through the same cache as `ipmitool sdr`),
//! `GET /bmcs/{name}/sel?n=N` (its SEL, newest first, in ipmitool's words) and
//! `GET /bmcs/{name}/audit?n=N` (its last audited actions, newest first, from the end of the
//! audit log's file).

use super::bmcs::not_found;
use super::AdminState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ipmi_bmc::{SensorKind, SensorLine};
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, SystemTime};

/// Records sent without `n`, and the most that may be asked for.
const RECORDS: (usize, usize) = (50, 1000);
/// How much of the audit log's end is searched for a BMC's records.
const AUDIT_TAIL: u64 = 512 * 1024;

/// The details routes.
pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/bmcs/:name/sensors", get(sensors))
        .route("/bmcs/:name/sel", get(sel))
        .route("/bmcs/:name/audit", get(audit))
}

#[derive(Deserialize)]
struct Count {
    n: Option<usize>,
}

impl Count {
    fn get(&self) -> usize {
        self.n.unwrap_or(RECORDS.0).clamp(1, RECORDS.1)
    }
}

/// A kind's name and unit.
fn kind_unit(kind: SensorKind) -> (String, &'static str) {
    match kind {
        SensorKind::Temperature => ("temperature".into(), "degrees C"),
        SensorKind::Voltage => ("voltage".into(), "Volts"),
        SensorKind::Fan => ("fan".into(), "RPM"),
        SensorKind::Power => ("power".into(), "Watts"),
        SensorKind::Current => ("current".into(), "Amps"),
        SensorKind::Discrete(d) => (format!("{d:?}"), ""),
    }
}

fn sensor_json(s: &SensorLine) -> Value {
    let (kind, unit) = kind_unit(s.reading.kind);
    json!({
        "number": s.number,
        "name": s.reading.name,
        "kind": kind,
        "value": s.reading.value,
        "unit": unit,
        "states": s.reading.states.map(|b| format!("0x{b:04x}")),
    })
}

async fn sensors(State(state): State<AdminState>, Path(name): Path<String>) -> Response {
    let Some(view) = state.fleet.view(&name) else {
        return not_found(&name);
    };
    match view.bmc.sensor_lines().await {
        Ok(lines) => {
            let list: Vec<Value> = lines.iter().map(sensor_json).collect();
            Json(json!({ "bmc": name, "sensors": list })).into_response()
        }
        Err(e) => Json(json!({ "bmc": name, "sensors": [], "error": e })).into_response(),
    }
}

async fn sel(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    Query(q): Query<Count>,
) -> Response {
    let Some(view) = state.fleet.view(&name) else {
        return not_found(&name);
    };
    match view.bmc.sel_lines(q.get()).await {
        Ok(lines) => {
            let utc = crate::console_log::utc;
            let list: Vec<Value> = lines
                .iter()
                .map(|l| {
                    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(l.time.into());
                    json!({ "id": l.id, "time": utc(time), "text": l.text })
                })
                .collect();
            Json(json!({ "bmc": name, "entries": list })).into_response()
        }
        Err(e) => super::bmcs::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn audit(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    Query(q): Query<Count>,
) -> Response {
    if state.fleet.view(&name).is_none() {
        return not_found(&name);
    }
    let Some(path) = state.audit_log.clone() else {
        let why = "the audit log is not kept in a file";
        return Json(json!({ "bmc": name, "records": [], "error": why })).into_response();
    };
    let n = q.get();
    let bmc = name.clone();
    let found = tokio::task::spawn_blocking(move || last_records(&path, &bmc, n))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    match found {
        Ok(records) => Json(json!({ "bmc": name, "records": records })).into_response(),
        Err(e) => Json(json!({ "bmc": name, "records": [], "error": e })).into_response(),
    }
}

/// The last `n` records of `bmc` in the end of the audit log at `path`, newest first.
fn last_records(path: &std::path::Path, bmc: &str, n: usize) -> Result<Vec<Value>, String> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read the audit log: {e}")),
    };
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    let from = len.saturating_sub(AUDIT_TAIL);
    f.seek(SeekFrom::Start(from)).map_err(|e| e.to_string())?;
    let mut text = Vec::new();
    f.take(AUDIT_TAIL)
        .read_to_end(&mut text)
        .map_err(|e| e.to_string())?;
    // A partial first line (the tail began inside it) is skipped.
    let text = String::from_utf8_lossy(&text);
    let lines = text.lines().skip(usize::from(from > 0));
    let mut records: Vec<Value> = lines
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["bmc"] == bmc)
        .collect();
    records.reverse();
    records.truncate(n);
    Ok(records)
}
