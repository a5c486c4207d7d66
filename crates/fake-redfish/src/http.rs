//! The fake's HTTP side: one handler that checks the credentials, routes by method and path,
//! and records the exchange. Resource shapes follow the DMTF schema (ServiceRoot v1.15,
//! ComputerSystem v1.20, ActionInfo v1.1, Sensor v1.7, Task v1.7) as bmcweb serves them.

use crate::answer::{collection, error, ok, status, Answer};
use crate::{logs, new_token, Exchange, Fake, Power, World};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

const SYSTEM: &str = "/redfish/v1/Systems/system";
const CHASSIS: &str = "/redfish/v1/Chassis/chassis";
const SESSIONS: &str = "/redfish/v1/SessionService/Sessions";
const MONITORS: &str = "/redfish/v1/TaskService/TaskMonitors";

pub(crate) fn router(fake: Arc<Fake>) -> Router {
    Router::new().fallback(handle).with_state(fake)
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/').to_string();
    let json_body: Option<Value> = serde_json::from_slice(&body).ok();
    let auth = if headers.contains_key("x-auth-token") {
        "token"
    } else if headers.contains_key(header::AUTHORIZATION) {
        "basic"
    } else {
        "none"
    };
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut w = fake.world();
    let token_ok = headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| w.sessions.contains_key(t));
    let open = path == "/redfish/v1" || (method == Method::POST && path == SESSIONS);
    let fault = w.down.or_else(|| w.take_fault(method.as_str()));
    let answer = if let Some(code) = fault {
        error(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "InternalError",
            "The request failed due to an internal service error.  The service is still operational.",
        )
    } else if let Some(secs) = w.rate_limit.take() {
        let mut a = error(
            StatusCode::TOO_MANY_REQUESTS,
            "ServiceTemporarilyUnavailable",
            "Too many requests.",
        );
        a.headers.push((header::RETRY_AFTER, secs.to_string()));
        a
    } else if !open && !token_ok {
        // Sessions only: basic auth is refused like a missing or forgotten token.
        error(
            StatusCode::UNAUTHORIZED,
            "NoValidSession",
            "There is no valid session established with the implementation.",
        )
    } else {
        route(
            &fake,
            &mut w,
            (&method, &path, uri.query()),
            &headers,
            json_body.as_ref(),
            if_match.as_deref(),
        )
    };
    let mut logged = json_body;
    if let Some(Value::Object(m)) = logged.as_mut() {
        if m.contains_key("Password") {
            m.insert("Password".into(), json!("<redacted>"));
        }
    }
    w.exchanges.push(Exchange {
        method: method.to_string(),
        path: path.clone(),
        auth: auth.into(),
        if_match,
        body: logged,
        status: answer.status.as_u16(),
    });
    let mut answer = answer;
    if let Some((prefix, keys)) = &w.link_prefix {
        if let Some(b) = answer.body.as_mut() {
            prefix_links(b, prefix, keys);
        }
        if keys.iter().any(|k| k == "Location") {
            for (k, v) in answer.headers.iter_mut() {
                if *k == header::LOCATION {
                    *v = format!("{prefix}{v}");
                }
            }
        }
    }
    drop(w);
    let mut resp = match answer.body {
        Some(b) => (answer.status, axum::Json(b)).into_response(),
        None => answer.status.into_response(),
    };
    resp.headers_mut()
        .insert("OData-Version", HeaderValue::from_static("4.0"));
    for (k, v) in answer.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

/// Puts `prefix` before every string under one of `keys`, anywhere in `v`.
fn prefix_links(v: &mut Value, prefix: &str, keys: &[String]) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::String(s) if keys.contains(k) => *s = format!("{prefix}{s}"),
                    _ => prefix_links(x, prefix, keys),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| prefix_links(x, prefix, keys)),
        _ => {}
    }
}

fn route(
    fake: &Fake,
    w: &mut World,
    (method, path, query): (&Method, &str, Option<&str>),
    headers: &HeaderMap,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> Answer {
    let get = method == Method::GET;
    if let Some(a) = logs::route(w, method, path, query) {
        return a;
    }
    if let Some(a) = crate::media::route(w, method, path, body) {
        return a;
    }
    match path {
        "/redfish/v1" if get => ok(service_root()),
        "/redfish/v1/SessionService" if get => ok(json!({
            "@odata.id": "/redfish/v1/SessionService",
            "@odata.type": "#SessionService.v1_1_8.SessionService",
            "Id": "SessionService", "Name": "Session Service",
            "ServiceEnabled": true, "SessionTimeout": 3600,
            "Sessions": {"@odata.id": SESSIONS}
        })),
        SESSIONS if *method == Method::POST => login(fake, w, body),
        SESSIONS if get => ok(collection(
            SESSIONS,
            "#SessionCollection.SessionCollection",
            w.sessions
                .values()
                .map(|id| format!("{SESSIONS}/{id}"))
                .collect(),
        )),
        "/redfish/v1/Systems" if get => ok(collection(
            "/redfish/v1/Systems",
            "#ComputerSystemCollection.ComputerSystemCollection",
            vec![SYSTEM.into()],
        )),
        SYSTEM if get => {
            let mut a = ok(system(fake, w));
            a.headers.push((header::ETAG, format!("\"{}\"", w.etag)));
            a
        }
        SYSTEM if *method == Method::PATCH => patch_system(w, body, if_match),
        "/redfish/v1/Systems/system/ResetActionInfo" if get => ok(json!({
            "@odata.id": "/redfish/v1/Systems/system/ResetActionInfo",
            "@odata.type": "#ActionInfo.v1_1_2.ActionInfo",
            "Id": "ResetActionInfo", "Name": "Reset Action Info",
            "Parameters": [{
                "Name": "ResetType", "Required": true, "DataType": "String",
                "AllowableValues": fake.reset_types()
            }]
        })),
        "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset" if *method == Method::POST => {
            reset(fake, w, body)
        }
        "/redfish/v1/Chassis" if get => ok(collection(
            "/redfish/v1/Chassis",
            "#ChassisCollection.ChassisCollection",
            vec![CHASSIS.into()],
        )),
        CHASSIS if get => ok(json!({
            "@odata.id": CHASSIS, "@odata.type": "#Chassis.v1_22_0.Chassis",
            "Id": "chassis", "Name": "chassis", "ChassisType": "RackMount",
            "PowerState": w.power_state(),
            "Sensors": {"@odata.id": format!("{CHASSIS}/Sensors")},
            "Links": {"ComputerSystems": [{"@odata.id": SYSTEM}]}
        })),
        p if get && p == format!("{CHASSIS}/Sensors") => ok(collection(
            p,
            "#SensorCollection.SensorCollection",
            SENSORS.iter().map(|s| format!("{p}/{}", s.0)).collect(),
        )),
        p if get && p.starts_with(&format!("{CHASSIS}/Sensors/")) => {
            let id = &p[CHASSIS.len() + "/Sensors/".len()..];
            match SENSORS.iter().find(|s| s.0 == id) {
                Some(s) => ok(sensor(s, w)),
                None => error(StatusCode::NOT_FOUND, "ResourceNotFound", "no such sensor"),
            }
        }
        p if get && p.starts_with(MONITORS) => task_monitor(w, p),
        p if *method == Method::DELETE && p.starts_with(&format!("{SESSIONS}/")) => {
            let id = &p[SESSIONS.len() + 1..];
            let token = headers.get("x-auth-token").and_then(|v| v.to_str().ok());
            match token {
                Some(t) if w.sessions.get(t).is_some_and(|s| s.to_string() == id) => {
                    w.sessions.remove(t);
                    w.logouts += 1;
                    status(StatusCode::NO_CONTENT)
                }
                _ => error(StatusCode::NOT_FOUND, "ResourceNotFound", "no such session"),
            }
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "The requested resource was not found.",
        ),
    }
}

fn service_root() -> Value {
    json!({
        "@odata.id": "/redfish/v1",
        "@odata.type": "#ServiceRoot.v1_15_0.ServiceRoot",
        "Id": "RootService", "Name": "Root Service", "RedfishVersion": "1.17.0",
        "UUID": "92384634-2938-2342-8820-489239905423",
        "Systems": {"@odata.id": "/redfish/v1/Systems"},
        "Chassis": {"@odata.id": "/redfish/v1/Chassis"},
        "Managers": {"@odata.id": "/redfish/v1/Managers"},
        "SessionService": {"@odata.id": "/redfish/v1/SessionService"},
        "TaskService": {"@odata.id": "/redfish/v1/TaskService"},
        "Links": {"Sessions": {"@odata.id": SESSIONS}}
    })
}

fn login(fake: &Fake, w: &mut World, body: Option<&Value>) -> Answer {
    let field = |k: &str| body.and_then(|b| b.get(k)).and_then(Value::as_str);
    if field("UserName") != Some(fake.config.user.as_str())
        || field("Password") != Some(fake.config.password.as_str())
    {
        return error(
            StatusCode::UNAUTHORIZED,
            "ResourceAtUriUnauthorized",
            "While accessing the resource at /redfish/v1/SessionService/Sessions, the service received an authorization error.",
        );
    }
    let id = w.next_id;
    w.next_id += 1;
    let token = new_token(id);
    w.sessions.insert(token.clone(), id);
    w.logins += 1;
    let location = format!("{SESSIONS}/{id}");
    Answer {
        status: StatusCode::CREATED,
        body: Some(json!({
            "@odata.id": location, "@odata.type": "#Session.v1_5_0.Session",
            "Id": id.to_string(), "Name": "User Session", "UserName": fake.config.user
        })),
        headers: vec![
            (header::HeaderName::from_static("x-auth-token"), token),
            (header::LOCATION, location),
        ],
    }
}

fn system(fake: &Fake, w: &World) -> Value {
    json!({
        "@odata.id": SYSTEM, "@odata.type": "#ComputerSystem.v1_20_0.ComputerSystem",
        "@odata.etag": format!("\"{}\"", w.etag),
        "Id": "system", "Name": "system", "SystemType": "Physical",
        "Manufacturer": "Contoso", "Model": "3500RX", "SerialNumber": "437XR1138R2",
        "PartNumber": "224071-J23", "AssetTag": "rack7-u12",
        "UUID": "38947555-7742-3448-3784-823347823834",
        "PowerState": w.power_state(),
        "Status": {"State": "Enabled", "Health": "OK"},
        "Boot": {
            "BootSourceOverrideEnabled": w.boot_enabled,
            "BootSourceOverrideTarget": w.boot_target,
            "BootSourceOverrideMode": w.boot_mode,
            "BootSourceOverrideTarget@Redfish.AllowableValues":
                ["None", "Pxe", "Hdd", "Cd", "Diags", "BiosSetup", "Usb"]
        },
        "Actions": {"#ComputerSystem.Reset": {
            "target": format!("{SYSTEM}/Actions/ComputerSystem.Reset"),
            "@Redfish.ActionInfo": format!("{SYSTEM}/ResetActionInfo")
        }},
        "LogServices": {"@odata.id": logs::SYSTEM_LOGS},
        "Links": {"Chassis": [{"@odata.id": CHASSIS}], "ManagedBy": [{"@odata.id": logs::MANAGER}]},
        "Oem": {"Fake": {"ResetTypes": fake.reset_types().len()}}
    })
}

fn patch_system(w: &mut World, body: Option<&Value>, if_match: Option<&str>) -> Answer {
    if std::mem::take(&mut w.change_before_patch) {
        w.etag += 1;
    }
    let current = format!("\"{}\"", w.etag);
    match if_match {
        None => {
            return error(
                StatusCode::PRECONDITION_REQUIRED,
                "PreconditionRequired",
                "A precondition header or annotation is required to change the resource.",
            )
        }
        Some(tag) if tag != current && tag != "*" => {
            return error(
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
                "The ETag supplied did not match the ETag required to change this resource.",
            )
        }
        Some(_) => {}
    }
    let Some(boot) = body.and_then(|b| b.get("Boot")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "PropertyUnknown",
            "only Boot can be changed",
        );
    };
    let text = |k: &str| boot.get(k).and_then(Value::as_str);
    let allowed = ["None", "Pxe", "Hdd", "Cd", "Diags", "BiosSetup", "Usb"];
    if let Some(t) = text("BootSourceOverrideTarget") {
        if !allowed.contains(&t) {
            return error(
                StatusCode::BAD_REQUEST,
                "PropertyValueNotInList",
                "target not allowed",
            );
        }
        w.boot_target = t.into();
    }
    if let Some(e) = text("BootSourceOverrideEnabled") {
        if !["Once", "Continuous", "Disabled"].contains(&e) {
            return error(
                StatusCode::BAD_REQUEST,
                "PropertyValueNotInList",
                "enabled not allowed",
            );
        }
        w.boot_enabled = e.into();
    }
    if let Some(m) = text("BootSourceOverrideMode") {
        if !["UEFI", "Legacy"].contains(&m) {
            return error(
                StatusCode::BAD_REQUEST,
                "PropertyValueNotInList",
                "mode not allowed",
            );
        }
        w.boot_mode = m.into();
    }
    w.etag += 1;
    status(StatusCode::NO_CONTENT)
}

fn reset(fake: &Fake, w: &mut World, body: Option<&Value>) -> Answer {
    let Some(t) = body
        .and_then(|b| b.get("ResetType"))
        .and_then(Value::as_str)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "ActionParameterMissing",
            "ResetType missing",
        );
    };
    if !fake.reset_types().contains(&t) {
        return error(
            StatusCode::BAD_REQUEST,
            "ActionParameterNotSupported",
            &format!("The parameter {t} for the action ComputerSystem.Reset is not supported on the target resource."),
        );
    }
    let now = Instant::now();
    let on = matches!(w.power, Power::On | Power::PoweringOn(_));
    let later = now + fake.config.transition;
    match t {
        "On" => {
            if !on {
                w.power = Power::PoweringOn(later);
            }
        }
        "ForceOff" => w.power = Power::Off,
        "GracefulShutdown" if on => w.power = Power::PoweringOff(later),
        "GracefulRestart" | "ForceRestart" | "PowerCycle" if on => w.boot(),
        "PowerCycle" => w.power = Power::PoweringOn(later),
        "Nmi" if on => w.nmis += 1,
        _ => {
            return error(
                StatusCode::CONFLICT,
                "ActionNotSupported",
                "The system is powered off.",
            )
        }
    }
    w.resets.push(t.into());
    if t != "On" {
        return status(StatusCode::NO_CONTENT);
    }
    // Power on is a task: its monitor runs until the system is on.
    let id = w.next_id;
    w.next_id += 1;
    let ends = match w.power {
        Power::PoweringOn(t) => t,
        _ => now,
    };
    w.tasks.insert(id, ends);
    Answer {
        status: StatusCode::ACCEPTED,
        body: Some(task(id, "Running")),
        headers: vec![
            (header::LOCATION, format!("{MONITORS}/{id}")),
            (header::RETRY_AFTER, "1".into()),
        ],
    }
}

fn task(id: u64, state: &str) -> Value {
    json!({
        "@odata.id": format!("/redfish/v1/TaskService/Tasks/{id}"),
        "@odata.type": "#Task.v1_7_0.Task", "Id": id.to_string(), "Name": "Task",
        "TaskState": state, "TaskStatus": "OK",
        "TaskMonitor": format!("{MONITORS}/{id}")
    })
}

fn task_monitor(w: &World, path: &str) -> Answer {
    let id: Option<u64> = path.rsplit('/').next().and_then(|s| s.parse().ok());
    match id.and_then(|id| w.tasks.get(&id).map(|t| (id, *t))) {
        Some((id, ends)) if w.stall_tasks || Instant::now() < ends => Answer {
            status: StatusCode::ACCEPTED,
            body: Some(task(id, "Running")),
            headers: vec![(header::RETRY_AFTER, "1".into())],
        },
        Some((id, _)) => ok(task(id, "Completed")),
        None => error(StatusCode::NOT_FOUND, "ResourceNotFound", "no such task"),
    }
}

/// The sensors: id, name, reading type, unit, reading when on (off: fans stop, power drops),
/// upper caution and critical thresholds.
type SensorSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    f64,
    f64,
    f64,
);

const SENSORS: &[SensorSpec] = &[
    (
        "CPU1_Temp",
        "CPU1 Temp",
        "Temperature",
        "Cel",
        47.0,
        85.0,
        95.0,
    ),
    (
        "Inlet_Temp",
        "Inlet Temp",
        "Temperature",
        "Cel",
        23.0,
        40.0,
        45.0,
    ),
    (
        "Fan_1",
        "Fan 1",
        "Rotational",
        "RPM",
        5400.0,
        12000.0,
        14000.0,
    ),
    (
        "Total_Power",
        "Total Power",
        "Power",
        "W",
        210.0,
        700.0,
        800.0,
    ),
    ("P12V", "P12V", "Voltage", "V", 12.1, 12.6, 13.2),
];

fn sensor(s: &SensorSpec, w: &World) -> Value {
    let on = matches!(w.power, Power::On | Power::PoweringOff(_));
    let reading = match (on, s.2) {
        (true, _) => s.4,
        (false, "Rotational") => 0.0,
        (false, "Power") => 8.0,
        (false, "Temperature") => 21.0,
        (false, _) => 0.0,
    };
    json!({
        "@odata.id": format!("{CHASSIS}/Sensors/{}", s.0),
        "@odata.type": "#Sensor.v1_7_0.Sensor",
        "Id": s.0, "Name": s.1, "ReadingType": s.2, "ReadingUnits": s.3,
        "Reading": reading,
        "Status": {"State": "Enabled", "Health": "OK"},
        "Thresholds": {"UpperCaution": {"Reading": s.5}, "UpperCritical": {"Reading": s.6}}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_is_consumed_by_the_next_boot_and_etags_guard_patches() {
        let fake = Fake::new(crate::FakeConfig {
            user: "u".into(),
            password: "p".into(),
            transition: std::time::Duration::from_millis(0),
            offer_power_cycle: false,
            on_at_start: true,
        });
        let mut w = fake.world();
        let patch = json!({"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}});
        assert_eq!(patch_system(&mut w, Some(&patch), None).status, 428);
        assert_eq!(
            patch_system(&mut w, Some(&patch), Some("\"0\"")).status,
            412
        );
        assert_eq!(
            patch_system(&mut w, Some(&patch), Some("\"1\"")).status,
            204
        );
        let cycle = json!({"ResetType": "PowerCycle"});
        assert_eq!(reset(&fake, &mut w, Some(&cycle)).status, 400);
        let restart = json!({"ResetType": "ForceRestart"});
        assert_eq!(reset(&fake, &mut w, Some(&restart)).status, 204);
        assert_eq!(
            (w.boots, w.pxe_boots, w.boot_enabled.as_str()),
            (1, 1, "Disabled")
        );
    }
}
