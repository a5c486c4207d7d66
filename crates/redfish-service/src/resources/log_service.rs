//! `Managers/{id}/LogServices/SEL`: the BMC's System Event Log (the same log IPMI reads), its
//! entries, and `LogService.ClearLog` (as Clear SEL).

use super::{asker, on_bmc, Page as Family, GET, POST};
use crate::roles::Needs;
use crate::{reply, Ctx, Route};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ipmi_proto::cmd::storage::ClearSel;
use ipmi_proto::cmd::Command;
use sel_store::Entry;
use serde_json::{json, Value};

/// What this family serves.
pub(crate) enum Page {
    Services,
    Sel,
    Entries,
    Entry(u16),
    Clear,
}

/// The routes of this family.
pub(crate) fn route(segs: &[&str]) -> Option<Route> {
    let page = Family::Logs;
    match segs {
        ["Managers", id, "LogServices"] => on_bmc(
            "/redfish/v1/Managers/{id}/LogServices",
            GET,
            id,
            page(Page::Services),
        ),
        ["Managers", id, "LogServices", "SEL"] => on_bmc(
            "/redfish/v1/Managers/{id}/LogServices/SEL",
            GET,
            id,
            page(Page::Sel),
        ),
        ["Managers", id, "LogServices", "SEL", "Entries"] => on_bmc(
            "/redfish/v1/Managers/{id}/LogServices/SEL/Entries",
            GET,
            id,
            page(Page::Entries),
        ),
        ["Managers", id, "LogServices", "SEL", "Entries", n] => on_bmc(
            "/redfish/v1/Managers/{id}/LogServices/SEL/Entries/{entry}",
            GET,
            id,
            page(Page::Entry(n.parse().ok()?)),
        ),
        ["Managers", id, "LogServices", "SEL", "Actions", "LogService.ClearLog"] => on_bmc(
            "/redfish/v1/Managers/{id}/LogServices/SEL/Actions/LogService.ClearLog",
            POST,
            id,
            page(Page::Clear),
        ),
        _ => None,
    }
}

/// Serves this family's pages.
pub(crate) async fn serve(ctx: &Ctx<'_>, name: &str, page: Page) -> Response {
    let bmc = match super::model(ctx, name) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let services = format!("/redfish/v1/Managers/{name}/LogServices");
    let sel = format!("{services}/SEL");
    let entries = || match bmc.sel_entries() {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Ok(Vec::new()),
        Err(cc) => Err(reply::model_failed(cc, "the SEL cannot be read")),
    };
    let body = match page {
        Page::Services => reply::collection(
            "#LogServiceCollection.LogServiceCollection",
            &services,
            "Log Service Collection",
            vec![sel.clone()],
        ),
        Page::Sel => json!({
            "@odata.type": "#LogService.v1_2_0.LogService",
            "@odata.id": sel,
            "Id": "SEL",
            "Name": "System Event Log",
            "LogEntryType": "SEL",
            "OverWritePolicy": "WrapsWhenFull",
            "ServiceEnabled": true,
            "Status": { "State": "Enabled", "Health": "OK" },
            "Entries": { "@odata.id": format!("{sel}/Entries") },
            "Actions": {
                "#LogService.ClearLog": { "target": format!("{sel}/Actions/LogService.ClearLog") }
            },
        }),
        Page::Entries => {
            let list = match entries() {
                Ok(v) => v,
                Err(r) => return r,
            };
            let uri = format!("{sel}/Entries");
            let members: Vec<Value> = list.iter().map(|e| entry(&uri, e)).collect();
            json!({
                "@odata.type": "#LogEntryCollection.LogEntryCollection",
                "@odata.id": uri,
                "Name": "System Event Log Entries",
                "Members@odata.count": members.len(),
                "Members": members,
            })
        }
        Page::Entry(id) => {
            let list = match entries() {
                Ok(v) => v,
                Err(r) => return r,
            };
            match list.iter().find(|e| e.id == id) {
                Some(e) => entry(&format!("{sel}/Entries"), e),
                None => return reply::not_found(&ctx.path),
            }
        }
        Page::Clear => {
            if !ctx.who().may(name, Needs::ConfigureComponents) {
                return reply::forbidden();
            }
            let asker = asker(ctx, name);
            return match super::actions::deadline(bmc.clear_sel_for(&asker, ClearSel::NAME)).await {
                Ok(()) => StatusCode::NO_CONTENT.into_response(),
                Err((cc, why)) => reply::model_failed(cc, &why),
            };
        }
    };
    reply::resource(&ctx.headers, body)
}

/// A SEL record as a LogEntry: its IPMI fields, and its bytes in hex as the message.
fn entry(base: &str, e: &Entry) -> Value {
    let r = &e.record;
    let stamp = u32::from_le_bytes([r[3], r[4], r[5], r[6]]);
    let hex: String = r.iter().map(|b| format!("{b:02X}")).collect();
    let mut v = json!({
        "@odata.type": "#LogEntry.v1_8_0.LogEntry",
        "@odata.id": format!("{base}/{}", e.id),
        "Id": e.id.to_string(),
        "Name": format!("SEL entry {}", e.id),
        "EntryType": "SEL",
        "Severity": "OK",
        "Message": hex,
        "EntryCode": if r[12] & 0x80 == 0 { "Assert" } else { "Deassert" },
        "SensorNumber": r[11],
    });
    if r[2] == 0x02 {
        v["Created"] = rfc3339(stamp).into();
        v["SensorType"] = sensor_type(r[10]).into();
    }
    v
}

/// The Redfish `SensorType` of an IPMI sensor type code (IPMI 2.0 table 42-3, by code from 01h
/// to 2Ch; LogEntry names each of them).
fn sensor_type(code: u8) -> &'static str {
    const BY_CODE: [&str; 0x2c] = [
        "Temperature",
        "Voltage",
        "Current",
        "Fan",
        "Physical Chassis Security",
        "Platform Security Violation Attempt",
        "Processor",
        "Power Supply / Converter",
        "PowerUnit",
        "CoolingDevice",
        "Other Units-based Sensor",
        "Memory",
        "Drive Slot/Bay",
        "POST Memory Resize",
        "System Firmware Progress",
        "Event Logging Disabled",
        "Watchdog",
        "System Event",
        "Critical Interrupt",
        "Button/Switch",
        "Module/Board",
        "Microcontroller/Coprocessor",
        "Add-in Card",
        "Chassis",
        "ChipSet",
        "Other FRU",
        "Cable/Interconnect",
        "Terminator",
        "SystemBoot/Restart",
        "Boot Error",
        "BaseOSBoot/InstallationStatus",
        "OS Stop/Shutdown",
        "Slot/Connector",
        "System ACPI PowerState",
        "Watchdog",
        "Platform Alert",
        "Entity Presence",
        "Monitor ASIC/IC",
        "LAN",
        "Management Subsystem Health",
        "Battery",
        "Session Audit",
        "Version Change",
        "FRUState",
    ];
    match code {
        1..=0x2c => BY_CODE[usize::from(code) - 1],
        _ => "OEM",
    }
}

/// An IPMI timestamp (seconds since 1970) as RFC 3339 in UTC.
fn rfc3339(secs: u32) -> String {
    let days = i64::from(secs) / 86_400;
    let rem = i64::from(secs) % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_in_rfc3339() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(super::rfc3339(1_764_118_923), "2025-11-26T01:02:03+00:00");
    }
}
