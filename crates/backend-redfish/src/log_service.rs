//! Where the system's event log is on the service, and reading and clearing it.
//!
//! **Which LogService**: the system's (`LogServices` of the ComputerSystem) and its managers'
//! (`Links.ManagedBy`, else the Managers collection's first member) are read, and the first of
//! these wins: a SEL of the system, a SEL of a manager, another log of the system, another log
//! of a manager. A SEL is a service whose `LogEntryType` is `SEL`, whose `Id` is `SEL` or whose
//! `Name` has the word SEL or says "System Event Log" (iDRAC's `Sel`, the DMTF mockups' `SEL`).
//! A service that holds no events (`Journal`, dumps, crash and fault logs, POST codes, console
//! and audit logs, by its `Id` or `Name`) is never taken: a BMC's syslog is not its SEL. A
//! service without `Entries`, or one whose `ServiceEnabled` is false, is not taken either.
//!
//! **Entries** are read page after page (`Members@odata.nextLink`), at most [`MAX_READ`] of them
//! in [`MAX_PAGES`] pages, of which the SEL shows the newest [`MAX_ENTRIES`] (whichever order
//! the service lists them in); a member given only as a link is read on its own (at most
//! [`MAX_LINKED`] of them). **Clear** is the service's `LogService.ClearLog` action.

use crate::client::Reply;
use crate::errors::ApiError;
use crate::model;
use crate::RedfishBackend;
use serde_json::Value;
use tokio::time::Instant;

/// The SEL shows at most this many entries of a log: the newest.
pub const MAX_ENTRIES: usize = 1024;
/// At most this many entries are read from a log (the rest is left out, with a log line).
pub const MAX_READ: usize = 4 * MAX_ENTRIES;
/// At most this many pages of entries are read.
pub const MAX_PAGES: usize = 32;
/// At most this many entries given only as links are read one by one.
pub const MAX_LINKED: usize = 64;
/// At most this many LogServices of one collection are looked at.
const MAX_SERVICES: usize = 8;

/// A LogService found on the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogService {
    /// Its path.
    pub path: String,
    /// Its `Entries` collection.
    pub entries: String,
    /// Its `LogService.ClearLog` action's target, if it has one.
    pub clear: Option<String>,
    /// `MaxNumberOfRecords`, if given.
    pub max_records: Option<u32>,
}

/// The words of a name, in lower case.
fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

/// Names of logs that hold no system events.
const NOT_EVENTS: &[&str] = &[
    "journal",
    "dump",
    "crash",
    "fault",
    "diag",
    "debug",
    "postcode",
    "hostlogger",
    "console",
    "audit",
];

/// How good a LogService JSON is as the SEL: 0 best; `None` if it is not taken at all.
pub fn rank(v: &Value, of_system: bool) -> Option<u8> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
    let (id, name) = (text("Id"), text("Name"));
    let both = format!("{id} {name}").to_ascii_lowercase().replace(' ', "");
    if NOT_EVENTS.iter().any(|n| both.contains(n))
        || v.get("ServiceEnabled") == Some(&Value::Bool(false))
        || model::link(v, "Entries").is_none()
    {
        return None;
    }
    let sel = text("LogEntryType").eq_ignore_ascii_case("SEL")
        || id.eq_ignore_ascii_case("SEL")
        || words(name).any(|w| w == "sel")
        || name.to_ascii_lowercase().contains("system event log");
    Some(match (sel, of_system) {
        (true, true) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (false, false) => 3,
    })
}

impl LogService {
    /// The service read at `path`, if it has entries.
    pub fn parse(path: &str, v: &Value) -> Option<LogService> {
        Some(LogService {
            path: v
                .get("@odata.id")
                .and_then(Value::as_str)
                .unwrap_or(path)
                .to_string(),
            entries: model::link(v, "Entries")?,
            clear: v
                .pointer("/Actions/#LogService.ClearLog/target")
                .and_then(Value::as_str)
                .map(str::to_string),
            max_records: v
                .get("MaxNumberOfRecords")
                .and_then(Value::as_u64)
                .map(|n| n.min(u64::from(u32::MAX)) as u32),
        })
    }
}

/// A `Members@odata.nextLink` as a path of the service at `origin`, if it is one.
fn next_link(v: &Value, origin: &str) -> Option<String> {
    let link = v.get("Members@odata.nextLink")?.as_str()?;
    crate::links::service_path(origin, link).ok()
}

impl RedfishBackend {
    /// The LogServices of the collection at `path` (at most [`MAX_SERVICES`]), each with its
    /// rank; a member that is gone (404) is passed over.
    async fn services_in(
        &self,
        path: &str,
        of_system: bool,
        deadline: Instant,
        out: &mut Vec<(u8, LogService)>,
    ) -> Result<(), ApiError> {
        let coll = self.client.get(path, deadline).await?.json()?;
        for m in model::links(coll.get("Members")).iter().take(MAX_SERVICES) {
            let v = match self.client.get(m, deadline).await {
                Err(ApiError::NotFound(_)) => continue,
                r => r?.json()?,
            };
            if let (Some(r), Some(s)) = (rank(&v, of_system), LogService::parse(m, &v)) {
                out.push((r, s));
            }
        }
        Ok(())
    }

    /// The log the SEL is read from (see the module documentation), or `None` if the service
    /// has none.
    pub(crate) async fn find_log_service(
        &self,
        deadline: Instant,
    ) -> Result<Option<LogService>, ApiError> {
        let s = self.system.get(|| self.read_system(deadline)).await?;
        let mut found = Vec::new();
        if let Some(p) = &s.log_services {
            match self.services_in(p, true, deadline, &mut found).await {
                Err(ApiError::NotFound(_)) => {}
                r => r?,
            }
        }
        if !found.iter().any(|(r, _)| *r == 0) {
            let managers = match s.managers.first() {
                Some(m) => vec![m.clone()],
                None => {
                    let root = self.client.get("/redfish/v1/", deadline).await?.json()?;
                    match model::link(&root, "Managers") {
                        Some(p) => match self.client.get(&p, deadline).await {
                            Err(ApiError::NotFound(_)) => Vec::new(),
                            r => model::links(r?.json()?.get("Members")),
                        },
                        None => Vec::new(),
                    }
                }
            };
            if let Some(m) = managers.first() {
                let manager = match self.client.get(m, deadline).await {
                    Err(ApiError::NotFound(_)) => Value::Null,
                    r => r?.json()?,
                };
                if let Some(p) = model::link(&manager, "LogServices") {
                    match self.services_in(&p, false, deadline, &mut found).await {
                        Err(ApiError::NotFound(_)) => {}
                        r => r?,
                    }
                }
            }
        }
        // The first of the best rank: min_by_key keeps the first of equals.
        let chosen = found.into_iter().min_by_key(|(r, _)| *r).map(|(_, s)| s);
        match &chosen {
            Some(l) => {
                tracing::info!(log = ?l.path, clear = l.clear.is_some(), "Redfish log read as the SEL")
            }
            None => {
                tracing::info!(system = ?s.path, "the Redfish service has no event log: the SEL holds the shim's records only")
            }
        }
        Ok(chosen)
    }

    /// The entries of `log` in the order the service lists them (bounded, see the module
    /// documentation).
    pub(crate) async fn read_entries(
        &self,
        log: &LogService,
        deadline: Instant,
    ) -> Result<Vec<Value>, ApiError> {
        let mut entries = Vec::new();
        let mut page = Some(log.entries.clone());
        let mut pages = 0;
        let mut linked = 0;
        while let Some(path) = page.take() {
            if pages == MAX_PAGES || entries.len() >= MAX_READ {
                tracing::warn!(log = ?log.path, read = entries.len(), "the Redfish log has more entries than are read: the rest is left out");
                break;
            }
            pages += 1;
            let v = self.client.get(&path, deadline).await?.json()?;
            let members = v.get("Members").and_then(Value::as_array);
            for m in members.into_iter().flatten() {
                if entries.len() == MAX_READ {
                    break;
                }
                // A member given as a link only (no EntryType, no time) is read on its own.
                let bare = m.get("EntryType").is_none() && m.get("Created").is_none();
                match (bare, m.get("@odata.id").and_then(Value::as_str)) {
                    (true, Some(link)) if linked < MAX_LINKED => {
                        linked += 1;
                        match self.client.get(link, deadline).await {
                            Err(ApiError::NotFound(_)) => {}
                            r => entries.push(r?.json()?),
                        }
                    }
                    (true, _) => {}
                    (false, _) => entries.push(m.clone()),
                }
            }
            page = next_link(&v, self.client.origin());
        }
        Ok(entries)
    }

    /// `POST`s the log's `LogService.ClearLog` (following its task monitor, if it answers 202).
    pub(crate) async fn clear_log(
        &self,
        log: &LogService,
        deadline: Instant,
    ) -> Result<Reply, ApiError> {
        let target = log.clear.as_deref().ok_or_else(|| ApiError::Refused {
            status: 405,
            message: format!("the log {} has no LogService.ClearLog action", log.path),
        })?;
        let reply = self
            .client
            .post(target, &serde_json::json!({}), deadline)
            .await?;
        if let (202, Some(monitor)) = (reply.status, &reply.location) {
            self.client.follow_task(monitor, deadline).await?;
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(id: &str, name: &str, extra: Value) -> Value {
        let mut v = json!({
            "@odata.id": format!("/redfish/v1/Systems/1/LogServices/{id}"),
            "Id": id, "Name": name,
            "Entries": {"@odata.id": format!("/redfish/v1/Systems/1/LogServices/{id}/Entries")},
            "Actions": {"#LogService.ClearLog": {
                "target": format!("/redfish/v1/Systems/1/LogServices/{id}/Actions/LogService.ClearLog")}}
        });
        if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
            m.extend(x);
        }
        v
    }

    #[test]
    fn a_sel_is_preferred_and_logs_without_events_are_never_taken() {
        let sel = service(
            "SEL",
            "System Event Log",
            json!({"MaxNumberOfRecords": 1000}),
        );
        assert_eq!(rank(&sel, true), Some(0));
        assert_eq!(rank(&sel, false), Some(1));
        // iDRAC's and the schema's other ways of saying it.
        assert_eq!(rank(&service("Sel", "SEL Log", json!({})), false), Some(1));
        let typed = service("Log1", "Log", json!({"LogEntryType": "SEL"}));
        assert_eq!(rank(&typed, true), Some(0));
        // bmcweb's event log, the DMTF emulator's manager log.
        assert_eq!(
            rank(&service("EventLog", "Event Log Service", json!({})), true),
            Some(2)
        );
        assert_eq!(
            rank(&service("Log", "System Log Service", json!({})), false),
            Some(3)
        );
        for (id, name) in [
            ("Journal", "Open BMC Journal Entry Service"),
            ("Dump", "Dump LogService"),
            ("Crashdump", "Open BMC Oem Crashdump Service"),
            ("FaultLog", "FaultLog Dump LogService"),
            ("PostCodes", "POST Code Log Service"),
            ("HostLogger", "Host Logger Service"),
            ("AuditLog", "Audit Log"),
        ] {
            assert_eq!(rank(&service(id, name, json!({})), true), None, "{id}");
        }
        let off = service("SEL", "SEL", json!({"ServiceEnabled": false}));
        assert_eq!(rank(&off, true), None);
        assert_eq!(rank(&json!({"Id": "SEL"}), true), None, "no Entries");
        let l = LogService::parse("/x", &sel).unwrap();
        assert_eq!(l.path, "/redfish/v1/Systems/1/LogServices/SEL");
        assert_eq!(l.entries, "/redfish/v1/Systems/1/LogServices/SEL/Entries");
        assert_eq!(
            l.clear.as_deref(),
            Some("/redfish/v1/Systems/1/LogServices/SEL/Actions/LogService.ClearLog")
        );
        assert_eq!(l.max_records, Some(1000));
    }

    #[test]
    fn next_links_stay_on_the_service() {
        let o = "https://10.0.0.1";
        let v = |l: &str| json!({"Members@odata.nextLink": l});
        assert_eq!(
            next_link(&v("/redfish/v1/x/Entries?$skip=50"), o).as_deref(),
            Some("/redfish/v1/x/Entries?$skip=50")
        );
        assert_eq!(
            next_link(&v("https://10.0.0.1/redfish/v1/x?$skip=2"), o).as_deref(),
            Some("/redfish/v1/x?$skip=2")
        );
        assert_eq!(next_link(&v("https://elsewhere/redfish/v1/x"), o), None);
        assert_eq!(next_link(&json!({}), o), None);
    }
}
