//! The fake's HTTP side: the API routes under `/metal/v1`, and the `/_fake/` control routes.

use crate::world::Device;
use crate::{Fake, Fault};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

const PREFIX: &str = "/metal/v1";

pub(crate) fn router(fake: Arc<Fake>) -> Router {
    Router::new()
        .route("/metal/v1/devices/:id", get(get_device).put(put_device))
        .route(
            "/metal/v1/devices/:id/actions",
            axum::routing::post(post_action),
        )
        .route("/metal/v1/projects/:id/devices", get(list_devices))
        .route("/_fake/devices", get(control_devices))
        .route(
            "/_fake/faults",
            axum::routing::post(control_fault).delete(control_clear),
        )
        .with_state(fake)
}

/// What an API handler answers: status and JSON body (none for 202).
type Answer = (StatusCode, Option<Value>);

fn error(status: StatusCode, msg: &str) -> Answer {
    (status, Some(json!({ "errors": [msg] })))
}

/// The device as the API shows it (a subset of the spec's `Device` schema).
fn device_json(d: &Device) -> Value {
    let v = &d.view;
    let s = &v.spec;
    let mut j = json!({
        "id": s.id,
        "short_id": s.id.chars().take(8).collect::<String>(),
        "hostname": s.hostname,
        "href": format!("{PREFIX}/devices/{}", s.id),
        "state": v.state,
        "always_pxe": v.always_pxe,
        "tags": s.tags,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "plan": { "slug": s.plan, "name": s.plan, "class": s.plan },
        "facility": { "code": s.facility, "name": s.facility, "metro": { "code": s.metro } },
        "metro": { "code": s.metro, "name": s.metro },
        "project": { "id": s.project_id, "href": format!("{PREFIX}/projects/{}", s.project_id) },
        "actions": [
            { "type": "power_on", "name": "Power On" },
            { "type": "power_off", "name": "Power Off" },
            { "type": "reboot", "name": "Reboot" }
        ],
    });
    if let Some(url) = &v.ipxe_script_url {
        j["ipxe_script_url"] = json!(url);
    }
    j
}

/// Runs one API exchange: token, rate limit and faults first, then `handle`; logs it.
async fn api(
    fake: &Fake,
    method: Method,
    path: String,
    query: Option<String>,
    headers: &HeaderMap,
    body: Option<&Bytes>,
    handle: impl FnOnce(&Fake) -> Answer,
) -> Response {
    fake.requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let token_ok = headers
        .get("x-auth-token")
        .is_some_and(|t| bool::from(t.as_bytes().ct_eq(fake.config.token.as_bytes())));
    let mut extra = HeaderMap::new();
    let (status, out) = if !token_ok {
        error(StatusCode::UNAUTHORIZED, "Invalid authentication token")
    } else {
        match fake.rate_limited() {
            Err(reset) => {
                rate_limit_headers(&mut extra, fake.config.rate_limit.unwrap_or(0), 0, reset);
                extra.insert("retry-after", HeaderValue::from(reset));
                error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded")
            }
            Ok(limits) => {
                if let Some((limit, left, reset)) = limits {
                    rate_limit_headers(&mut extra, limit, left, reset);
                }
                match fake.next_fault(method == Method::POST) {
                    Some(Fault::Status { code }) | Some(Fault::ActionStatus { code }) => {
                        let s =
                            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                        error(s, "Injected failure")
                    }
                    Some(Fault::RateLimited { retry_after }) => {
                        rate_limit_headers(&mut extra, 1, 0, retry_after);
                        extra.insert("retry-after", HeaderValue::from(retry_after));
                        error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded")
                    }
                    Some(Fault::Slow { ms }) => {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        handle(fake)
                    }
                    Some(Fault::Huge { bytes, chunked }) => return huge(bytes, chunked),
                    None => handle(fake),
                }
            }
        }
    };
    let request_body = body
        .map(|b| serde_json::from_slice::<Value>(b).unwrap_or(json!(String::from_utf8_lossy(b))));
    fake.record(&json!({
        "method": method.as_str(),
        "path": path,
        "query": query.unwrap_or_default(),
        "has_token": headers.contains_key("x-auth-token"),
        "request_body": request_body,
        "status": status.as_u16(),
        "response_body": out,
    }));
    let mut resp = match out {
        Some(v) => (status, axum::Json(v)).into_response(),
        None => status.into_response(),
    };
    resp.headers_mut().extend(extra);
    resp
}

/// A 200 answer of `bytes` spaces: whole (with its `Content-Length`), or in 64 KiB chunks
/// without one.
fn huge(bytes: u64, chunked: bool) -> Response {
    const CHUNK: u64 = 64 * 1024;
    let body = if chunked {
        let chunks = (0..bytes.div_ceil(CHUNK)).map(move |i| {
            let len = CHUNK.min(bytes - i * CHUNK) as usize;
            Ok::<_, std::convert::Infallible>(Bytes::from(vec![b' '; len]))
        });
        axum::body::Body::from_stream(futures_util::stream::iter(chunks))
    } else {
        axum::body::Body::from(vec![b' '; bytes as usize])
    };
    let mut resp = Response::new(body);
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn rate_limit_headers(h: &mut HeaderMap, limit: u32, left: u32, reset: u64) {
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(left));
    h.insert("x-ratelimit-reset", HeaderValue::from(reset));
}

async fn get_device(
    State(fake): State<Arc<Fake>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let path = format!("{PREFIX}/devices/{id}");
    api(&fake, Method::GET, path, q, &headers, None, |f| {
        let mut devs = f.devices.lock().expect("devices lock");
        match devs.0.get_mut(&id) {
            Some(d) => {
                d.advance(Instant::now());
                d.view.gets += 1;
                (StatusCode::OK, Some(device_json(d)))
            }
            None => error(StatusCode::NOT_FOUND, "Not found"),
        }
    })
    .await
}

async fn put_device(
    State(fake): State<Arc<Fake>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("{PREFIX}/devices/{id}");
    api(&fake, Method::PUT, path, q, &headers, Some(&body), |f| {
        let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(&body) else {
            return error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid JSON body");
        };
        let mut devs = f.devices.lock().expect("devices lock");
        let Some(d) = devs.0.get_mut(&id) else {
            return error(StatusCode::NOT_FOUND, "Not found");
        };
        d.advance(Instant::now());
        if let Some(v) = input.get("always_pxe") {
            match v.as_bool() {
                Some(b) => d.view.always_pxe = b,
                None => {
                    return error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "always_pxe must be a boolean",
                    )
                }
            }
        }
        if let Some(v) = input.get("ipxe_script_url") {
            match v.as_str() {
                Some("") => d.view.ipxe_script_url = None,
                Some(u) => d.view.ipxe_script_url = Some(u.to_string()),
                None => {
                    return error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "ipxe_script_url must be a string",
                    )
                }
            }
        }
        (StatusCode::OK, Some(device_json(d)))
    })
    .await
}

async fn post_action(
    State(fake): State<Arc<Fake>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("{PREFIX}/devices/{id}/actions");
    let transition = fake.config.transition;
    api(
        &fake,
        Method::POST,
        path,
        None,
        &headers,
        Some(&body),
        |f| {
            let action = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string));
            let Some(action) = action else {
                return error(StatusCode::UNPROCESSABLE_ENTITY, "type is required");
            };
            let mut devs = f.devices.lock().expect("devices lock");
            let Some(d) = devs.0.get_mut(&id) else {
                return error(StatusCode::NOT_FOUND, "Not found");
            };
            match d.act(&action, Instant::now(), transition) {
                Ok(()) => (StatusCode::ACCEPTED, None),
                Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, &e.0),
            }
        },
    )
    .await
}

async fn list_devices(
    State(fake): State<Arc<Fake>>,
    Path(project): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let path = format!("{PREFIX}/projects/{project}/devices");
    let params: Vec<(String, String)> = q
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    api(
        &fake,
        Method::GET,
        path.clone(),
        q.clone(),
        &headers,
        None,
        |f| {
            let page: usize = param("page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1)
                .max(1);
            let per_page: usize = param("per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(10)
                .clamp(1, 1000);
            let tag = param("tag");
            let mut devs = f.devices.lock().expect("devices lock");
            let now = Instant::now();
            let matching: Vec<Value> = devs
                .0
                .values_mut()
                .filter(|d| d.view.spec.project_id == project)
                .filter(|d| tag.as_ref().is_none_or(|t| d.view.spec.tags.contains(t)))
                .map(|d| {
                    d.advance(now);
                    device_json(d)
                })
                .collect();
            let total = matching.len();
            let last_page = total.div_ceil(per_page).max(1);
            let items: Vec<Value> = matching
                .into_iter()
                .skip((page - 1).saturating_mul(per_page))
                .take(per_page)
                .collect();
            let href = |p: usize| {
                let mut h = format!("{path}?page={p}&per_page={per_page}");
                if let Some(t) = &tag {
                    h.push_str(&format!("&tag={t}"));
                }
                json!({ "href": h })
            };
            let mut meta = json!({
                "current_page": page,
                "last_page": last_page,
                "total": total,
                "first": href(1),
                "last": href(last_page),
                "self": href(page),
            });
            if page < last_page {
                meta["next"] = href(page + 1);
            }
            if page > 1 {
                meta["previous"] = href(page - 1);
            }
            (
                StatusCode::OK,
                Some(json!({ "devices": items, "meta": meta })),
            )
        },
    )
    .await
}

/// Decodes `%XX` escapes and `+` in a query value.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn control_devices(State(fake): State<Arc<Fake>>) -> Response {
    axum::Json(fake.devices()).into_response()
}

/// `POST /_fake/faults`: `{"fault": {"kind": "status", "code": 503}, "count": 2}`, or
/// `{"down": 503}` for every request until `DELETE /_fake/faults`.
#[derive(serde::Deserialize)]
struct FaultRequest {
    #[serde(default)]
    fault: Option<Fault>,
    #[serde(default = "one")]
    count: usize,
    #[serde(default)]
    down: Option<u16>,
}

fn one() -> usize {
    1
}

async fn control_fault(
    State(fake): State<Arc<Fake>>,
    axum::Json(r): axum::Json<FaultRequest>,
) -> Response {
    if let Some(code) = r.down {
        fake.set_down(Some(code));
    }
    if let Some(f) = r.fault {
        fake.inject(f, r.count);
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn control_clear(State(fake): State<Arc<Fake>>) -> Response {
    fake.set_down(None);
    StatusCode::NO_CONTENT.into_response()
}
