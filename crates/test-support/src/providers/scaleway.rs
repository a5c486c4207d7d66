//! Scaleway's Elastic Metal API (Bare Metal API v1), as much as the preset uses.
//!
//! Checked against the `scaleway` and `scaleway-core` packages on PyPI (2.12.0):
//! `scaleway_core.api.API._request` sends the secret key in `X-Auth-Token`, `Accept:
//! application/json`, and for POST a JSON body with `Content-Type: application/json;
//! charset=utf-8`; `scaleway.baremetal.v1.api.BaremetalV1API` calls `GET
//! /baremetal/v1/zones/{zone}/servers/{server_id}` (`get_server`), and `POST .../start`,
//! `.../stop`, `.../reboot` (`start_server`, `stop_server`, `reboot_server`), whose bodies are
//! `marshal_StartServerRequest` / `marshal_RebootServerRequest` (only `boot_type`, `normal` or
//! `rescue`, and `ssh_key_ids`, both optional) and `{}` for stop, each answered with a `Server`;
//! `ServerStatus` is `unknown`, `delivering`, `ready`, `stopping`, `stopped`, `starting`,
//! `error`, `deleting`, `locked`, `out_of_stock`, `ordered`, `resetting` or `migrating`. Errors
//! are `{"message", "type", ...}` (401 `denied_authentication`, 404 `not_found`, 409
//! `transient_state`, 412 `precondition_failed`).

use super::{content_type_is, Incoming, Machine, Provider, Reply};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The Elastic Metal API of one zone.
pub struct Scaleway {
    /// The API secret key.
    pub secret_key: String,
    /// The zone the servers are in.
    pub zone: String,
    /// Power transitions take this long.
    pub transition: Duration,
}

impl Scaleway {
    /// An API with this key for servers in `zone`; transitions of 300 ms.
    pub fn new(secret_key: &str, zone: &str) -> Scaleway {
        Scaleway {
            secret_key: secret_key.into(),
            zone: zone.into(),
            transition: Duration::from_millis(300),
        }
    }
}

fn error(status: u16, ty: &str, message: &str) -> Reply {
    Reply {
        status,
        body: json!({ "message": message, "type": ty }),
    }
}

/// The `ServerStatus` the API shows.
fn status(m: &Machine) -> &'static str {
    match (m.in_transition(), m.on) {
        (Some("resetting"), _) => "resetting",
        (Some(_), true) => "starting",
        (Some(_), false) => "stopping",
        (None, true) => "ready",
        (None, false) => "stopped",
    }
}

impl Provider for Scaleway {
    fn handle(
        &mut self,
        req: &Incoming,
        machines: &mut BTreeMap<String, Machine>,
        violations: &mut Vec<String>,
    ) -> Reply {
        let what = format!("{} {}", req.method, req.path);
        match req.header("x-auth-token") {
            Some(k) if k == self.secret_key => {}
            Some(_) => return error(401, "denied_authentication", "authentication is denied"),
            None => {
                violations.push(format!("{what}: no X-Auth-Token header"));
                return error(401, "denied_authentication", "authentication is denied");
            }
        }
        let segs = req.segments("/baremetal/v1/zones/").unwrap_or_default();
        let (zone, id, verb) = match (req.method, segs.as_slice()) {
            ("GET", [zone, "servers", id]) => (*zone, *id, None),
            ("POST", [zone, "servers", id, verb @ ("start" | "stop" | "reboot")]) => {
                (*zone, *id, Some(*verb))
            }
            _ => {
                violations.push(format!("{what}: no such operation"));
                return error(404, "not_found", "route not found");
            }
        };
        if zone != self.zone {
            return error(404, "not_found", &format!("zone {zone} has no such server"));
        }
        let Some(m) = machines.get_mut(id) else {
            return error(404, "not_found", "resource is not found");
        };
        if let Some(verb) = verb {
            if !content_type_is(req, "application/json") {
                violations.push(format!(
                    "{what}: the body must be JSON: {:?}",
                    req.header("content-type")
                ));
            }
            let body: Value = serde_json::from_slice(req.body).unwrap_or(Value::Null);
            let allowed: &[&str] = if verb == "stop" {
                &[]
            } else {
                &["boot_type", "ssh_key_ids"]
            };
            let shape_ok = body.as_object().is_some_and(|o| {
                o.keys().all(|k| allowed.contains(&k.as_str()))
                    && o.get("boot_type")
                        .is_none_or(|b| b == "normal" || b == "rescue")
                    && o.get("ssh_key_ids").is_none_or(Value::is_array)
            });
            if !shape_ok {
                violations.push(format!("{what}: not the SDK's request body: {body}"));
                return error(400, "invalid_arguments", "invalid argument(s)");
            }
            if m.in_transition().is_some() {
                return error(409, "transient_state", "resource is in a transient state");
            }
            let t = self.transition;
            match (verb, m.on) {
                ("start", false) => m.go(true, "starting", t),
                ("stop", true) => m.go(false, "stopping", t),
                ("reboot", true) => m.go(true, "resetting", t),
                _ => {
                    return error(
                        412,
                        "precondition_failed",
                        &format!("cannot {verb} a server that is {}", status(m)),
                    )
                }
            }
            m.actions.push(verb.to_string());
        }
        Reply {
            status: 200,
            body: json!({
                "id": id,
                "organization_id": "11111111-1111-4111-8111-111111111111",
                "project_id": "11111111-1111-4111-8111-111111111111",
                "name": format!("em-{id}"),
                "description": "",
                "updated_at": "2026-01-01T00:00:00Z",
                "created_at": "2026-01-01T00:00:00Z",
                "status": status(m),
                "offer_id": "22222222-2222-4222-8222-222222222222",
                "offer_name": "EM-A115X-SSD",
                "tags": [],
                "ips": [],
                "domain": format!("{id}.fr-par-2.baremetal.scw.cloud"),
                "boot_type": "normal",
                "zone": zone,
                "install": null,
                "ping_status": if m.on { "ping_status_up" } else { "ping_status_down" },
                "options": [],
                "rescue_server": null,
            }),
        }
    }
}
