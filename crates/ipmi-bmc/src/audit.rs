//! The audit of state-changing requests, and what the BMC shows of itself (its status).
//!
//! Every request that changes something (a power action, the boot device, the identify light,
//! the SEL written or cleared, a command relayed whole that needs operator privilege or more) is
//! described once, after its backend call, as an [`AuditRecord`]: who asked, from where, with
//! which privilege, what was called and how it ended, and how long it took. The BMC hands it to
//! the [`AuditSink`] it was given ([`crate::Bmc::with_audit`]), which writes it wherever the
//! program wants, and waits for the sink before it answers: power actions until the record is
//! durable ([`Durability::Synced`]), the others until it is written. The same record becomes the
//! BMC's last action in its [`BmcStatus`].
//!
//! A power action is also recorded before it is carried out ([`AuditOutcome::Asked`], durable):
//! a sink that fails closed ([`AuditSink::fails_closed`], the default) thus never lets one be
//! carried out unrecorded. If that record cannot be written, the action is refused with
//! [`AUDIT_REFUSED_CC`] (0xD5, "cannot execute in the present state": the state is the audit
//! log's) and an error that starts with [`AUDIT_REFUSED`]; the other state-changing requests are
//! refused the same way while the sink says its writes fail ([`AuditSink::failing`]). A refused
//! request's record is still handed to the sink: the first one written ends the refusals.
//!
//! Read-only requests never come here: they cost nothing more than before.

use crate::{PowerAction, PowerState, Requester};
use async_trait::async_trait;
use ipmi_proto::types::{CompletionCode, Privilege};
use std::borrow::Cow;
use std::time::{Duration, SystemTime};

/// One state-changing request as carried out.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    /// When the request reached the BMC model.
    pub time: SystemTime,
    /// Which BMC, who asked and from where.
    pub who: Requester,
    /// The front-end the request came through.
    pub protocol: Protocol,
    /// The user's IPMI privilege (a Redfish role is one of them); `None` where no user
    /// account asked (the admin API).
    pub privilege: Option<Privilege>,
    /// The command, as the specification names it (`Chassis Control`).
    pub command: Cow<'static, str>,
    /// What was asked of the backend (`power off`, `set boot override pxe`).
    pub call: String,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// From the request's arrival at the model to its outcome.
    pub duration: Duration,
}

/// The front-end a request came through: the only field in which an action asked over IPMI
/// and the same action asked over Redfish differ in the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// An IPMI session (RMCP or RMCP+).
    Ipmi,
    /// The Redfish service.
    Redfish,
    /// The admin API.
    AdminApi,
}

impl Protocol {
    /// The name in the audit log (`ipmi`, `redfish`, `admin-api`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Ipmi => "ipmi",
            Protocol::Redfish => "redfish",
            Protocol::AdminApi => "admin-api",
        }
    }
}
/// The completion code of a request refused because its audit record cannot be written.
pub const AUDIT_REFUSED_CC: CompletionCode = CompletionCode::INVALID_STATE;

/// How the error of a request refused because its audit record cannot be written begins.
pub const AUDIT_REFUSED: &str = "refused: the audit log cannot be written";

/// How an audited request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditOutcome {
    /// Asked, not yet carried out: the record a power action leaves before its backend call.
    Asked,
    /// Carried out.
    Done,
    /// Not carried out: the completion code the client got, and why.
    Failed {
        /// The completion code the client got.
        ccode: CompletionCode,
        /// The error (the backend's, or what refused it).
        error: String,
    },
}

impl AuditOutcome {
    /// Whether the request was carried out.
    pub fn is_done(&self) -> bool {
        matches!(self, AuditOutcome::Done)
    }
}

/// How far a record must have gone before the client is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Handed to the operating system (it survives the process being killed).
    Written,
    /// On disk (it survives the machine going down): power actions.
    Synced,
}

/// Where the audit records go. [`AuditSink::record`] returns once the record has gone as far as
/// `durability` asks, or why it could not (the sink says so in its own log as well). It must not
/// block the thread it is called on: it is awaited on the runtime's workers.
#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Writes one record.
    async fn record(&self, record: AuditRecord, durability: Durability) -> Result<(), String>;

    /// Whether requests are refused when their records cannot be written (the default), rather
    /// than carried out unrecorded.
    fn fails_closed(&self) -> bool {
        true
    }

    /// Why the last write failed, while writes fail (`None` once one succeeds).
    fn failing(&self) -> Option<String> {
        None
    }
}

/// The power state as last known: seen by a read, or expected after an action carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownPower {
    /// The state.
    pub state: PowerState,
    /// Since when it is known (the first read or action that showed it).
    pub since: SystemTime,
    /// When it was last confirmed: by the background refresh ([`crate::Bmc::refresh_power`]),
    /// or by the read or action that changed it (the reads of IPMI clients that find it
    /// unchanged read no clock).
    pub checked: SystemTime,
}

/// What the BMC shows of itself: for an operator's status page, never on a request's path.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BmcStatus {
    /// The power state as last known.
    pub power: Option<KnownPower>,
    /// The last state-changing request, carried out or not.
    pub last_action: Option<AuditRecord>,
    /// The last backend failure: when, which operation, and the error.
    pub last_error: Option<(SystemTime, String)>,
    /// Whether the backend has failed to answer a power status read since it last answered.
    pub backend_down: bool,
}

/// The power state expected once `action` has been carried out (`None`: unknown from the action
/// alone: a soft off takes the operating system's time, an NMI changes nothing).
pub(crate) fn expected_power(action: PowerAction) -> Option<PowerState> {
    match action {
        PowerAction::On | PowerAction::Cycle | PowerAction::Reset => Some(PowerState::On),
        PowerAction::Off => Some(PowerState::Off),
        PowerAction::Soft | PowerAction::Diag => None,
    }
}

/// Who asked for an action: a user (with its user ID for the SEL record and its privilege),
/// or a caller with no account such as the admin API (no ID, no privilege), and through which
/// front-end.
#[derive(Clone, Debug)]
pub struct Asker {
    /// Which BMC, who asked and from where.
    pub who: Requester,
    /// The user's ID, for the SEL record (`None`: no account).
    pub user_id: Option<u8>,
    /// The user's privilege (`None`: no account).
    pub privilege: Option<Privilege>,
    /// The front-end the request came through.
    pub protocol: Protocol,
}

impl Asker {
    /// A caller with no account of the BMC's through `protocol` (the admin API's power and
    /// virtual media actions): no user ID, no session privilege.
    pub fn outside(who: Requester, protocol: Protocol) -> Asker {
        Asker {
            who,
            user_id: None,
            privilege: None,
            protocol,
        }
    }
}

/// The record of one audited request in progress. [`Audit::finish`] completes it with its
/// outcome and waits for the sink; dropped unfinished (the request abandoned at its deadline),
/// it is completed as abandoned and written without waiting, so that no state-changing request
/// goes unrecorded.
pub(crate) struct Audit<'a> {
    bmc: &'a crate::Bmc,
    record: Option<AuditRecord>,
    started: std::time::Instant,
}

impl<'a> Audit<'a> {
    /// Starts the record of `command` asked by `asker`, which calls `call`.
    pub(crate) fn start(
        bmc: &'a crate::Bmc,
        asker: &Asker,
        command: impl Into<Cow<'static, str>>,
        call: String,
    ) -> Audit<'a> {
        Audit {
            bmc,
            record: Some(AuditRecord {
                time: SystemTime::now(),
                who: asker.who.clone(),
                protocol: asker.protocol,
                privilege: asker.privilege,
                command: command.into(),
                call,
                outcome: AuditOutcome::Done,
                duration: Duration::ZERO,
            }),
            started: std::time::Instant::now(),
        }
    }

    /// Whether the request may be carried out as far as the audit goes: a power action
    /// (`Synced`) once its [`AuditOutcome::Asked`] record is durable, the others while the sink's
    /// writes do not fail; always, where the sink fails open. Refused: the record is completed
    /// as refused (and handed to the sink, whose first success ends the refusals), and the
    /// completion code and error to answer with are returned.
    pub(crate) async fn admit(
        &mut self,
        durability: Durability,
    ) -> Result<(), (CompletionCode, String)> {
        let (Some(sink), Some(record)) = (self.bmc.audit.clone(), self.record.as_ref()) else {
            return Ok(());
        };
        let failed = if durability == Durability::Synced {
            let mut asked = record.clone();
            asked.outcome = AuditOutcome::Asked;
            sink.record(asked, Durability::Synced).await.err()
        } else {
            sink.failing()
        };
        let Some(why) = failed.filter(|_| sink.fails_closed()) else {
            return Ok(());
        };
        let error = format!("{AUDIT_REFUSED}: {why}");
        tracing::error!(
            command = %record.command,
            call = %record.call,
            who = %record.who,
            "{error}"
        );
        let mut r = self.record.take().expect("checked above");
        r.outcome = AuditOutcome::Failed {
            ccode: AUDIT_REFUSED_CC,
            error: error.clone(),
        };
        r.duration = self.started.elapsed();
        self.bmc.state().last_action = Some(Box::new(r.clone()));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { sink.record(r, Durability::Written).await });
        }
        Err((AUDIT_REFUSED_CC, error))
    }

    /// Completes the record with `outcome`, makes it the BMC's last action, and returns once the
    /// sink has it as far as `durability` asks.
    pub(crate) async fn finish(mut self, outcome: AuditOutcome, durability: Durability) {
        let Some(mut r) = self.record.take() else {
            return;
        };
        r.outcome = outcome;
        r.duration = self.started.elapsed();
        self.bmc.state().last_action = Some(Box::new(r.clone()));
        if let Some(sink) = &self.bmc.audit {
            // The sink logs a failure; the request was carried out (or not) either way.
            let _ = sink.record(r, durability).await;
        }
    }

    /// [`Audit::finish`] with the outcome of `result`, whose error is `(ccode, error)`.
    pub(crate) async fn finish_with<T>(
        self,
        result: &Result<T, (CompletionCode, String)>,
        durability: Durability,
    ) {
        let outcome = match result {
            Ok(_) => AuditOutcome::Done,
            Err((ccode, error)) => AuditOutcome::Failed {
                ccode: *ccode,
                error: error.clone(),
            },
        };
        self.finish(outcome, durability).await
    }
}

impl Drop for Audit<'_> {
    fn drop(&mut self) {
        let Some(mut r) = self.record.take() else {
            return;
        };
        r.outcome = AuditOutcome::Failed {
            ccode: CompletionCode::TIMEOUT,
            error: "abandoned at the request deadline: the backend call may still be carried out"
                .into(),
        };
        r.duration = self.started.elapsed();
        self.bmc.state().last_action = Some(Box::new(r.clone()));
        if let (Some(sink), Ok(rt)) = (
            self.bmc.audit.clone(),
            tokio::runtime::Handle::try_current(),
        ) {
            rt.spawn(async move { sink.record(r, Durability::Written).await });
        }
    }
}
