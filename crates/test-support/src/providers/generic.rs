//! A made-up power API, for a configuration written without a preset: what a small provider or
//! an in-house service might offer. Its shape is its own (this module is the specification):
//!
//! - every request carries the key in `X-Api-Key` and the query `site=SITE`;
//! - `GET /api/machines/{id}`: `{"machine": {"id", "power": {"state": "running" | "stopped" |
//!   "booting"}}}`;
//! - `POST /api/machines/{id}/power` with the JSON `{"action": "on" | "off" | "reboot" | "reset"
//!   | "shutdown" | "nmi"}`: 202 `{"accepted": true}`, or 409 when the state does not allow it;
//! - `PUT /api/machines/{id}/boot` with the JSON `{"device": "network" | "local" | "cdrom",
//!   "persistent": BOOL, "uefi": BOOL}` (booleans, not strings), `DELETE` to clear: 204.

use super::{content_type_is, Incoming, Machine, Provider, Reply};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The made-up API.
pub struct Generic {
    /// The API key.
    pub key: String,
    /// The site every request names.
    pub site: String,
    /// Power transitions take this long.
    pub transition: Duration,
}

impl Generic {
    /// An API with this key for `site`; transitions of 300 ms.
    pub fn new(key: &str, site: &str) -> Generic {
        Generic {
            key: key.into(),
            site: site.into(),
            transition: Duration::from_millis(300),
        }
    }
}

fn answer(status: u16, body: Value) -> Reply {
    Reply { status, body }
}

impl Provider for Generic {
    fn handle(
        &mut self,
        req: &Incoming,
        machines: &mut BTreeMap<String, Machine>,
        violations: &mut Vec<String>,
    ) -> Reply {
        let what = format!("{} {}", req.method, req.path);
        match req.header("x-api-key") {
            Some(k) if k == self.key => {}
            Some(_) => return answer(401, json!({ "message": "bad key" })),
            None => {
                violations.push(format!("{what}: no X-Api-Key"));
                return answer(401, json!({ "message": "no key" }));
            }
        }
        if req.query != Some(&format!("site={}", self.site)) {
            violations.push(format!(
                "{what}: the query must be site={}: {:?}",
                self.site, req.query
            ));
            return answer(400, json!({ "message": "which site?" }));
        }
        let segs = req.segments("/api/machines/").unwrap_or_default();
        let (id, call) = match (req.method, segs.as_slice()) {
            ("GET", [id]) => (*id, "status"),
            ("POST", [id, "power"]) => (*id, "power"),
            ("PUT", [id, "boot"]) => (*id, "boot"),
            ("DELETE", [id, "boot"]) => (*id, "clear"),
            _ => {
                violations.push(format!("{what}: no such call"));
                return answer(404, json!({ "message": "no such call" }));
            }
        };
        let Some(m) = machines.get_mut(id) else {
            return answer(404, json!({ "message": "no such machine" }));
        };
        let body: Value = serde_json::from_slice(req.body).unwrap_or(Value::Null);
        if matches!(call, "power" | "boot") && !content_type_is(req, "application/json") {
            violations.push(format!("{what}: the body must be JSON"));
        }
        let t = self.transition;
        match call {
            "status" => {
                let state = match (m.in_transition(), m.on) {
                    (Some(_), true) => "booting",
                    (_, true) => "running",
                    (_, false) => "stopped",
                };
                answer(
                    200,
                    json!({ "machine": { "id": id, "power": { "state": state } } }),
                )
            }
            "power" => {
                let action = body.get("action").and_then(Value::as_str).unwrap_or("");
                if body.as_object().is_none_or(|o| o.len() != 1) {
                    violations.push(format!("{what}: the body is {{\"action\": ...}}: {body}"));
                }
                let ok = match action {
                    "on" if !m.on => {
                        m.go(true, "starting", t);
                        true
                    }
                    "off" | "shutdown" if m.on => {
                        m.go(false, "stopping", t);
                        true
                    }
                    "reboot" | "reset" if m.on => {
                        m.go(true, "resetting", t);
                        true
                    }
                    "nmi" if m.on => true,
                    "on" | "off" | "shutdown" | "reboot" | "reset" | "nmi" => false,
                    _ => {
                        violations.push(format!("{what}: unknown action {action:?}"));
                        return answer(400, json!({ "message": "unknown action" }));
                    }
                };
                if !ok {
                    return answer(409, json!({ "message": format!("cannot {action} now") }));
                }
                m.actions.push(action.to_string());
                answer(202, json!({ "accepted": true }))
            }
            "boot" => {
                let device = body.get("device").and_then(Value::as_str);
                let typed = body.get("persistent").is_some_and(Value::is_boolean)
                    && body.get("uefi").is_some_and(Value::is_boolean)
                    && body.as_object().is_some_and(|o| o.len() == 3);
                let Some(device) =
                    device.filter(|d| typed && ["network", "local", "cdrom"].contains(d))
                else {
                    violations.push(format!("{what}: not a boot setting: {body}"));
                    return answer(400, json!({ "message": "bad boot setting" }));
                };
                m.actions.push(format!("boot {device}"));
                m.extra.insert(
                    "boot".into(),
                    format!(
                        "{device} persistent={} uefi={}",
                        body["persistent"], body["uefi"]
                    ),
                );
                answer(204, Value::Null)
            }
            _ => {
                m.actions.push("boot clear".into());
                m.extra.remove("boot");
                answer(204, Value::Null)
            }
        }
    }
}
