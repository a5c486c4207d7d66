//! The SEL the BMC serves with the redfish backend: the Redfish event log ([`crate::log_service`])
//! as IPMI records ([`crate::sel_map`]), with the shim's own records of the actions carried out
//! through it, answered here for the SEL commands the backend relays (as the ipmi backend relays
//! them to the BMC behind).
//!
//! - **Order and record IDs**: oldest first (a log the service lists newest first is turned
//!   round, then every record is ordered by its time, stably). A record keeps its ID for as long
//!   as the service lists its entry: the entry's `Id` where that is a number from 1 to 65534 not
//!   taken yet, else the next free number; IDs are only reused once their entry is gone (after a
//!   clear, or when a full log wraps).
//! - **The shim's records** (power, boot and identify actions clients ask for, as the BMC
//!   model adds them to a SEL it relays) cannot be written into a Redfish log: the backend keeps
//!   the last [`MAX_SHIM_RECORDS`] in memory, stamped when added, and shows them among the
//!   service's entries by time. They are lost at a restart (the shim's own SEL file still holds
//!   every one) and cleared with the log.
//! - **Reading**: the log is read with the system's cache period and one read in flight; Get
//!   SEL Entry walks the records of the last read. A service without an event log has a SEL of
//!   the shim's records alone (and looking for a log is tried again after [`ABSENT_RECHECK`]).
//! - **Clear SEL** (with the current reservation) is the log's `LogService.ClearLog`; the
//!   shim's records go too. It is audited as the shim's own clear is: a log line naming who
//!   asked, and the record "log area reset/cleared" among the shim's records. A log without
//!   that action answers 0xD6.
//! - Get SEL Info gives the entries, the free space from `MaxNumberOfRecords` (FFFFh when the
//!   service does not say), the newest record's time and the time of the last clear through the
//!   shim; it supports reservations only (no delete, no allocation information).

use crate::errors::ApiError;
use crate::log_service::{self, LogService};
use crate::{backend_error, sel_map, RedfishBackend, NOT_OFFERED};
use ipmi_bmc::{BackendError, BackendResult, Requester};
use ipmi_proto::cmd::storage::{
    sel_support, ClearAction, ClearSel, ClearSelProgress, ClearSelRequest, GetSelEntry, GetSelInfo,
    GetSelTime, GetSelTimeUtcOffset, ReserveSel, SelEntryRequest, SelEntryResponse, SelInfo,
    SelRecord, SystemEvent, UtcOffset, ENTIRE_RECORD, FIRST_RECORD, LAST_RECORD, SEL_VERSION,
    SENSOR_SPECIFIC,
};
use ipmi_proto::cmd::{Body, Command};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// The shim's own records kept (the oldest go first).
pub const MAX_SHIM_RECORDS: usize = 256;
/// A service found without an event log is looked at again after this long.
pub const ABSENT_RECHECK: Duration = Duration::from_secs(60);
/// "Never" in Get SEL Info's timestamps.
const NEVER: u32 = 0xffff_ffff;
/// A record's length.
const RECORD_LEN: usize = 16;
/// The generator of the shim's records: system software ID 40h, "remote console software 1",
/// as the BMC model marks the records it adds to a SEL it relays.
const GENERATOR_SHIM: [u8; 2] = [0x40 << 1 | 1, 0x00];

/// The record of a clear: Event Logging Disabled, "log area reset/cleared" (IPMI table 42-3),
/// from the BMC's event-only sensor of its log.
fn cleared_record() -> SelRecord {
    SelRecord::system_event(&SystemEvent {
        generator: GENERATOR_SHIM,
        sensor_type: 0x10,
        sensor_number: ipmi_bmc::events::sensor::EVENT_LOG,
        deasserted: false,
        event_type: SENSOR_SPECIFIC,
        data: [0x02, 0xff, 0xff],
    })
}

/// The SEL commands the backend answers, and the privilege each needs.
pub fn relayed(netfn: NetFn, cmd: u8) -> Option<Privilege> {
    let is = |n: NetFn, c: u8| (n, c) == (netfn, cmd);
    if is(GetSelInfo::NETFN, GetSelInfo::CMD)
        || is(ReserveSel::NETFN, ReserveSel::CMD)
        || is(GetSelEntry::NETFN, GetSelEntry::CMD)
        || is(GetSelTime::NETFN, GetSelTime::CMD)
        || is(GetSelTimeUtcOffset::NETFN, GetSelTimeUtcOffset::CMD)
    {
        Some(Privilege::User)
    } else if is(ClearSel::NETFN, ClearSel::CMD) {
        Some(Privilege::Operator)
    } else {
        None
    }
}

/// Record IDs by entry: stable while the entry is listed.
#[derive(Debug, Default)]
struct Ids {
    /// Entry (its `@odata.id`) → record ID.
    of: HashMap<String, u16>,
    /// The next ID to try for an entry without a usable number of its own.
    next: u16,
}

impl Ids {
    /// The next free ID (1 to 65534) after the last one given.
    fn fresh(&mut self, used: &HashSet<u16>) -> u16 {
        loop {
            self.next = if self.next >= 0xfffe {
                1
            } else {
                self.next + 1
            };
            if !used.contains(&self.next) {
                return self.next;
            }
        }
    }

    /// The IDs of `entries` (key, the entry's own number), none of them in `taken`; entries no
    /// longer listed are forgotten. A key listed twice gets `None` the second time.
    fn assign(
        &mut self,
        entries: &[(String, Option<u16>)],
        taken: &HashSet<u16>,
    ) -> Vec<Option<u16>> {
        let mut used = taken.clone();
        let mut of = HashMap::new();
        let mut out = vec![None; entries.len()];
        for (i, (key, _)) in entries.iter().enumerate() {
            if let Some(&id) = self.of.get(key) {
                if !of.contains_key(key) && used.insert(id) {
                    of.insert(key.clone(), id);
                    out[i] = Some(id);
                }
            }
        }
        // New entries: their own numbers first (so that no fresh ID takes one), then fresh IDs.
        for own_number in [true, false] {
            for (i, (key, own)) in entries.iter().enumerate() {
                if of.contains_key(key) {
                    continue;
                }
                let own = own.filter(|n| (1..=0xfffe).contains(n) && !used.contains(n));
                let id = match (own, own_number) {
                    (Some(n), true) => n,
                    (None, true) => continue,
                    (_, false) => self.fresh(&used),
                };
                used.insert(id);
                of.insert(key.clone(), id);
                out[i] = Some(id);
            }
        }
        self.of = of;
        out
    }
}

/// One read of the log, with record IDs, oldest first.
#[derive(Debug, Default)]
pub(crate) struct LogRead {
    records: Vec<SelRecord>,
    max_records: Option<u32>,
}

/// The records of `entries` (as the service lists them) with their IDs, oldest first: the
/// newest [`log_service::MAX_ENTRIES`] of them.
fn order(entries: &[serde_json::Value], ids: &mut Ids, taken: &HashSet<u16>) -> Vec<SelRecord> {
    let mut keyed: Vec<(String, Option<u16>, SelRecord)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let text = |k: &str| e.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let key = text("@odata.id")
                .or_else(|| text("Id"))
                .unwrap_or_else(|| format!("#{i}"));
            let own = text("Id").and_then(|id| id.parse().ok());
            (key, own, sel_map::record_of(e))
        })
        .collect();
    // A service listing newest first (iDRAC) is turned round; then by time, stably.
    let time = |r: &SelRecord| r.timestamp().unwrap_or(0);
    if let (Some(first), Some(last)) = (keyed.first(), keyed.last()) {
        if time(&first.2) > time(&last.2) {
            keyed.reverse();
        }
    }
    keyed.sort_by_key(|k| time(&k.2));
    let extra = keyed.len().saturating_sub(log_service::MAX_ENTRIES);
    keyed.drain(..extra);
    let pairs: Vec<(String, Option<u16>)> = keyed.iter().map(|(k, n, _)| (k.clone(), *n)).collect();
    let assigned = ids.assign(&pairs, taken);
    keyed
        .into_iter()
        .zip(assigned)
        .filter_map(|((_, _, mut r), id)| {
            r.set_id(id?);
            Some(r)
        })
        .collect()
}

/// The backend's SEL state.
pub(crate) struct SelState {
    /// The log found (`None` inside: the service has none), and when it was looked for.
    log: Mutex<Option<(Option<LogService>, Instant)>>,
    /// The last read of the log.
    read: http_support::SingleFlight<Arc<LogRead>, ApiError>,
    ids: Mutex<Ids>,
    /// The shim's records, oldest first, with their IDs set.
    shim: Mutex<VecDeque<SelRecord>>,
    /// The current reservation ID (0: none yet).
    reservation: Mutex<u16>,
    /// When the SEL was last cleared through the shim.
    last_erase: Mutex<Option<u32>>,
}

/// The SEL clock: the system clock, UTC.
fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs().min(u64::from(u32::MAX)) as u32)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SelState {
    /// A SEL whose log reads are reused for `cache`.
    pub(crate) fn new(cache: Duration) -> SelState {
        SelState {
            log: Mutex::new(None),
            read: http_support::SingleFlight::new(cache),
            ids: Mutex::new(Ids::default()),
            shim: Mutex::new(VecDeque::new()),
            reservation: Mutex::new(0),
            last_erase: Mutex::new(None),
        }
    }

    #[cfg(test)]
    fn shim_ids(&self) -> HashSet<u16> {
        lock(&self.shim).iter().map(SelRecord::id).collect()
    }

    /// Keeps one of the shim's records (its timestamp set now); its record ID.
    pub(crate) fn add(&self, mut record: SelRecord) -> u16 {
        // The shim's records, then the IDs: the order a read of the log takes them in.
        let mut shim = lock(&self.shim);
        let mut ids = lock(&self.ids);
        let mut used: HashSet<u16> = ids.of.values().copied().collect();
        used.extend(shim.iter().map(SelRecord::id));
        let id = ids.fresh(&used);
        drop(ids);
        record.set_id(id);
        record.stamp(now());
        if shim.len() == MAX_SHIM_RECORDS {
            shim.pop_front();
        }
        shim.push_back(record);
        id
    }

    fn check_reservation(&self, id: u16) -> Result<(), CompletionCode> {
        let current = *lock(&self.reservation);
        if id != 0 && id == current {
            Ok(())
        } else {
            Err(CompletionCode::INVALID_RESERVATION)
        }
    }
}

/// Every record served: the log's and the shim's, by time (the log's first among equals).
fn served(read: &LogRead, shim: &VecDeque<SelRecord>) -> Vec<SelRecord> {
    let mut all: Vec<SelRecord> = read.records.iter().chain(shim.iter()).copied().collect();
    all.sort_by_key(|r| r.timestamp().unwrap_or(0));
    all
}

impl RedfishBackend {
    /// The log the SEL comes from, found on first use (and again after a 404, or
    /// [`ABSENT_RECHECK`] after finding none).
    async fn sel_log(&self, deadline: Instant) -> Result<Option<LogService>, ApiError> {
        if let Some((found, at)) = lock(&self.sel.log).as_ref() {
            if found.is_some() || at.elapsed() < ABSENT_RECHECK {
                return Ok(found.clone());
            }
        }
        let found = self.find_log_service(deadline).await?;
        *lock(&self.sel.log) = Some((found.clone(), Instant::now()));
        Ok(found)
    }

    /// Reads the log (uncached).
    async fn read_log(&self, deadline: Instant) -> Result<Arc<LogRead>, ApiError> {
        let Some(log) = self.sel_log(deadline).await? else {
            return Ok(Arc::new(LogRead::default()));
        };
        let entries = match self.read_entries(&log, deadline).await {
            Err(ApiError::NotFound(m)) => {
                // The log is gone (a firmware update?): look for it again next time.
                *lock(&self.sel.log) = None;
                return Err(ApiError::NotFound(m));
            }
            r => r?,
        };
        // Holding the shim's records, so that none is added with an ID given out here.
        let shim = lock(&self.sel.shim);
        let taken: HashSet<u16> = shim.iter().map(SelRecord::id).collect();
        let records = order(&entries, &mut lock(&self.sel.ids), &taken);
        drop(shim);
        Ok(Arc::new(LogRead {
            records,
            max_records: log.max_records,
        }))
    }

    /// Every record served now, and the log's capacity.
    async fn sel_records(&self) -> BackendResult<(Vec<SelRecord>, usize, Option<u32>)> {
        let deadline = self.deadline();
        let read = self
            .sel
            .read
            .get(|| self.read_log(deadline))
            .await
            .map_err(backend_error)?;
        let all = served(&read, &lock(&self.sel.shim));
        Ok((all, read.records.len(), read.max_records))
    }

    async fn sel_info(&self) -> BackendResult<SelInfo> {
        let (all, in_log, max) = self.sel_records().await?;
        let free = max.map_or(u32::from(u16::MAX), |m| {
            m.saturating_sub(in_log as u32)
                .saturating_mul(RECORD_LEN as u32)
        });
        Ok(SelInfo {
            version: SEL_VERSION,
            entries: u16::try_from(all.len()).unwrap_or(u16::MAX),
            free_bytes: u16::try_from(free).unwrap_or(u16::MAX),
            last_add: all
                .iter()
                .filter_map(SelRecord::timestamp)
                .max()
                .unwrap_or(NEVER),
            last_erase: lock(&self.sel.last_erase).unwrap_or(NEVER),
            support: sel_support::RESERVE,
        })
    }

    async fn sel_entry(&self, r: SelEntryRequest) -> Result<SelEntryResponse, BackendError> {
        let cc = |c| BackendError::Completion(c);
        // A reservation is required for a partial read; one given for a whole read must be current.
        if r.is_partial_sel_read() || r.reservation != 0 {
            self.sel.check_reservation(r.reservation).map_err(cc)?;
        }
        let offset = usize::from(r.offset);
        if offset >= RECORD_LEN {
            return Err(cc(CompletionCode::OUT_OF_RANGE));
        }
        let (all, _, _) = self.sel_records().await?;
        let at = match r.record_id {
            FIRST_RECORD if !all.is_empty() => Some(0),
            LAST_RECORD => all.len().checked_sub(1),
            id => all.iter().position(|x| x.id() == id),
        }
        .ok_or(cc(CompletionCode::NOT_PRESENT))?;
        let count = if r.count == ENTIRE_RECORD {
            RECORD_LEN
        } else {
            usize::from(r.count)
        };
        Ok(SelEntryResponse {
            next: all.get(at + 1).map_or(LAST_RECORD, SelRecord::id),
            data: all[at].0[offset..(offset + count).min(RECORD_LEN)].to_vec(),
        })
    }

    /// Clears the log (`LogService.ClearLog`) and the shim's records.
    async fn sel_clear(&self, who: &Requester) -> BackendResult<()> {
        let deadline = self.deadline();
        let log = self.sel_log(deadline).await.map_err(backend_error)?;
        if let Some(log) = &log {
            if log.clear.is_none() {
                tracing::warn!(log = ?log.path, "the Redfish log has no LogService.ClearLog action: SEL not cleared");
                return Err(BackendError::Completion(NOT_OFFERED));
            }
            let r = self.clear_log(log, deadline).await;
            self.sel.read.forget();
            r.map_err(backend_error)?;
        }
        lock(&self.sel.shim).clear();
        self.sel.read.forget();
        *lock(&self.sel.last_erase) = Some(now());
        let record = self.sel.add(cleared_record());
        tracing::info!(log = log.as_ref().map_or("-", |l| l.path.as_str()), %who, record, "SEL cleared through Redfish (LogService.ClearLog)");
        Ok(())
    }

    /// Answers a relayed SEL command.
    pub(crate) async fn sel_command(
        &self,
        cmd: u8,
        data: &[u8],
        who: &Requester,
    ) -> BackendResult<(CompletionCode, Vec<u8>)> {
        fn parse<C: Command>(data: &[u8]) -> Result<C::Request, CompletionCode> {
            C::Request::parse(data).map_err(CompletionCode::from)
        }
        let answer = |r: Result<Vec<u8>, CompletionCode>| {
            Ok(match r {
                Ok(d) => (CompletionCode::OK, d),
                Err(c) => (c, Vec::new()),
            })
        };
        let completion = |e: BackendError| match e {
            BackendError::Completion(c) => Ok((c, Vec::new())),
            e => Err(e),
        };
        match cmd {
            GetSelInfo::CMD => match parse::<GetSelInfo>(data) {
                Err(c) => answer(Err(c)),
                Ok(_) => match self.sel_info().await {
                    Ok(i) => answer(Ok(i.to_bytes())),
                    Err(e) => completion(e),
                },
            },
            ReserveSel::CMD => answer(parse::<ReserveSel>(data).map(|_| {
                let mut r = lock(&self.sel.reservation);
                *r = r.wrapping_add(1).max(1);
                r.to_bytes()
            })),
            GetSelEntry::CMD => match parse::<GetSelEntry>(data) {
                Err(c) => answer(Err(c)),
                Ok(r) => match self.sel_entry(r).await {
                    Ok(e) => answer(Ok(e.to_bytes())),
                    Err(e) => completion(e),
                },
            },
            ClearSel::CMD => match parse::<ClearSel>(data) {
                Err(c) => answer(Err(c)),
                Ok(ClearSelRequest {
                    reservation,
                    action,
                }) => {
                    if let Err(c) = self.sel.check_reservation(reservation) {
                        return answer(Err(c));
                    }
                    if action == ClearAction::Initiate {
                        if let Err(e) = self.sel_clear(who).await {
                            return completion(e);
                        }
                    }
                    answer(Ok(ClearSelProgress { completed: true }.to_bytes()))
                }
            },
            GetSelTime::CMD => answer(parse::<GetSelTime>(data).map(|_| now().to_bytes())),
            GetSelTimeUtcOffset::CMD => answer(
                parse::<GetSelTimeUtcOffset>(data)
                    .map(|_| UtcOffset { minutes: Some(0) }.to_bytes()),
            ),
            _ => Err(BackendError::NotSupported),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(id: &str, created: &str) -> serde_json::Value {
        json!({
            "@odata.id": format!("/redfish/v1/Systems/1/LogServices/SEL/Entries/{id}"),
            "Id": id, "EntryType": "SEL", "Created": created,
            "EntryCode": "Assert", "SensorType": "Temperature", "SensorNumber": 1
        })
    }

    fn ids(records: &[SelRecord]) -> Vec<u16> {
        records.iter().map(SelRecord::id).collect()
    }

    #[test]
    fn oldest_first_with_ids_stable_across_reads() {
        let mut state = Ids::default();
        // Listed newest first, as iDRAC does; "b7" has no number of its own.
        let read1 = [
            entry("9", "2024-05-01T10:00:09Z"),
            entry("b7", "2024-05-01T10:00:05Z"),
            entry("3", "2024-05-01T10:00:03Z"),
        ];
        let r = order(&read1, &mut state, &HashSet::new());
        assert_eq!(ids(&r), [3, 1, 9]);
        let times: Vec<u32> = r.iter().filter_map(SelRecord::timestamp).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
        // A new entry, one gone: the others keep their IDs; "1" is taken, so it gets a new one.
        let read2 = [
            entry("1", "2024-05-01T10:00:10Z"),
            entry("9", "2024-05-01T10:00:09Z"),
            entry("b7", "2024-05-01T10:00:05Z"),
        ];
        let r = order(&read2, &mut state, &HashSet::new());
        assert_eq!(ids(&r), [1, 9, 2]);
        // The shim's record 4 is never given to an entry.
        let taken: HashSet<u16> = [4].into();
        let r = order(&[entry("4", "2024-05-01T10:00:11Z")], &mut state, &taken);
        assert_eq!(ids(&r), [3]);
    }

    #[test]
    fn the_newest_entries_are_kept_whichever_order_they_come_in() {
        let n = log_service::MAX_ENTRIES + 2;
        let many: Vec<_> = (1..=n)
            .map(|i| {
                entry(
                    &i.to_string(),
                    &format!("2024-05-01T10:{:02}:{:02}Z", i / 60, i % 60),
                )
            })
            .collect();
        let oldest_first = order(&many, &mut Ids::default(), &HashSet::new());
        let mut reversed = many.clone();
        reversed.reverse();
        let newest_first = order(&reversed, &mut Ids::default(), &HashSet::new());
        for r in [oldest_first, newest_first] {
            assert_eq!(r.len(), log_service::MAX_ENTRIES);
            assert_eq!((r[0].id(), r[r.len() - 1].id()), (3, n as u16));
        }
    }

    #[test]
    fn ids_wrap_and_skip_those_in_use() {
        let mut ids = Ids {
            next: 0xfffd,
            ..Ids::default()
        };
        let used: HashSet<u16> = [0xfffe, 1].into();
        assert_eq!(ids.fresh(&used), 2);
        let listed = [("a".to_string(), None), ("a".to_string(), None)];
        assert_eq!(ids.assign(&listed, &HashSet::new()), [Some(3), None]);
    }

    #[test]
    fn shim_records_are_kept_in_time_order_among_the_log() {
        let state = SelState::new(Duration::from_secs(1));
        let id = state.add(SelRecord([0; 16]));
        let read = LogRead {
            records: order(
                &[entry("7", "2001-01-01T00:00:00Z")],
                &mut lock(&state.ids),
                &state.shim_ids(),
            ),
            max_records: None,
        };
        let all = served(&read, &lock(&state.shim));
        assert_eq!(ids(&all), [7, id]);
        for _ in 0..MAX_SHIM_RECORDS {
            state.add(SelRecord([0; 16]));
        }
        assert_eq!(lock(&state.shim).len(), MAX_SHIM_RECORDS);
        assert!(!state.shim_ids().contains(&id), "the oldest went first");
    }

    #[test]
    fn the_sel_commands_answered_and_their_privileges() {
        let s = NetFn::STORAGE;
        assert_eq!(relayed(s, 0x40), Some(Privilege::User));
        assert_eq!(relayed(s, 0x43), Some(Privilege::User));
        assert_eq!(relayed(s, 0x47), Some(Privilege::Operator));
        for not in [0x41, 0x44, 0x46, 0x49] {
            assert_eq!(relayed(s, not), None, "{not:#x}");
        }
        assert_eq!(relayed(NetFn::APP, 0x40), None);
    }
}
