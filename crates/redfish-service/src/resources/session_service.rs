//! `SessionService` and its `Sessions`: `POST` with `UserName` and `Password` opens a session
//! (`X-Auth-Token` and `Location` in the answer), `DELETE` closes it; a session closes after the
//! `SessionTimeout` unused, and at most a bounded number are open.

use super::{json_object, on_service, Page as Family, GET_PATCH};
use crate::roles::Role;
use crate::sessions::{OpenError, SessionInfo};
use crate::{auth, reply, Ctx, Route};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::time::Duration;

const SESSIONS: &str = "/redfish/v1/SessionService/Sessions";
/// The shortest and longest `SessionTimeout` (seconds) DMTF allows.
const TIMEOUT_RANGE: (u64, u64) = (30, 86_400);

/// What this family serves.
pub(crate) enum Page {
    Service,
    Sessions,
    Session(String),
}

/// The routes of this family.
pub(crate) fn route(segs: &[&str]) -> Option<Route> {
    let page = Family::Sessions;
    const GET_POST: &[Method] = &[Method::GET, Method::HEAD, Method::POST];
    const GET_DELETE: &[Method] = &[Method::GET, Method::HEAD, Method::DELETE];
    match segs {
        ["SessionService"] => on_service(
            "/redfish/v1/SessionService",
            GET_PATCH,
            false,
            page(Page::Service),
        ),
        // Public: a POST is the login; a GET is authenticated in `serve`.
        // `Members` of the collection takes a POST as the collection does (DSP0266 6.5.1).
        ["SessionService", "Sessions"] | ["SessionService", "Sessions", "Members"] => {
            on_service(SESSIONS, GET_POST, true, page(Page::Sessions))
        }
        ["SessionService", "Sessions", id] => on_service(
            "/redfish/v1/SessionService/Sessions/{id}",
            GET_DELETE,
            false,
            page(Page::Session(id.to_string())),
        ),
        _ => None,
    }
}

/// Serves this family's pages.
pub(crate) fn serve(ctx: &Ctx<'_>, page: Page) -> Response {
    match page {
        Page::Service if ctx.method == Method::PATCH => patch_service(ctx),
        Page::Service => reply::resource(&ctx.headers, service(ctx)),
        Page::Sessions if ctx.method == Method::POST => login(ctx),
        Page::Sessions => {
            let Some(who) = auth::authenticate(ctx.svc, &ctx.headers, ctx.peer.ip(), None) else {
                return reply::unauthorized();
            };
            let uris = ctx
                .svc
                .sessions
                .of_user(&who.user)
                .into_iter()
                .map(|s| format!("{SESSIONS}/{}", s.id))
                .collect();
            reply::resource(
                &ctx.headers,
                reply::collection(
                    "#SessionCollection.SessionCollection",
                    SESSIONS,
                    "Session Collection",
                    uris,
                ),
            )
        }
        Page::Session(id) => {
            let who = ctx.who();
            let Some(s) = ctx
                .svc
                .sessions
                .of_user(&who.user)
                .into_iter()
                .find(|s| s.id == id)
            else {
                return reply::not_found(&ctx.path);
            };
            if ctx.method == Method::DELETE {
                ctx.svc.sessions.close(&who.user, &id);
                tracing::info!(user = ?who.user, peer = %ctx.peer, "redfish session closed");
                return StatusCode::NO_CONTENT.into_response();
            }
            reply::resource(&ctx.headers, session(&s))
        }
    }
}

fn service(ctx: &Ctx<'_>) -> Value {
    json!({
        "@odata.type": "#SessionService.v1_1_8.SessionService",
        "@odata.id": "/redfish/v1/SessionService",
        "Id": "SessionService",
        "Name": "Session Service",
        "ServiceEnabled": true,
        "SessionTimeout": ctx.svc.sessions.timeout().as_secs(),
        "Status": { "State": "Enabled", "Health": "OK" },
        "Sessions": { "@odata.id": SESSIONS },
    })
}

fn session(s: &SessionInfo) -> Value {
    json!({
        "@odata.type": "#Session.v1_3_0.Session",
        "@odata.id": format!("{SESSIONS}/{}", s.id),
        "Id": s.id,
        "Name": "User Session",
        "UserName": s.user,
    })
}

fn patch_service(ctx: &Ctx<'_>) -> Response {
    if ctx.who().best_role() != Some(Role::Administrator) {
        return reply::forbidden();
    }
    let body = match json_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Some(r) = super::precondition(ctx, &service(ctx)) {
        return r;
    }
    for (key, value) in &body {
        match (key.as_str(), value.as_u64()) {
            ("SessionTimeout", Some(s)) if (TIMEOUT_RANGE.0..=TIMEOUT_RANGE.1).contains(&s) => {
                ctx.svc.sessions.set_timeout(Duration::from_secs(s));
            }
            ("SessionTimeout", _) => {
                return reply::error(
                    StatusCode::BAD_REQUEST,
                    "PropertyValueOutOfRange",
                    format!("The value '{value}' for the property SessionTimeout is not in the supported range of acceptable values."),
                    &[&value.to_string(), "SessionTimeout"],
                )
            }
            _ => return super::actions::unknown_property(key),
        }
    }
    reply::resource(&axum::http::HeaderMap::new(), service(ctx))
}

/// `POST Sessions`: the login.
fn login(ctx: &Ctx<'_>) -> Response {
    let body = match json_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (Some(user), Some(password)) = (
        body.get("UserName").and_then(Value::as_str),
        body.get("Password").and_then(Value::as_str),
    ) else {
        return reply::error(
            StatusCode::BAD_REQUEST,
            "PropertyMissing",
            "The property UserName or Password is a required property and must be included in the request.",
            &["UserName"],
        );
    };
    let password = zeroize::Zeroizing::new(password.as_bytes().to_vec());
    let names = ctx.svc.scope();
    let Some(grants) = auth::login(ctx.svc, &names, ctx.peer.ip(), user, &password) else {
        return reply::unauthorized();
    };
    match ctx.svc.sessions.open(user, grants) {
        Ok((id, token)) => {
            tracing::info!(user = ?user, peer = %ctx.peer, "redfish session opened");
            let info = SessionInfo {
                id: id.clone(),
                user: user.to_string(),
                created: std::time::SystemTime::now(),
            };
            let mut r = reply::json_response(StatusCode::CREATED, &session(&info));
            reply::set(&mut r, header::LOCATION, &format!("{SESSIONS}/{id}"));
            reply::set(
                &mut r,
                header::HeaderName::from_static("x-auth-token"),
                &token,
            );
            r
        }
        Err(OpenError::Full) => {
            let mut r = reply::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SessionLimitExceeded",
                "The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation.",
                &[],
            );
            reply::set(&mut r, header::RETRY_AFTER, "30");
            r
        }
    }
}
