//! Harness of what a Redfish service sends, through the redfish backend's parsers: the system
//! (power, boot override, reset action, identity), links and collections, ActionInfo, LogService
//! and its entries mapped to SEL records, sensors (Sensor, Thermal, Power), error bodies, and
//! every string of the document tried as a link the client might follow.
//!
//! Properties beyond "no panic": a link the client accepts is a plain path on the service (one
//! leading `/`, no `//`, no `@`, no backslash, no control character, no dot segment); a link
//! holding `@` or `\` or starting with `//` is never accepted; a SEL time read from a string is
//! the same when read again.

use crate::json_gen::{document, strings, Words};
use backend_redfish::{errors, links, log_service, model, sel_map, sensors};
use serde_json::Value;

/// The service the links are checked against.
const ORIGIN: &str = "https://10.0.0.1";

/// Keys and values of Redfish resources (ServiceRoot, ComputerSystem, ActionInfo, LogService,
/// LogEntry, Sensor, Thermal, Power, the error body).
pub const WORDS: Words = Words {
    keys: &[
        "@odata.id",
        "@odata.type",
        "Members",
        "Members@odata.nextLink",
        "Links",
        "Sessions",
        "PowerState",
        "Boot",
        "BootSourceOverrideTarget",
        "BootSourceOverrideEnabled",
        "BootSourceOverrideMode",
        "Actions",
        "#ComputerSystem.Reset",
        "target",
        "@Redfish.ActionInfo",
        "ResetType@Redfish.AllowableValues",
        "Parameters",
        "Name",
        "AllowableValues",
        "Manufacturer",
        "Model",
        "SerialNumber",
        "PartNumber",
        "AssetTag",
        "UUID",
        "Id",
        "Created",
        "EntryType",
        "SensorType",
        "MessageId",
        "Message",
        "Severity",
        "EntryCode",
        "SensorNumber",
        "EventTimestamp",
        "OemRecordFormat",
        "Reading",
        "ReadingType",
        "ReadingUnits",
        "Status",
        "State",
        "Health",
        "Temperatures",
        "ReadingCelsius",
        "Fans",
        "PowerControl",
        "PowerConsumedWatts",
        "Voltages",
        "ReadingVolts",
        "LogServices",
        "Entries",
        "#LogService.ClearLog",
        "error",
        "message",
        "@Message.ExtendedInfo",
        "SessionService",
        "Thresholds",
        "UpperCritical",
    ],
    strings: &[
        "/redfish/v1/Systems/1",
        "/redfish/v1/SessionService/Sessions",
        "@127.0.0.1:38002/redfish/v1/SessionService/Sessions",
        "//evil/redfish/v1",
        "https://10.0.0.1/redfish/v1/x",
        "https://10.0.0.1@evil/x",
        "/redfish/v1/../x",
        "/redfish/v1/%2e%2E/x",
        "/a\\b",
        "/a\r\nX: y",
        "On",
        "Off",
        "PoweringOn",
        "PoweringOff",
        "Pxe",
        "Hdd",
        "Cd",
        "BiosSetup",
        "UefiTarget",
        "Once",
        "Continuous",
        "Disabled",
        "UEFI",
        "Legacy",
        "ForceOff",
        "ForceRestart",
        "GracefulShutdown",
        "PowerCycle",
        "Nmi",
        "2024-01-02T03:04:05+00:00",
        "2024-01-02T03:04:05Z",
        "1969-12-31T23:59:59-23:59",
        "9999-99-99T99:99:99+99:99",
        "2106-02-07T06:28:16Z",
        "SEL",
        "Event",
        "Oem",
        "Temperature",
        "Fan",
        "Voltage",
        "Power",
        "Critical",
        "OK",
        "Warning",
        "Assert",
        "Deassert",
        "Enabled",
        "Absent",
        "00000000-0000-0000-0000-000000000000",
        "4c4c4544-0042-3510-8053-b4c04f4c4e32",
        "x\nFORGED: ok",
        "\u{1b}[2J",
        "",
        "é",
    ],
};

/// Runs one input.
pub fn run(data: &[u8]) {
    let v = document(data, &WORDS);
    let _ = errors::error_message(data);
    let _ = errors::error_message(&serde_json::to_vec(&v).unwrap_or_default());
    let s = model::System::parse("/redfish/v1/Systems/1", &v, Some("\"1\"".into()));
    let _ = (s.power(), s.boot_override(true), s.boot_override(false));
    let _ = model::links(Some(&v));
    let _ = model::links(v.get("Members"));
    for key in ["Thermal", "Power", "Sensors", "LogServices", "Entries"] {
        let _ = model::link(&v, key);
    }
    let _ = model::action_info_reset_types(&v);
    let _ = sel_map::record_of(&v);
    let _ = sel_map::time_of(&v);
    let _ = sensors::from_sensor(&v);
    let _ = sensors::from_thermal(&v);
    let _ = sensors::from_power(&v);
    for of_system in [true, false] {
        let _ = log_service::rank(&v, of_system);
    }
    let _ = log_service::LogService::parse("/redfish/v1/Systems/1/LogServices/SEL", &v);
    if let Value::Object(m) = &v {
        for x in m.values() {
            let _ = sel_map::record_of(x);
            let _ = sensors::from_sensor(x);
        }
    }
    let mut texts = Vec::new();
    strings(&v, &mut texts);
    for t in &texts {
        let _ = model::guid_of(t);
        let _ = model::device_of(t);
        let _ = sel_map::sensor_type_code(t);
        let _ = sel_map::entry_code(Some(t));
        assert_eq!(sel_map::parse_time(t), sel_map::parse_time(t));
        check_link(t);
    }
}

/// A link the client would follow is a plain path on the service.
fn check_link(link: &str) {
    match links::service_path(ORIGIN, link) {
        Ok(p) => {
            assert!(
                p.starts_with('/') && !p.starts_with("//"),
                "{link:?} -> {p:?}"
            );
            assert!(
                !p.contains(['@', '\\']) && !p.chars().any(char::is_control),
                "{link:?} -> {p:?}"
            );
            assert!(
                !http_support::paths::has_dot_segment(&p),
                "{link:?} -> {p:?}"
            );
            assert!(
                link == p || link == format!("{ORIGIN}{p}"),
                "{link:?} -> {p:?}"
            );
        }
        Err(e) => assert!(!e.to_string().chars().any(char::is_control), "{e}"),
    }
    if link.contains(['@', '\\']) || link.starts_with("//") {
        assert!(links::service_path(ORIGIN, link).is_err(), "{link:?}");
    }
}
