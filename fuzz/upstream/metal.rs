//! Harness of what the Metal API sends, through the metal backend's parsers: a device (`GET`
//! and `PUT /devices/{id}`), a page of a project's listing, an error body; and what the backend
//! makes of a device: its power state, its sensors, its GUID, its plan/facility/metro keys.
//!
//! Properties beyond "no panic": a device id the client would put into a URL is refused if it
//! is empty or a dot segment, and otherwise goes in as one percent-encoded segment (no `/`, `?`,
//! `#` or `%` left as they are); an error message has no control character left raw.

use crate::json_gen::{document, Words};
use backend_metal::api::{error_message, parse_device, parse_page, Device};
use serde_json::Value;

/// Keys and values of the Metal API's `Device`, `DeviceList` and error bodies.
pub const WORDS: Words = Words {
    keys: &[
        "id",
        "short_id",
        "hostname",
        "state",
        "always_pxe",
        "ipxe_script_url",
        "plan",
        "facility",
        "metro",
        "tags",
        "devices",
        "meta",
        "last_page",
        "current_page",
        "total",
        "slug",
        "code",
        "name",
        "error",
        "errors",
        "href",
    ],
    strings: &[
        "8f1a0c2e-7d4b-4c1e-9a55-0123456789ab",
        "..",
        ".",
        "%2e%2E",
        "a/b?c#d",
        "",
        "node-1",
        "../../etc/cron.d/x",
        "active",
        "inactive",
        "powering_on",
        "powering_off",
        "provisioning",
        "deleted",
        "failed",
        "reinstalling",
        "queued",
        "ipmi",
        "c3.small.x86",
        "https://boot.example/ipxe",
        "x\nFORGED: ok",
        "\u{1b}[2J",
        "é",
        "sv",
        "da11",
    ],
};

/// Runs one input.
pub fn run(data: &[u8]) {
    let v = document(data, &WORDS);
    let bytes = serde_json::to_vec(&v).unwrap_or_default();
    for body in [data, &bytes[..]] {
        let _ = error_message(body);
        if let Ok(d) = parse_device(body) {
            check_device(&d);
        }
        if let Ok((devices, _last)) = parse_page(body) {
            devices.iter().for_each(check_device);
        }
    }
    if let Value::Object(m) = &v {
        for x in m.values() {
            if let Ok(d) = serde_json::from_value::<Device>(x.clone()) {
                check_device(&d);
            }
        }
    }
}

fn check_device(d: &Device) {
    let state = d.state.as_deref().unwrap_or_default();
    let _ = backend_metal::power_state_of(state);
    let _ = backend_metal::device_sensors(state);
    let _ = backend_metal::guid_of(&d.id);
    for n in [&d.plan, &d.facility, &d.metro].into_iter().flatten() {
        let _ = n.key();
    }
    let segment = http_support::paths::path_segment(&d.id);
    assert!(
        !segment.contains(['/', '?', '#']),
        "{:?} -> {segment:?}",
        d.id
    );
    if !d.id.is_empty() && !http_support::paths::is_dot_segment(&d.id) {
        assert!(
            !http_support::paths::has_dot_segment(&format!("/devices/{segment}")),
            "{:?}",
            d.id
        );
    }
}
