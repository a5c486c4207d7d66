//! Virtual media through the admin API (the same BMC model methods the Redfish front-end
//! calls): `GET /bmcs/{name}/media` (the slots this machine offers and what is in them),
//! `POST /bmcs/{name}/media/{slot}/insert` with `{"image": URL, "write_protected": true,
//! "transfer_protocol": "HTTP"}` (the last two optional), and
//! `POST /bmcs/{name}/media/{slot}/eject`; `slot` is `Cd` or `UsbStick`. Actions are audited
//! under the user `admin-api` with the HTTP client's address, and recorded in the SEL.

use super::bmcs::{error, failed_status, API_USER};
use super::AdminState;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ipmi_bmc::{
    Asker, Bmc, MediaError, MediaInsert, MediaSlot, Protocol, Requester, TransferProtocol,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// The media routes.
pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/bmcs/:name/media", get(list))
        .route("/bmcs/:name/media/:slot/:action", post(act))
}

fn slots_json(bmc: &Bmc) -> Value {
    let slots: Vec<Value> = bmc
        .media_slots()
        .into_iter()
        .filter_map(|s| bmc.media_status(s))
        .map(|m| {
            json!({
                "slot": m.slot.id(),
                "image": m.image,
                "inserted": m.inserted,
                "write_protected": m.write_protected,
                "connected_via": m.connected_via(),
                "transfer_protocol": m.protocol.map(TransferProtocol::name),
            })
        })
        .collect();
    json!({ "slots": slots })
}

async fn list(State(state): State<AdminState>, Path(name): Path<String>) -> Response {
    match state.fleet.view(&name) {
        Some(v) => Json(slots_json(&v.bmc)).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no BMC {name:?}")),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InsertBody {
    image: String,
    #[serde(default = "yes")]
    write_protected: bool,
    transfer_protocol: Option<String>,
}

fn yes() -> bool {
    true
}

async fn act(
    State(state): State<AdminState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path((name, slot, action)): Path<(String, String, String)>,
    body: Option<Json<InsertBody>>,
) -> Response {
    let Some(view) = state.fleet.view(&name) else {
        return error(StatusCode::NOT_FOUND, format!("no BMC {name:?}"));
    };
    let Some(slot) = MediaSlot::from_id(&slot) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no slot {slot:?} (Cd, UsbStick)"),
        );
    };
    let asker = Asker::outside(
        Requester {
            user: API_USER.into(),
            peer: client,
            bmc: name.clone(),
        },
        Protocol::AdminApi,
    );
    let span = tracing::info_span!(parent: None, "admin", bmc = %name, %client);
    let done = match action.as_str() {
        "insert" => {
            let Some(Json(b)) = body else {
                return error(StatusCode::BAD_REQUEST, "insert needs {\"image\": URL}");
            };
            let protocol = match b.transfer_protocol.as_deref() {
                None => TransferProtocol::of_url(&b.image),
                Some("HTTP") => Some(TransferProtocol::Http),
                Some("HTTPS") => Some(TransferProtocol::Https),
                Some(_) => None,
            };
            let Some(protocol) = protocol else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "transfer_protocol: HTTP or HTTPS (the image must be an http or https URL)",
                );
            };
            let media = MediaInsert {
                image: b.image,
                write_protected: b.write_protected,
                protocol,
            };
            let call = view.bmc.insert_media(slot, media, &asker);
            timed(tracing::Instrument::instrument(call, span)).await
        }
        "eject" => {
            let call = view.bmc.eject_media(slot, &asker);
            timed(tracing::Instrument::instrument(call, span)).await
        }
        other => {
            return error(
                StatusCode::NOT_FOUND,
                format!("unknown media action {other:?} (insert, eject)"),
            )
        }
    };
    match done {
        Some(Ok(())) => Json(slots_json(&view.bmc)).into_response(),
        Some(Err(MediaError::NotOffered)) => error(
            StatusCode::NOT_IMPLEMENTED,
            format!("BMC {name:?} offers no {slot} slot (its backend has no virtual media)"),
        ),
        Some(Err(MediaError::Invalid(why))) => error(StatusCode::BAD_REQUEST, why),
        Some(Err(MediaError::Failed { ccode, error: why })) => error(failed_status(ccode), why),
        None => error(
            StatusCode::GATEWAY_TIMEOUT,
            "no answer from the backend in time (the action may still be carried out)",
        ),
    }
}

async fn timed<T>(f: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::time::timeout(backend_config::REQUEST_DEADLINE, f)
        .await
        .ok()
}
