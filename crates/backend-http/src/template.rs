//! The operations a configuration can describe, and each one's request template, validated:
//! method, path, query, body, the completion codes of its answers, and for the power status how
//! to read the state from the answer.

use crate::client::{Body, Request};
use crate::codes::Codes;
use crate::placeholder::{path_segment, Json, Text, Vars};
use ipmi_bmc::PowerState;
use std::collections::BTreeMap;
use std::fmt;

/// An operation with a request template (`[bmc.http.NAME]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// Read the power state.
    PowerStatus,
    /// Power on.
    On,
    /// Hard power off.
    Off,
    /// Power cycle.
    Cycle,
    /// Hard reset.
    Reset,
    /// Soft (graceful) off.
    Soft,
    /// Diagnostic interrupt (NMI).
    Diag,
    /// Set the boot device.
    Boot,
    /// Clear the boot override.
    BootClear,
    /// Insert a virtual medium (its variables: `image_url`, `ipxe_url`).
    InsertMedia,
    /// Eject the virtual medium.
    EjectMedia,
}

impl Op {
    /// Every operation, in the order of the README.
    pub const ALL: [Op; 11] = [
        Op::PowerStatus,
        Op::On,
        Op::Off,
        Op::Cycle,
        Op::Reset,
        Op::Soft,
        Op::Diag,
        Op::Boot,
        Op::BootClear,
        Op::InsertMedia,
        Op::EjectMedia,
    ];

    /// Its table's name.
    pub const fn name(self) -> &'static str {
        match self {
            Op::PowerStatus => "power_status",
            Op::On => "on",
            Op::Off => "off",
            Op::Cycle => "cycle",
            Op::Reset => "reset",
            Op::Soft => "soft",
            Op::Diag => "diag",
            Op::Boot => "boot",
            Op::BootClear => "boot_clear",
            Op::InsertMedia => "insert_media",
            Op::EjectMedia => "eject_media",
        }
    }

    /// The operation named `name`.
    pub fn by_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.name() == name)
    }

    /// Whether it is a virtual media operation (optional: its absence is no gap to report).
    pub fn is_media(self) -> bool {
        matches!(self, Op::InsertMedia | Op::EjectMedia)
    }

    /// Whether its templates may use the boot variables.
    pub fn is_boot(self) -> bool {
        matches!(self, Op::Boot | Op::BootClear)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A body template.
#[derive(Clone, Debug, PartialEq)]
pub enum BodyTemplate {
    /// No body.
    Empty,
    /// A JSON body.
    Json(Json),
    /// A form body: names and value templates.
    Form(Vec<(String, Text)>),
}

/// What a power state value that is in neither list reads as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Other {
    /// An error (0xFF), with the value in the log.
    Error,
    /// On.
    On,
    /// Off.
    Off,
}

/// How the power state is read from the answer to `power_status`.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusRead {
    /// A JSON pointer (RFC 6901) into the answer; `None`: the whole body, as text.
    pub pointer: Option<String>,
    /// Values that read as on (compared without regard to case).
    pub on: Vec<String>,
    /// Values that read as off.
    pub off: Vec<String>,
    /// Any other value.
    pub other: Other,
}

impl StatusRead {
    /// The power state in an answer's body.
    pub fn read(&self, body: &[u8]) -> Result<PowerState, String> {
        let value = match &self.pointer {
            Some(p) => {
                let doc: serde_json::Value = serde_json::from_slice(body)
                    .map_err(|e| format!("the power status answer is not JSON: {e}"))?;
                match doc.pointer(p) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Null) | None => {
                        return Err(format!("the power status answer has nothing at {p}"))
                    }
                    Some(v) => v.to_string(),
                }
            }
            None => {
                let text = String::from_utf8_lossy(body).trim().to_string();
                match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(serde_json::Value::String(s)) => s,
                    _ => text,
                }
            }
        };
        let is = |list: &[String]| list.iter().any(|v| v.eq_ignore_ascii_case(value.trim()));
        if is(&self.on) {
            Ok(PowerState::On)
        } else if is(&self.off) {
            Ok(PowerState::Off)
        } else {
            match self.other {
                Other::On => Ok(PowerState::On),
                Other::Off => Ok(PowerState::Off),
                Other::Error => Err(format!(
                    "power status {:?}{} is in neither on nor off",
                    value.chars().take(80).collect::<String>(),
                    self.pointer
                        .as_ref()
                        .map(|p| format!(" at {p}"))
                        .unwrap_or_default()
                )),
            }
        }
    }
}

/// One operation's request, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// The method.
    pub method: reqwest::Method,
    /// The path below the base URL.
    pub path: Text,
    /// Query names and value templates.
    pub query: Vec<(String, Text)>,
    /// The body.
    pub body: BodyTemplate,
    /// Completion codes of its answers (defaults, the table's `codes`, its own).
    pub codes: Codes,
    /// `power_status` only: how to read the state.
    pub status: Option<StatusRead>,
    /// `boot` only: the provider's value for each IPMI boot device (`None`: the IPMI names).
    pub devices: Option<BTreeMap<String, String>>,
}

impl Template {
    /// The placeholder names it uses.
    pub fn names(&self) -> Vec<&str> {
        let mut n: Vec<&str> = self.path.names().collect();
        n.extend(self.query.iter().flat_map(|(_, t)| t.names()));
        match &self.body {
            BodyTemplate::Empty => {}
            BodyTemplate::Json(j) => n.extend(j.names()),
            BodyTemplate::Form(f) => n.extend(f.iter().flat_map(|(_, t)| t.names())),
        }
        n
    }

    /// The request, with `vars` in the placeholders; refused if its path has a `.` or `..`
    /// segment (plain or percent-encoded), which would take the request to another resource
    /// (`server_id = ".."` in `/servers/{server_id}/reboot` reboots through `/reboot`): checked
    /// here, on every request, whatever the values' origin, as well as when the configuration
    /// is loaded.
    pub fn request(&self, vars: &Vars) -> Result<Request, String> {
        let path = self.path.expand(vars, path_segment);
        if http_support::paths::has_dot_segment(&path) {
            return Err(format!(
                "the request path {path:?} has a . or .. segment: not sent"
            ));
        }
        Ok(Request {
            method: self.method.clone(),
            path,
            query: self
                .query
                .iter()
                .map(|(k, t)| (k.clone(), t.expand(vars, str::to_string)))
                .collect(),
            body: match &self.body {
                BodyTemplate::Empty => Body::Empty,
                BodyTemplate::Json(j) => Body::Json(j.expand(vars)),
                BodyTemplate::Form(f) => Body::Form(
                    f.iter()
                        .map(|(k, t)| (k.clone(), t.expand(vars, str::to_string)))
                        .collect(),
                ),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pointer: Option<&str>, other: Other) -> StatusRead {
        StatusRead {
            pointer: pointer.map(str::to_string),
            on: vec!["running".into(), "true".into()],
            off: vec!["stopped".into()],
            other,
        }
    }

    #[test]
    fn power_state_from_a_pointer_or_the_whole_body() {
        let r = read(Some("/data/attributes/status"), Other::Error);
        let body = br#"{"data":{"attributes":{"status":"Running"}}}"#;
        assert_eq!(r.read(body), Ok(PowerState::On));
        let stopped = br#"{"data":{"attributes":{"status":"stopped"}}}"#;
        assert_eq!(r.read(stopped), Ok(PowerState::Off));
        let odd = br#"{"data":{"attributes":{"status":"deploying"}}}"#;
        assert!(r
            .read(odd)
            .unwrap_err()
            .contains("\"deploying\" at /data/attributes/status"));
        assert_eq!(
            read(Some("/data/attributes/status"), Other::Off).read(odd),
            Ok(PowerState::Off)
        );
        assert!(r.read(b"{}").unwrap_err().contains("nothing at"));
        assert!(r.read(b"<html>").unwrap_err().contains("not JSON"));
        assert_eq!(
            read(Some("/on"), Other::Error).read(br#"{"on":true}"#),
            Ok(PowerState::On)
        );
        assert_eq!(
            read(None, Other::Error).read(b"stopped\n"),
            Ok(PowerState::Off)
        );
        assert_eq!(
            read(None, Other::Error).read(br#""running""#),
            Ok(PowerState::On)
        );
    }
}
