//! The BMC's System Event Log: its durable log ([`sel_store::SelLog`]) and what the
//! specification keeps beside it in memory (the reservation, IPMI 2.0 section 31.4), the SEL
//! clock, and the recording of [`Event`]s.

use crate::audit::{Asker, KnownPower};
use crate::events::Event;
use crate::{Backend, BackendError, BackendResult, Bmc, PowerState, Requester};
use ipmi_proto::cmd::storage::GetSelEntry;
use ipmi_proto::cmd::Command;
use ipmi_proto::session::Request;
use ipmi_proto::types::CompletionCode;
use sel_store::{SelLog, SelStore, StoreError, RECORD_LEN};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// The generator ID of the records added to the SEL of the BMC behind: system software ID 40h,
/// "remote console software 1" (IPMI 2.0 table 5-4), which this BMC is to the one behind.
const GENERATOR_REMOTE_CONSOLE: [u8; 2] = [0x40 << 1 | 1, 0x00];

/// A record on its way to the SEL of the BMC behind, and who asked for the action.
type Forward = ([u8; RECORD_LEN], Requester);
/// At most this many records wait for a BMC behind that is slow or down; more are dropped
/// there (with a log line), never here.
const FORWARD_QUEUE: usize = 64;

/// A log in memory only (nothing survives the process), of the default capacity.
pub(crate) fn in_memory_log(bmc: &str) -> SelLog {
    let store = SelStore::in_memory().expect("an in-memory database always opens");
    store.log(bmc, sel_store::DEFAULT_CAPACITY)
}

/// A BMC's SEL.
pub(crate) struct Sel {
    log: SelLog,
    /// The current reservation ID (0: none yet). Only a newer reservation cancels it.
    reservation: Mutex<u16>,
    /// The SEL clock's offset from the system clock in seconds, as stored in the log.
    offset: AtomicI64,
    /// The queue of records for the SEL of the BMC behind, started on first use.
    forward: OnceLock<mpsc::Sender<Forward>>,
}

impl Sel {
    /// The SEL over `log`, its clock offset read from it.
    pub(crate) fn new(log: SelLog) -> Sel {
        let offset = log.time_offset().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the SEL clock offset; using the system clock");
            0
        });
        Sel {
            log,
            reservation: Mutex::new(0),
            offset: AtomicI64::new(offset),
            forward: OnceLock::new(),
        }
    }

    /// The log, for reads (which are fast: no disk write, no fsync).
    pub(crate) fn log(&self) -> &SelLog {
        &self.log
    }

    /// The SEL clock: seconds since 1970-01-01 UTC, plus the offset set by Set SEL Time.
    pub(crate) fn now(&self) -> u32 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        (system + self.offset.load(Ordering::Relaxed)).clamp(0, i64::from(u32::MAX)) as u32
    }

    /// Sets the SEL clock to `time` (durably: it is kept with the log).
    pub(crate) async fn set_time(&self, time: u32) -> Result<(), StoreError> {
        let offset = i64::from(time) - i64::from(self.now()) + self.offset.load(Ordering::Relaxed);
        self.write(move |log| log.set_time_offset(offset)).await?;
        self.offset.store(offset, Ordering::Relaxed);
        Ok(())
    }

    /// A new reservation ID, cancelling the previous one.
    pub(crate) fn reserve(&self) -> u16 {
        let mut r = self.reservation.lock().unwrap_or_else(|e| e.into_inner());
        *r = r.wrapping_add(1).max(1);
        *r
    }

    /// Whether `id` is the current reservation (0x0000 never is); 0xC5 otherwise.
    pub(crate) fn check_reservation(&self, id: u16) -> Result<(), CompletionCode> {
        let current = *self.reservation.lock().unwrap_or_else(|e| e.into_inner());
        if id != 0 && id == current {
            Ok(())
        } else {
            Err(CompletionCode::INVALID_RESERVATION)
        }
    }

    /// Queues `record` for the SEL of the BMC behind `backend`. One task per BMC adds them there
    /// in the order they were queued, after the client has had its answer: a slow BMC behind
    /// delays no action, and one that refuses (or falls [`FORWARD_QUEUE`] records behind) loses
    /// only its copy: this log has the record.
    fn forward(&self, backend: &Arc<dyn Backend>, mut record: [u8; RECORD_LEN], who: Requester) {
        record[7..9].copy_from_slice(&GENERATOR_REMOTE_CONSOLE);
        let tx = self.forward.get_or_init(|| {
            let (tx, mut rx) = mpsc::channel::<Forward>(FORWARD_QUEUE);
            let backend = backend.clone();
            let task = async move {
                while let Some((record, who)) = rx.recv().await {
                    match backend.add_sel_entry(record, &who).await {
                        Ok(id) => {
                            tracing::info!(record = id, who = %who, "SEL entry added to the BMC behind")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, who = %who, "SEL entry not added to the BMC behind")
                        }
                    }
                }
            };
            // The task outlives the request that starts it: its lines name the BMC, not that
            // request.
            let span = tracing::info_span!(parent: None, "bmc", name = %who.bmc);
            tokio::spawn(tracing::Instrument::instrument(task, span));
            tx
        });
        // The task ends only when this sender is dropped: the send fails only when full.
        if let Err(e) = tx.try_send((record, who)) {
            let who = match e {
                mpsc::error::TrySendError::Full((_, who))
                | mpsc::error::TrySendError::Closed((_, who)) => who,
            };
            tracing::warn!(who = %who, "SEL entry not added to the BMC behind: {FORWARD_QUEUE} records wait already");
        }
    }

    /// Runs a change to the log on a blocking thread: it returns once committed to disk.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SelLog) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || f(&log))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

impl Bmc {
    /// Records `event` in the SEL, with the user who asked (`req`) if a client did, and logs it
    /// with the record ID, the user and the address. Returns once the record is on disk. A full
    /// SEL drops the event (and sets its overflow flag); a failing store is logged: the action
    /// itself has been carried out either way.
    ///
    /// When the SEL clients read is the BMC behind's (the backend relays Get SEL Entry), the
    /// record of an action a client asked for is also added there, from this BMC as remote
    /// console software, so that the log read holds it.
    pub(crate) async fn record(&self, event: Event, req: Option<&Request>) {
        let asker = req.map(|r| self.asker(r));
        self.record_for(event, asker.as_ref()).await
    }

    /// [`Bmc::record`] for an action that `asker` asked for (`None`: the BMC's own).
    pub(crate) async fn record_for(&self, event: Event, asker: Option<&Asker>) {
        let user = asker.and_then(|a| a.user_id);
        let requester = asker.map(|a| a.who.clone());
        let who = requester.as_ref().map(|r| r.to_string());
        let mut record = event.record(user);
        if let Some(requester) = requester {
            if self
                .backend
                .relays(GetSelEntry::NETFN, GetSelEntry::CMD)
                .is_some()
            {
                self.sel.forward(&self.backend, record.0, requester);
            }
        }
        let now = self.sel.now();
        record.stamp(now);
        let bytes = record.0;
        let what = event.describe();
        match self.sel.write(move |log| log.append(bytes, now)).await {
            Ok(id) => {
                tracing::info!(record = id, event = what, who = %who.as_deref().unwrap_or("-"), "SEL entry added")
            }
            Err(StoreError::Full) => {
                tracing::warn!(event = what, who = %who.as_deref().unwrap_or("-"), "SEL full: event dropped")
            }
            Err(e) => {
                tracing::error!(event = what, who = %who.as_deref().unwrap_or("-"), error = %e, "SEL write failed: event not recorded")
            }
        }
    }

    /// Logs what a read of the power state shows: a state other than the last one seen (after
    /// an action too: the record of the action says what was asked, this one what came of it),
    /// the backend failing to answer when it answered before, or answering again.
    pub(crate) async fn observe_power(&self, seen: &BackendResult<PowerState>) {
        let (changed, backend) = {
            let mut st = self.state();
            match seen {
                Ok(p) => {
                    let changed = st.last_power.replace(*p).is_some_and(|was| was != *p);
                    // For the status: no clock read unless the state known changes.
                    if st.known_power.is_none_or(|k| k.state != *p) {
                        let now = SystemTime::now();
                        st.known_power = Some(KnownPower {
                            state: *p,
                            since: now,
                            checked: now,
                        });
                    }
                    let back = std::mem::replace(&mut st.backend_down, false);
                    (changed.then_some(*p), back.then_some(true))
                }
                Err(BackendError::Timeout(_) | BackendError::Failed(_)) => {
                    let lost = !std::mem::replace(&mut st.backend_down, true);
                    (None, lost.then_some(false))
                }
                Err(_) => (None, None),
            }
        };
        if let Some(up) = backend {
            self.record(Event::Backend(up), None).await;
        }
        if let Some(p) = changed {
            self.record(Event::PowerSeen(p), None).await;
        }
    }

    /// Maps a store failure to the completion code the client gets, after logging it.
    pub(crate) fn sel_failed(&self, e: &StoreError) -> CompletionCode {
        match e {
            StoreError::Full => CompletionCode::OUT_OF_SPACE,
            StoreError::Database(_) | StoreError::Damaged(_) => {
                tracing::error!(error = %e, "SEL database failed");
                CompletionCode::UNSPECIFIED
            }
        }
    }
}
