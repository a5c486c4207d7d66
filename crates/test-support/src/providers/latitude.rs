//! The Latitude.sh API, as much as the preset uses.
//!
//! Checked against the models of `latitudesh-python-sdk` on PyPI (3.4.6, API version
//! 2023-06-01): base `https://api.latitude.sh`; the key in `Authorization` (the documentation's
//! authentication page: `Authorization: Bearer KEY`); `Accept: application/vnd.api+json`;
//! `POST /servers/{server_id}/actions` (operation `create-server-action`) with the JSON body
//! `CreateServerActionServersRequestBody` = `{"data": {"type": "actions", "attributes":
//! {"action": "power_on" | "power_off" | "reboot"}}}`, answered 201 with a `ServerAction`
//! (`{"data": {"id", "type": "actions", "attributes": {"status"}}}`); `GET /servers/{server_id}`
//! answered with a `Server` whose `data.attributes.status` is `on`, `off` (or another state).
//! Errors are JSON:API `{"errors": [{"code", "status", "title", "detail"}]}`.

use super::{content_type_is, Incoming, Machine, Provider, Reply};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The Latitude.sh API.
pub struct Latitude {
    /// The API key.
    pub token: String,
    /// Power transitions take this long (the status changes when they end).
    pub transition: Duration,
}

impl Latitude {
    /// An API with this key; transitions of 300 ms.
    pub fn new(token: &str) -> Latitude {
        Latitude {
            token: token.into(),
            transition: Duration::from_millis(300),
        }
    }
}

fn error(status: u16, code: &str, title: &str) -> Reply {
    Reply {
        status,
        body: json!({ "errors": [{ "code": code, "status": status.to_string(), "title": title, "detail": title }] }),
    }
}

/// The status the API shows: the old one until a transition ends.
fn status(m: &Machine) -> &'static str {
    match (m.in_transition(), m.on) {
        (Some(_), true) => "off",
        (Some(_), false) => "on",
        (None, true) => "on",
        (None, false) => "off",
    }
}

impl Provider for Latitude {
    fn handle(
        &mut self,
        req: &Incoming,
        machines: &mut BTreeMap<String, Machine>,
        violations: &mut Vec<String>,
    ) -> Reply {
        let what = format!("{} {}", req.method, req.path);
        match req.header("authorization") {
            Some(a) if a == format!("Bearer {}", self.token) => {}
            Some(a) if a.starts_with("Bearer ") => {
                return error(401, "UNAUTHORIZED", "Unauthorized")
            }
            _ => {
                violations.push(format!("{what}: no Authorization: Bearer header"));
                return error(401, "UNAUTHORIZED", "Unauthorized");
            }
        }
        if req.header("accept") != Some("application/vnd.api+json") {
            violations.push(format!(
                "{what}: Accept {:?}, the SDK sends application/vnd.api+json",
                req.header("accept")
            ));
        }
        let segs = req.segments("/servers/").unwrap_or_default();
        let (id, action) = match (req.method, segs.as_slice()) {
            ("GET", [id]) => (*id, false),
            ("POST", [id, "actions"]) => (*id, true),
            _ => {
                violations.push(format!("{what}: no such operation"));
                return error(404, "not_found", "Not Found");
            }
        };
        let Some(m) = machines.get_mut(id) else {
            return error(404, "not_found", "Specified Record Not Found");
        };
        if !action {
            return Reply {
                status: 200,
                body: json!({
                    "data": {
                        "id": id,
                        "type": "servers",
                        "attributes": {
                            "hostname": format!("host-{id}"),
                            "label": format!("host-{id}"),
                            "status": status(m),
                            "ipmi_status": "Normal",
                            "role": "Bare Metal",
                            "site": "ASH",
                            "locked": false,
                            "rescue_allowed": true,
                            "primary_ipv4": "198.51.100.7",
                            "plan": { "id": "plan_1", "name": "c2.small.x86", "slug": "c2-small-x86", "billing": "hourly" },
                        }
                    },
                    "meta": {}
                }),
            };
        }
        if !content_type_is(req, "application/json") {
            violations.push(format!(
                "{what}: the body must be application/json: {:?}",
                req.header("content-type")
            ));
        }
        let body: Value = serde_json::from_slice(req.body).unwrap_or(Value::Null);
        let action = body
            .pointer("/data/attributes/action")
            .and_then(Value::as_str);
        let shape_ok = body.as_object().is_some_and(|o| o.len() == 1)
            && body["data"]
                .as_object()
                .is_some_and(|d| d.keys().all(|k| k == "type" || k == "attributes"))
            && body["data"]["type"] == "actions"
            && body["data"]["attributes"]
                .as_object()
                .is_some_and(|a| a.len() == 1);
        let Some(action) =
            action.filter(|a| shape_ok && ["power_on", "power_off", "reboot"].contains(a))
        else {
            violations.push(format!(
                "{what}: not a CreateServerActionServersRequestBody: {body}"
            ));
            return error(422, "invalid_attribute", "Invalid attribute");
        };
        m.actions.push(action.to_string());
        let t = self.transition;
        match action {
            "power_on" if !m.on => m.go(true, "starting", t),
            "power_off" if m.on => m.go(false, "stopping", t),
            "reboot" if m.on => m.go(true, "resetting", t),
            _ => {}
        }
        Reply {
            status: 201,
            body: json!({ "data": { "id": format!("act_{}", m.actions.len()), "type": "actions", "attributes": { "status": "pending" } }, "meta": {} }),
        }
    }
}
