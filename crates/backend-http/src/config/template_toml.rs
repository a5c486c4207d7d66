//! An operation's table as written, how a user's table goes over a preset's, and the check
//! that turns it into a [`Template`].

use crate::codes::Codes;
use crate::placeholder::{Json, Text, Value, Vars, BOOT_VARS, MEDIA_VARS};
use crate::template::{BodyTemplate, Op, Other, StatusRead, Template};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The IPMI boot device names a `devices` map may translate (and `none`: no override).
pub const BOOT_DEVICES: [&str; 12] = [
    "pxe",
    "disk",
    "disk-safe",
    "diag",
    "cdrom",
    "bios",
    "remote-floppy",
    "remote-cdrom",
    "remote-media",
    "remote-disk",
    "floppy",
    "none",
];

/// An operation's table (`[bmc.http.on]`) as written.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateToml {
    method: Option<String>,
    path: Option<String>,
    query: Option<BTreeMap<String, String>>,
    json: Option<toml::Value>,
    form: Option<BTreeMap<String, String>>,
    codes: Option<BTreeMap<String, i64>>,
    pointer: Option<String>,
    on: Option<Vec<String>>,
    off: Option<Vec<String>>,
    other: Option<String>,
    devices: Option<BTreeMap<String, String>>,
}

impl TemplateToml {
    /// These keys over `under`'s.
    pub(super) fn over(&self, under: &TemplateToml) -> TemplateToml {
        let body_given = self.json.is_some() || self.form.is_some();
        let mut codes = under.codes.clone().unwrap_or_default();
        codes.extend(self.codes.clone().unwrap_or_default());
        TemplateToml {
            method: self.method.clone().or(under.method.clone()),
            path: self.path.clone().or(under.path.clone()),
            query: self.query.clone().or(under.query.clone()),
            json: if body_given {
                self.json.clone()
            } else {
                under.json.clone()
            },
            form: if body_given {
                self.form.clone()
            } else {
                under.form.clone()
            },
            codes: (!codes.is_empty()).then_some(codes),
            pointer: self.pointer.clone().or(under.pointer.clone()),
            on: self.on.clone().or(under.on.clone()),
            off: self.off.clone().or(under.off.clone()),
            other: self.other.clone().or(under.other.clone()),
            devices: self.devices.clone().or(under.devices.clone()),
        }
    }
}

pub(super) fn codes(m: &BTreeMap<String, i64>) -> Result<Codes, String> {
    let mut c = Codes::default();
    for (k, v) in m {
        let cc = u8::try_from(*v).map_err(|_| {
            format!("codes: {k} = {v} is not a completion code (0 for success, 0x01..0xFF)")
        })?;
        c.set(k, cc)?;
    }
    Ok(c)
}

/// One operation's template, checked: method, path, body, placeholders, and what only some
/// operations take.
pub(super) fn template(
    op: Op,
    t: &TemplateToml,
    top: &Codes,
    vars: &Vars,
) -> Result<Template, String> {
    let method = t
        .method
        .clone()
        .unwrap_or_else(|| if op == Op::PowerStatus { "GET" } else { "POST" }.into());
    let method = match method.to_ascii_uppercase().as_str() {
        "GET" => reqwest::Method::GET,
        "POST" => reqwest::Method::POST,
        "PUT" => reqwest::Method::PUT,
        "PATCH" => reqwest::Method::PATCH,
        "DELETE" => reqwest::Method::DELETE,
        m => return Err(format!("method {m:?}: GET, POST, PUT, PATCH or DELETE")),
    };
    let path = t.path.as_deref().ok_or("path is required")?;
    if !path.starts_with('/') {
        return Err(format!("path {path:?} must start with /"));
    }
    let body = match (&t.json, &t.form) {
        (Some(_), Some(_)) => return Err("give json or form, not both".into()),
        (Some(j), None) => BodyTemplate::Json(Json::from_toml(j)?),
        (None, Some(f)) => BodyTemplate::Form(
            f.iter()
                .map(|(k, v)| Ok((k.clone(), Text::parse(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        (None, None) => BodyTemplate::Empty,
    };
    let only = |given: bool, key: &str, ops: &str| {
        if given {
            Err(format!("{key} is only for {ops}"))
        } else {
            Ok(())
        }
    };
    let status_keys = t.pointer.is_some() || t.on.is_some() || t.off.is_some() || t.other.is_some();
    let status = if op == Op::PowerStatus {
        let (on, off) = (
            t.on.clone().unwrap_or_default(),
            t.off.clone().unwrap_or_default(),
        );
        if on.is_empty() && off.is_empty() {
            return Err("on and off (the values that read as on and as off) are required".into());
        }
        if let Some(p) = &t.pointer {
            if !p.is_empty() && !p.starts_with('/') {
                return Err(format!(
                    "pointer {p:?} is not a JSON pointer (/data/status)"
                ));
            }
        }
        let other = match t.other.as_deref().unwrap_or("error") {
            "error" => Other::Error,
            "on" => Other::On,
            "off" => Other::Off,
            o => return Err(format!("other {o:?}: error, on or off")),
        };
        Some(StatusRead {
            pointer: t.pointer.clone(),
            on,
            off,
            other,
        })
    } else {
        only(
            status_keys,
            "pointer, on, off and other",
            "[bmc.http.power_status]",
        )?;
        None
    };
    if let Some(d) = &t.devices {
        only(op != Op::Boot, "devices", "[bmc.http.boot]")?;
        for k in d.keys() {
            if !BOOT_DEVICES.contains(&k.as_str()) {
                return Err(format!(
                    "devices: unknown boot device {k:?} ({})",
                    BOOT_DEVICES.join(", ")
                ));
            }
        }
    }
    let t = Template {
        method,
        path: Text::parse(path)?,
        query: t
            .query
            .iter()
            .flatten()
            .map(|(k, v)| Ok((k.clone(), Text::parse(v)?)))
            .collect::<Result<_, String>>()?,
        body,
        codes: top.overlaid(&codes(t.codes.as_ref().unwrap_or(&BTreeMap::new()))?),
        status,
        devices: t.devices.clone(),
    };
    for name in t.names() {
        let boot = op.is_boot() && BOOT_VARS.contains(&name);
        let media = op.is_media() && MEDIA_VARS.contains(&name);
        if !boot && !media && !vars.contains_key(name) {
            let hint = if name == "server_id" {
                "set server_id".to_string()
            } else {
                format!("set it in vars = {{ {name} = \"...\" }}")
            };
            return Err(format!("the placeholder {{{name}}} has no value: {hint}"));
        }
    }
    // A `.` or `..` segment (in the text or from a value) takes the request elsewhere: refused
    // here, and again on every request (`Template::request`). Boot variables are checked with
    // each value they can take.
    let mut boot_values: Vec<Vars> = vec![vars.clone()];
    if op.is_boot() {
        let devices: Vec<String> = match &t.devices {
            Some(d) => d.values().cloned().collect(),
            None => Vec::new(),
        };
        boot_values = devices
            .into_iter()
            .map(|d| {
                let mut v = vars.clone();
                v.insert("boot_device".into(), Value::Text(d));
                v
            })
            .chain(std::iter::once(vars.clone()))
            .collect();
    }
    for v in &boot_values {
        if let Err(e) = t.request(v) {
            return Err(format!(
                "{e} (a value, or the path itself, makes a . or .. segment; a value that goes into a path must not be . or .., plain or percent-encoded)"
            ));
        }
    }
    Ok(t)
}
