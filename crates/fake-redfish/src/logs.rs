//! The fake's logs, shaped after the DMTF schema (LogService v1.5, LogEntry v1.16) and the
//! DMTF mockups (`public-rackmount1`'s `LogServices/SEL`): the system has an event log of
//! Redfish events (`EventLog`, as bmcweb) listed before its `SEL`, and its manager a `Journal`
//! (a BMC's syslog, not a SEL). The SEL's entries are of `EntryType` `SEL` (and one `Oem`),
//! listed **newest first** (as iDRAC lists its SEL) in pages of [`PAGE`] with
//! `Members@odata.nextLink` (`?$skip=N`), and `LogService.ClearLog` empties it.

use crate::answer::{collection, error, ok, status, Answer};
use crate::World;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

/// The system's log services.
pub(crate) const SYSTEM_LOGS: &str = "/redfish/v1/Systems/system/LogServices";
/// The system's manager.
pub(crate) const MANAGER: &str = "/redfish/v1/Managers/bmc";
const MANAGER_LOGS: &str = "/redfish/v1/Managers/bmc/LogServices";
const SEL: &str = "/redfish/v1/Systems/system/LogServices/SEL";
const EVENT_LOG: &str = "/redfish/v1/Systems/system/LogServices/EventLog";
/// Entries per page of the SEL's Entries collection.
pub const PAGE: usize = 2;
/// The SEL's `MaxNumberOfRecords`.
pub const SEL_CAPACITY: usize = 500;

/// A SEL entry (`EntryType` `SEL`), of the shape the schema gives it: `MessageId` holds the
/// three IPMI event data bytes when given.
pub(crate) fn sel_entry(
    id: u64,
    created: &str,
    sensor: (&str, u8),
    code: &str,
    event_data: Option<&str>,
    message: &str,
) -> Value {
    let mut e = json!({
        "@odata.id": format!("{SEL}/Entries/{id}"),
        "@odata.type": "#LogEntry.v1_16_0.LogEntry",
        "Id": id.to_string(), "Name": format!("SEL Entry {id}"),
        "EntryType": "SEL", "Created": created,
        "Severity": if code == "Assert" || code.contains("Critical") { "Critical" } else { "OK" },
        "SensorType": sensor.0, "SensorNumber": sensor.1, "EntryCode": code,
        "GeneratorId": "0x2000",
        "Message": message
    });
    if let (Value::Object(m), Some(d)) = (&mut e, event_data) {
        m.insert("MessageId".into(), d.into());
    }
    e
}

/// The SEL at start, oldest first.
pub(crate) fn seed() -> Vec<Value> {
    let mut oem = json!({
        "@odata.id": format!("{SEL}/Entries/5"),
        "@odata.type": "#LogEntry.v1_16_0.LogEntry",
        "Id": "5", "Name": "SEL Entry 5", "EntryType": "Oem", "OemRecordFormat": "Contoso",
        "Created": "2024-05-01T08:20:00Z", "Severity": "Warning",
        "MessageId": "Contoso.1.0.FanSpeedHigh", "Message": "Fan 1 runs faster than it should."
    });
    oem["Oem"] = json!({});
    vec![
        sel_entry(
            1,
            "2024-05-01T08:00:00Z",
            ("Temperature", 0x31),
            "Upper Critical - going high",
            Some("0x595c5a"),
            "CPU1 Temp reading 92 above the upper critical threshold 90.",
        ),
        sel_entry(
            2,
            "2024-05-01T10:05:00+02:00",
            ("Power Supply / Converter", 0x51),
            "Assert",
            Some("0x01ffff"),
            "PSU2 failure detected.",
        ),
        sel_entry(
            3,
            "2024-05-01T08:10:00Z",
            ("Drive Slot/Bay", 0x60),
            "Device Removed / Device Absent",
            None,
            "Drive 3 removed.",
        ),
        sel_entry(
            4,
            "2024-05-01T08:15:00Z",
            ("Memory", 0x70),
            "Assert",
            Some("0x00ffff"),
            "Correctable ECC on DIMM A1.",
        ),
        oem,
    ]
}

fn service(path: &str, id: &str, name: &str, kind: &str, extra: Value) -> Value {
    let mut v = json!({
        "@odata.id": path, "@odata.type": "#LogService.v1_5_0.LogService",
        "Id": id, "Name": name, "ServiceEnabled": true, "LogEntryType": kind,
        "OverWritePolicy": "WrapsWhenFull",
        "DateTime": "2024-05-01T09:00:00+00:00", "DateTimeLocalOffset": "+00:00",
        "Status": {"State": "Enabled", "Health": "OK"},
        "Entries": {"@odata.id": format!("{path}/Entries")},
        "Actions": {"#LogService.ClearLog": {
            "target": format!("{path}/Actions/LogService.ClearLog")}}
    });
    if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
        m.extend(x);
    }
    v
}

/// The `$skip` of a query.
fn skip(query: Option<&str>) -> usize {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| {
            kv.strip_prefix("$skip=")
                .or_else(|| kv.strip_prefix("%24skip="))
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Answers a request for a log resource, if `path` is one.
pub(crate) fn route(
    w: &mut World,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Option<Answer> {
    let get = method == Method::GET;
    let entries = format!("{SEL}/Entries");
    Some(match path {
        "/redfish/v1/Managers" if get => ok(collection(
            "/redfish/v1/Managers",
            "#ManagerCollection.ManagerCollection",
            vec![MANAGER.into()],
        )),
        MANAGER if get => ok(json!({
            "@odata.id": MANAGER, "@odata.type": "#Manager.v1_19_0.Manager",
            "Id": "bmc", "Name": "Manager", "ManagerType": "BMC",
            "LogServices": {"@odata.id": MANAGER_LOGS},
            "VirtualMedia": {"@odata.id": format!("{MANAGER}/VirtualMedia")},
            "Links": {"ManagerForServers": [{"@odata.id": "/redfish/v1/Systems/system"}]}
        })),
        MANAGER_LOGS if get => ok(collection(
            MANAGER_LOGS,
            "#LogServiceCollection.LogServiceCollection",
            vec![format!("{MANAGER_LOGS}/Journal")],
        )),
        p if get && p == format!("{MANAGER_LOGS}/Journal") => ok(service(
            p,
            "Journal",
            "Open BMC Journal Entry Service",
            "Multiple",
            json!({}),
        )),
        SYSTEM_LOGS if get => ok(collection(
            SYSTEM_LOGS,
            "#LogServiceCollection.LogServiceCollection",
            vec![EVENT_LOG.into(), SEL.into()],
        )),
        EVENT_LOG if get => ok(service(
            EVENT_LOG,
            "EventLog",
            "Event Log Service",
            "Event",
            json!({}),
        )),
        p if get && p == format!("{EVENT_LOG}/Entries") => ok(collection(
            p,
            "#LogEntryCollection.LogEntryCollection",
            Vec::new(),
        )),
        SEL if get => ok(service(
            SEL,
            "SEL",
            "System Event Log",
            "SEL",
            json!({"MaxNumberOfRecords": SEL_CAPACITY}),
        )),
        p if get && p == entries => {
            let newest_first: Vec<&Value> = w.sel.iter().rev().collect();
            let from = skip(query).min(newest_first.len());
            let page: Vec<Value> = newest_first[from..]
                .iter()
                .take(PAGE)
                .map(|e| (*e).clone())
                .collect();
            let mut v = json!({
                "@odata.id": entries, "@odata.type": "#LogEntryCollection.LogEntryCollection",
                "Name": "System Event Log Entries",
                "Members@odata.count": newest_first.len(), "Members": page
            });
            if from + PAGE < newest_first.len() {
                v["Members@odata.nextLink"] = format!("{entries}?$skip={}", from + PAGE).into();
            }
            ok(v)
        }
        p if get && p.starts_with(&format!("{entries}/")) => {
            let id = &p[entries.len() + 1..];
            match w.sel.iter().find(|e| e["Id"] == id) {
                Some(e) => ok(e.clone()),
                None => error(StatusCode::NOT_FOUND, "ResourceNotFound", "no such entry"),
            }
        }
        p if *method == Method::POST && p == format!("{SEL}/Actions/LogService.ClearLog") => {
            w.sel.clear();
            w.log_clears += 1;
            status(StatusCode::NO_CONTENT)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips() {
        assert_eq!(skip(Some("$skip=4")), 4);
        assert_eq!(skip(Some("a=1&%24skip=2")), 2);
        assert_eq!(skip(None), 0);
    }
}
