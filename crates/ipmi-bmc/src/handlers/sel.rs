//! The System Event Log commands (IPMI 2.0 section 31) over the BMC's durable SEL.
//!
//! A backend that relays Get SEL Entry serves the SEL of the BMC behind it: then the SEL
//! commands it does not relay are refused (0xC1) rather than answered from this BMC's own log,
//! so that a client never sees two logs mixed (reserving on one and deleting on the other).

use crate::audit::Audit;
use crate::dispatch::{ok, Outcome};
use crate::events::Event;
use crate::{Bmc, Durability};
use ipmi_proto::cmd::storage::{
    sel_support, AddSelEntry, ClearAction, ClearSel, ClearSelProgress, ClearSelRequest,
    DeleteSelEntry, DeleteSelRequest, GetSelEntry, SelAllocationInfo, SelEntryRequest,
    SelEntryResponse, SelInfo, SelRecord, SetSelTime, UtcOffset, ENTIRE_RECORD, FIRST_RECORD,
    LAST_RECORD, SEL_VERSION,
};
use ipmi_proto::cmd::Command;
use ipmi_proto::session::Request;
use ipmi_proto::types::CompletionCode;
use sel_store::{Position, RECORD_LEN};

/// Every record takes one allocation unit of 16 bytes.
const UNIT: u16 = RECORD_LEN as u16;
/// "Never" in the last add and erase timestamps.
const NEVER: u32 = 0xffff_ffff;

/// The record a request's record ID names.
fn position(id: u16) -> Position {
    match id {
        FIRST_RECORD => Position::First,
        LAST_RECORD => Position::Last,
        id => Position::Id(id),
    }
}

impl Bmc {
    /// 0xC1 if the SEL served is the one of the BMC behind (see the module documentation).
    fn own_sel(&self) -> Result<(), CompletionCode> {
        match self.backend.relays(GetSelEntry::NETFN, GetSelEntry::CMD) {
            Some(_) => Err(CompletionCode::INVALID_COMMAND),
            None => Ok(()),
        }
    }

    pub(crate) fn sel_info(&self) -> Outcome {
        self.own_sel()?;
        let info = self.sel.log().info().map_err(|e| self.sel_failed(&e))?;
        let free = info.capacity.saturating_sub(info.entries);
        ok(SelInfo {
            version: SEL_VERSION,
            entries: info.entries,
            free_bytes: u16::try_from(u32::from(free) * u32::from(UNIT)).unwrap_or(u16::MAX),
            last_add: info.last_add.unwrap_or(NEVER),
            last_erase: info.last_erase.unwrap_or(NEVER),
            support: sel_support::DELETE
                | sel_support::RESERVE
                | sel_support::ALLOCATION_INFO
                | if info.overflow {
                    sel_support::OVERFLOW
                } else {
                    0
                },
        })
    }

    pub(crate) fn sel_allocation_info(&self) -> Outcome {
        self.own_sel()?;
        let info = self.sel.log().info().map_err(|e| self.sel_failed(&e))?;
        let free = info.capacity.saturating_sub(info.entries);
        ok(SelAllocationInfo {
            units: info.capacity,
            unit_size: UNIT,
            free_units: free,
            largest_free: free,
            max_record_units: 1,
        })
    }

    pub(crate) fn reserve_sel(&self) -> Outcome {
        self.own_sel()?;
        ok(self.sel.reserve())
    }

    pub(crate) fn get_sel_entry(&self, r: SelEntryRequest) -> Outcome {
        self.own_sel()?;
        // A reservation is required for a partial read; one given for a whole read must be current.
        if r.is_partial_sel_read() || r.reservation != 0 {
            self.sel.check_reservation(r.reservation)?;
        }
        let offset = usize::from(r.offset);
        if offset >= RECORD_LEN {
            return Err(CompletionCode::OUT_OF_RANGE);
        }
        let entry = self
            .sel
            .log()
            .get(position(r.record_id))
            .map_err(|e| self.sel_failed(&e))?
            .ok_or(CompletionCode::NOT_PRESENT)?;
        let count = if r.count == ENTIRE_RECORD {
            RECORD_LEN
        } else {
            usize::from(r.count)
        };
        let end = (offset + count).min(RECORD_LEN);
        ok(SelEntryResponse {
            next: entry.next.unwrap_or(LAST_RECORD),
            data: entry.record[offset..end].to_vec(),
        })
    }

    pub(crate) async fn add_sel_entry(&self, req: &Request, mut record: SelRecord) -> Outcome {
        self.own_sel()?;
        let now = self.sel.now();
        record.stamp(now);
        let bytes = record.0;
        let call = format!("SEL add record of type 0x{:02x}", record.record_type());
        let write = async {
            self.sel
                .write(move |log| log.append(bytes, now))
                .await
                .map_err(|e| self.sel_failed(&e))
        };
        let id = self.audited(req, AddSelEntry::NAME, call, write).await?;
        tracing::info!(record = id, record_type = record.record_type(), who = %self.requester(req), "SEL entry added by a client");
        ok(id)
    }

    pub(crate) async fn delete_sel_entry(&self, req: &Request, r: DeleteSelRequest) -> Outcome {
        self.own_sel()?;
        self.sel.check_reservation(r.reservation)?;
        let now = self.sel.now();
        let at = position(r.record_id);
        let call = format!("SEL delete record 0x{:04x}", r.record_id);
        let delete = async {
            self.sel
                .write(move |log| log.delete(at, now))
                .await
                .map_err(|e| self.sel_failed(&e))?
                .ok_or(CompletionCode::NOT_PRESENT)
        };
        let id = self
            .audited(req, DeleteSelEntry::NAME, call, delete)
            .await?;
        tracing::info!(record = id, who = %self.requester(req), "SEL entry deleted");
        ok(id)
    }

    /// Clear SEL: the erasure is done (and committed) before the initiate request is answered,
    /// so both steps report "erasure completed". The log then holds one record: that it was
    /// cleared, and by whom.
    pub(crate) async fn clear_sel(&self, req: &Request, r: ClearSelRequest) -> Outcome {
        self.own_sel()?;
        self.sel.check_reservation(r.reservation)?;
        if r.action == ClearAction::Initiate {
            let now = self.sel.now();
            let clear = async {
                self.sel
                    .write(move |log| log.clear(now))
                    .await
                    .map_err(|e| self.sel_failed(&e))
            };
            self.audited(req, ClearSel::NAME, "SEL clear".into(), clear)
                .await?;
            tracing::info!(who = %self.requester(req), "SEL cleared");
            self.record(Event::Cleared, Some(req)).await;
        }
        ok(ClearSelProgress { completed: true })
    }

    pub(crate) fn get_sel_time(&self) -> Outcome {
        self.own_sel()?;
        ok(self.sel.now())
    }

    pub(crate) async fn set_sel_time(&self, req: &Request, time: u32) -> Outcome {
        self.own_sel()?;
        let was = self.sel.now();
        let set = async {
            self.sel
                .set_time(time)
                .await
                .map_err(|e| self.sel_failed(&e))
        };
        let call = format!("SEL time set to {time}");
        self.audited(req, SetSelTime::NAME, call, set).await?;
        tracing::info!(from = was, to = time, who = %self.requester(req), "SEL time set");
        Ok(Vec::new())
    }

    /// Runs `change`, a change of the SEL that `req` asked for, audited as `command`: `call`.
    async fn audited<T>(
        &self,
        req: &Request,
        command: &'static str,
        call: String,
        change: impl std::future::Future<Output = Result<T, CompletionCode>>,
    ) -> Result<T, CompletionCode> {
        let mut audit = Audit::start(self, &self.asker(req), command, call);
        audit
            .admit(Durability::Written)
            .await
            .map_err(|(cc, _)| cc)?;
        let result = change
            .await
            .map_err(|cc| (cc, format!("completion code {cc}")));
        audit.finish_with(&result, Durability::Written).await;
        result.map_err(|(cc, _)| cc)
    }

    /// The SEL clock runs in UTC: local time is the SEL time plus 0 minutes.
    pub(crate) fn get_sel_utc_offset(&self) -> Outcome {
        self.own_sel()?;
        ok(UtcOffset { minutes: Some(0) })
    }
}
