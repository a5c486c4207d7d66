//! Harness of the http backend's answers read through a JSON pointer (`power_status`'s
//! `pointer`, `on`, `off`, `other`), and of request templates expanded with values from
//! outside the file.
//!
//! Properties beyond "no panic": a state read as on (off) comes from a body that holds an
//! `on` (`off`) value, unless `other` says what an unknown value reads as; an error message
//! has no control character left raw and stays short (the value is cut at 80 characters);
//! a request path made from any value has no dot segment.

use crate::json_gen::{document, Bytes, Words};
use backend_http::template::{Other, StatusRead};
use ipmi_bmc::PowerState;

/// Keys and values of providers' answers (Hetzner Robot, Latitude.sh, Scaleway, custom).
pub const WORDS: Words = Words {
    keys: &[
        "server",
        "status",
        "data",
        "attributes",
        "power",
        "state",
        "on",
        "0",
        "1",
        "a~1b",
        "m~0n",
        "",
    ],
    strings: &[
        "on",
        "ON",
        "off",
        "running",
        "stopped",
        " on ",
        "true",
        "false",
        "deploying",
        "",
        "x\nFORGED: ok",
        "\u{1b}[2J",
        "é",
    ],
};

/// The pointers tried (RFC 6901, escapes included).
const POINTERS: &[&str] = &[
    "/server/status",
    "/data/attributes/status",
    "/power",
    "/0",
    "/a~1b",
    "/m~0n",
    "/",
    "",
    "/server/status/0",
    "/data/1/state",
];

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut b = Bytes::new(data);
    let pointer = match b.next() % 12 {
        11 => None,
        n => Some(POINTERS[usize::from(n) % POINTERS.len()].to_string()),
    };
    let other = match b.next() % 3 {
        0 => Other::Error,
        1 => Other::On,
        _ => Other::Off,
    };
    let read = StatusRead {
        pointer,
        on: vec!["on".into(), "running".into(), "true".into()],
        off: vec!["off".into(), "stopped".into(), "false".into()],
        other,
    };
    let rest = data.get(2..).unwrap_or_default();
    let v = document(rest, &WORDS);
    let bytes = serde_json::to_vec(&v).unwrap_or_default();
    for body in [rest, &bytes[..]] {
        // The body as sent and as JSON re-encoded (`"\u006fn"` is `"on"`).
        let text = String::from_utf8_lossy(body);
        let decoded = serde_json::from_str::<serde_json::Value>(text.trim())
            .map(|d| d.to_string())
            .unwrap_or_default();
        let lower = format!("{text} {decoded}").to_lowercase();
        match read.read(body) {
            Ok(PowerState::On) if read.other != Other::On => assert!(
                ["on", "running", "true"].iter().any(|w| lower.contains(w)),
                "{lower:?}"
            ),
            Ok(PowerState::Off) if read.other != Other::Off => assert!(
                ["off", "stopped", "false"]
                    .iter()
                    .any(|w| lower.contains(w)),
                "{lower:?}"
            ),
            Ok(_) => {}
            Err(e) => {
                assert!(!e.chars().any(char::is_control), "{e:?}");
                assert!(e.chars().count() < 600, "{e:?}");
            }
        }
    }
}
