//! Hetzner Robot's webservice, as much as the preset uses and the README's rescue example adds.
//!
//! Checked against: the webservice documentation (robot.hetzner.com/doc/webservice/en.html:
//! HTTP Basic auth, POST parameters as `application/x-www-form-urlencoded`, JSON answers, the
//! error format `{"error": {"status", "code", "message"}}`, 401 for a wrong login, 403
//! `RATE_LIMIT_EXCEEDED` for the request limit), and the models of the `hetzner` package on PyPI
//! (0.8.3: `RobotConnection.request` sends Basic auth and urlencoded POST data; `Reset.reboot`
//! posts `type` = `sw`, `hw` or `man` to `/reset/...`; `RescueSystem` posts `os` and `arch` to
//! `/boot/.../rescue` and deletes it to deactivate), with the newer reset types `power` and
//! `power_long` and the server number in the path as the documentation and hrobot's models have
//! them.
//!
//! - `POST /reset/{server-number}` with exactly `type` (`sw`, `hw`, `man`, `power`,
//!   `power_long`): `{"reset": {server_ip, server_ipv6_net, server_number, type}}`;
//! - `POST /wol/{server-number}`, no parameters: `{"wol": {server_ip, server_ipv6_net,
//!   server_number}}`;
//! - `POST /boot/{server-number}/rescue` with `os` (and optionally `arch`, `authorized_key[]`,
//!   `keyboard`), `DELETE` to deactivate; the rescue system is used by the next boot only.

use super::{content_type_is, form_pairs, Incoming, Machine, Provider, Reply};
use base64::Engine;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// The Robot webservice.
pub struct Hetzner {
    /// The webservice user.
    pub user: String,
    /// Its password.
    pub password: String,
    /// Power transitions take this long.
    pub transition: Duration,
}

impl Hetzner {
    /// A webservice with this login; transitions of 300 ms.
    pub fn new(user: &str, password: &str) -> Hetzner {
        Hetzner {
            user: user.into(),
            password: password.into(),
            transition: Duration::from_millis(300),
        }
    }
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply {
        status,
        body: json!({ "error": { "status": status, "code": code, "message": message } }),
    }
}

fn server(n: &str) -> serde_json::Value {
    json!({ "server_ip": "123.123.123.123", "server_ipv6_net": "2a01:4f8:111:4221::", "server_number": n.parse::<u64>().unwrap_or(0) })
}

/// A boot of the machine: into the rescue system if one is active (which it uses up).
fn booted(m: &mut Machine) {
    let into = match m.extra.remove("rescue") {
        Some(os) => format!("rescue {os}"),
        None => "disk".to_string(),
    };
    m.extra.insert("last_boot".into(), into);
}

impl Provider for Hetzner {
    fn handle(
        &mut self,
        req: &Incoming,
        machines: &mut BTreeMap<String, Machine>,
        violations: &mut Vec<String>,
    ) -> Reply {
        let what = format!("{} {}", req.method, req.path);
        let Some(auth) = req
            .header("authorization")
            .and_then(|a| a.strip_prefix("Basic "))
        else {
            violations.push(format!("{what}: no HTTP Basic authorization"));
            return error(401, "UNAUTHORIZED", "Unauthorized");
        };
        let expected = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.password));
        if auth != expected {
            return error(401, "UNAUTHORIZED", "Unauthorized");
        }
        let segs = req.segments("/").unwrap_or_default();
        let (kind, n) = match segs.as_slice() {
            ["reset", n] => ("reset", *n),
            ["wol", n] => ("wol", *n),
            ["boot", n, "rescue"] => ("rescue", *n),
            _ => {
                violations.push(format!("{what}: no such webservice call"));
                return error(404, "NOT_FOUND", "Not found");
            }
        };
        if !n.bytes().all(|b| b.is_ascii_digit()) {
            violations.push(format!("{what}: the server number must be a number"));
        }
        let Some(m) = machines.get_mut(n) else {
            return error(404, "SERVER_NOT_FOUND", "Server not found");
        };
        let form = form_pairs(req.body);
        let t = self.transition;
        match (kind, req.method) {
            ("reset", "POST") => {
                if !content_type_is(req, "application/x-www-form-urlencoded") {
                    violations.push(format!(
                        "{what}: POST parameters must be application/x-www-form-urlencoded"
                    ));
                }
                let types: Vec<&str> = form
                    .iter()
                    .filter(|(k, _)| k == "type")
                    .map(|(_, v)| v.as_str())
                    .collect();
                if form.len() != 1 || types.len() != 1 {
                    violations.push(format!(
                        "{what}: exactly one parameter, type, is expected: {form:?}"
                    ));
                    return Reply {
                        status: 400,
                        body: json!({ "error": { "status": 400, "code": "INVALID_INPUT", "message": "invalid input", "missing": ["type"], "invalid": null } }),
                    };
                }
                let ty = types[0];
                if !["sw", "hw", "man", "power", "power_long"].contains(&ty) {
                    violations.push(format!("{what}: unknown reset type {ty:?}"));
                    return Reply {
                        status: 400,
                        body: json!({ "error": { "status": 400, "code": "INVALID_INPUT", "message": "invalid input", "missing": null, "invalid": ["type"] } }),
                    };
                }
                m.actions.push(ty.to_string());
                match ty {
                    "sw" | "hw" if m.on => {
                        m.go(true, "resetting", t);
                        booted(m);
                    }
                    "power" if m.on => m.go(false, "stopping", t),
                    "power" => {
                        m.go(true, "starting", t);
                        booted(m);
                    }
                    "power_long" if m.on => m.go(false, "stopping", t),
                    _ => {}
                }
                let mut body = server(n);
                body["type"] = json!(ty);
                Reply {
                    status: 200,
                    body: json!({ "reset": body }),
                }
            }
            ("wol", "POST") => {
                if !req.body.is_empty() {
                    violations.push(format!("{what}: Wake on LAN takes no parameters: {form:?}"));
                }
                m.actions.push("wol".into());
                if !m.on {
                    m.go(true, "starting", t);
                    booted(m);
                }
                Reply {
                    status: 200,
                    body: json!({ "wol": server(n) }),
                }
            }
            ("rescue", "POST") => {
                if !content_type_is(req, "application/x-www-form-urlencoded") {
                    violations.push(format!(
                        "{what}: POST parameters must be application/x-www-form-urlencoded"
                    ));
                }
                let os = form.iter().find(|(k, _)| k == "os").map(|(_, v)| v.clone());
                let unknown: Vec<_> = form
                    .iter()
                    .filter(|(k, _)| {
                        ![
                            "os",
                            "arch",
                            "authorized_key",
                            "authorized_key[]",
                            "keyboard",
                        ]
                        .contains(&k.as_str())
                    })
                    .collect();
                if !unknown.is_empty() {
                    violations.push(format!("{what}: unknown parameters {unknown:?}"));
                }
                let Some(os) = os.filter(|o| ["linux", "vkvm"].contains(&o.as_str())) else {
                    violations.push(format!("{what}: os must be linux or vkvm: {form:?}"));
                    return error(400, "INVALID_INPUT", "invalid input");
                };
                m.actions.push(format!("rescue {os}"));
                m.extra.insert("rescue".into(), os.clone());
                let mut body = server(n);
                body["os"] = json!(os);
                body["active"] = json!(true);
                body["password"] = json!("rescue-password");
                body["authorized_key"] = json!([]);
                body["host_key"] = json!([]);
                Reply {
                    status: 200,
                    body: json!({ "rescue": body }),
                }
            }
            ("rescue", "DELETE") => {
                if !req.body.is_empty() {
                    violations.push(format!("{what}: takes no parameters"));
                }
                m.actions.push("rescue off".into());
                m.extra.remove("rescue");
                let mut body = server(n);
                body["os"] = json!(["linux", "vkvm"]);
                body["active"] = json!(false);
                body["password"] = json!(null);
                body["authorized_key"] = json!([]);
                body["host_key"] = json!([]);
                Reply {
                    status: 200,
                    body: json!({ "rescue": body }),
                }
            }
            _ => {
                violations.push(format!("{what}: method not allowed here"));
                error(405, "METHOD_NOT_ALLOWED", "Method not allowed")
            }
        }
    }
}
