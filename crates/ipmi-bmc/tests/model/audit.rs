//! The audit of state-changing requests: one record each, after the backend call, with who
//! asked and how it ended (and one before, for a power action); none for reads; power actions
//! durable before the answer; refused while the records cannot be written (unless the sink fails
//! open); the status the records and the reads leave.

use super::*;
use async_trait::async_trait;
use ipmi_bmc::{
    AuditOutcome, AuditRecord, AuditSink, Backend, BackendResult, Durability, PowerAction,
    PowerState, Requester,
};
use machine::TestMachine;
use std::sync::Mutex;
use std::time::Duration;

/// Keeps every record with the durability asked; or, while `broken` says why, keeps none.
#[derive(Default)]
struct Recorded {
    records: Mutex<Vec<(AuditRecord, Durability)>>,
    broken: Mutex<Option<String>>,
    fail_open: bool,
}

#[async_trait]
impl AuditSink for Recorded {
    async fn record(&self, record: AuditRecord, durability: Durability) -> Result<(), String> {
        if let Some(why) = self.broken.lock().unwrap().clone() {
            return Err(why);
        }
        self.records.lock().unwrap().push((record, durability));
        Ok(())
    }

    fn fails_closed(&self) -> bool {
        !self.fail_open
    }

    fn failing(&self) -> Option<String> {
        self.broken.lock().unwrap().clone()
    }
}

impl Recorded {
    fn take(&self) -> Vec<(AuditRecord, Durability)> {
        std::mem::take(&mut *self.records.lock().unwrap())
    }
}

fn audited(machine: TestMachine) -> (Bmc, Arc<TestMachine>, Arc<Recorded>) {
    let machine = Arc::new(machine);
    let sink = Arc::new(Recorded::default());
    let bmc = Bmc::new(settings(), machine.clone()).with_audit(sink.clone());
    (bmc, machine, sink)
}

#[tokio::test]
async fn one_record_per_change_and_none_for_reads() {
    let (bmc, _machine, sink) = audited(TestMachine::new());
    // Reads: Get Device ID, Get Chassis Status, Get SEL Info, Get System Boot Options.
    admin(&bmc, NetFn::APP, 0x01, &[]).await;
    admin(&bmc, NetFn::CHASSIS, 0x01, &[]).await;
    admin(&bmc, NetFn::STORAGE, 0x40, &[]).await;
    admin(&bmc, NetFn::CHASSIS, 0x09, &[0x05, 0, 0]).await;
    assert!(sink.take().is_empty(), "reads are not audited");

    assert_eq!(admin(&bmc, NetFn::CHASSIS, 0x02, &[0x00]).await, ok(&[]));
    let records = sink.take();
    assert_eq!(records.len(), 2, "{records:?}");
    // Asked (durably) before it is carried out, then done.
    let (asked, durability) = &records[0];
    assert_eq!(*durability, Durability::Synced);
    assert_eq!(asked.outcome, AuditOutcome::Asked);
    assert_eq!(asked.call, "power off");
    let (r, durability) = &records[1];
    assert_eq!(*durability, Durability::Synced, "power actions are synced");
    assert_eq!(r.command, "Chassis Control");
    assert_eq!(r.call, "power off");
    assert_eq!(r.outcome, AuditOutcome::Done);
    assert_eq!(r.who.user, "admin");
    assert_eq!(r.who.bmc, "node1");
    assert_eq!(r.who.peer, "127.0.0.1:5000".parse().unwrap());
    assert_eq!(r.privilege, Some(Privilege::Administrator));
    let status = bmc.status();
    assert_eq!(status.last_action.as_ref(), Some(r));
    assert_eq!(status.power.map(|p| p.state), Some(PowerState::Off));

    // ipmitool chassis bootdev pxe: set in progress, then the flags: one record, the flags.
    admin(&bmc, NetFn::CHASSIS, 0x08, &[0x00, 0x01]).await;
    admin(&bmc, NetFn::CHASSIS, 0x08, &[0x05, 0x80, 0x04, 0, 0, 0]).await;
    admin(&bmc, NetFn::CHASSIS, 0x08, &[0x00, 0x00]).await;
    // Identify for 5 s, then SEL reserve (a read) and clear.
    admin(&bmc, NetFn::CHASSIS, 0x04, &[5]).await;
    let reservation = admin(&bmc, NetFn::STORAGE, 0x42, &[]).await.data;
    let mut clear = reservation.clone();
    clear.extend_from_slice(b"CLR\xaa");
    admin(&bmc, NetFn::STORAGE, 0x47, &clear).await;
    let records = sink.take();
    let calls: Vec<_> = records
        .iter()
        .map(|(r, d)| (r.command.to_string(), r.call.clone(), *d))
        .collect();
    assert_eq!(
        calls,
        [
            (
                "Set System Boot Options".to_string(),
                "set boot override pxe (next boot, legacy)".to_string(),
                Durability::Written
            ),
            (
                "Chassis Identify".into(),
                "identify 5 s".into(),
                Durability::Written
            ),
            ("Clear SEL".into(), "SEL clear".into(), Durability::Written),
        ]
    );
    assert!(records.iter().all(|(r, _)| r.outcome.is_done()));
}

#[tokio::test]
async fn a_failed_action_is_recorded_with_its_error() {
    let (bmc, _machine, sink) = audited(TestMachine::new());
    admin(&bmc, NetFn::CHASSIS, 0x02, &[0x00]).await;
    sink.take();
    // Power cycle needs the machine on: the backend refuses (0xD5).
    let r = admin(&bmc, NetFn::CHASSIS, 0x02, &[0x02]).await;
    assert_eq!(r.ccode, CompletionCode::INVALID_STATE);
    let records = sink.take();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].0.outcome, AuditOutcome::Asked);
    match &records[1].0.outcome {
        AuditOutcome::Failed { ccode, error } => {
            assert_eq!(*ccode, CompletionCode::INVALID_STATE);
            assert!(error.contains("needs the machine on"), "{error}");
        }
        o => panic!("{o:?}"),
    }
    let status = bmc.status();
    let (_, error) = status.last_error.expect("the failure is the last error");
    assert!(error.starts_with("cycle: "), "{error}");
    assert!(!status.last_action.unwrap().outcome.is_done());
    // Outside a session the request is refused before anything is carried out: no record.
    let r = call(&bmc, None, NetFn::CHASSIS, 0x02, &[0x01]).await;
    assert_eq!(r.ccode, CompletionCode::INSUFFICIENT_PRIVILEGE);
    assert!(sink.take().is_empty());
}

#[tokio::test]
async fn power_for_the_admin_api_is_audited_without_a_session() {
    let (bmc, machine, sink) = audited(TestMachine::new());
    let who = Requester {
        user: "admin-api".into(),
        peer: "10.1.2.3:4567".parse().unwrap(),
        bmc: "node1".into(),
    };
    bmc.power_for(PowerAction::Off, who.clone(), "admin API power")
        .await
        .unwrap();
    assert_eq!(machine.power_now(), PowerState::Off);
    let records = sink.take();
    assert_eq!(records.len(), 2);
    let (r, d) = &records[1];
    assert_eq!(
        (r.who.clone(), r.privilege, *d),
        (who, None, Durability::Synced)
    );
    assert_eq!(r.command, "admin API power");
    // And the SEL has its record, as for an IPMI client.
    let sel = admin(&bmc, NetFn::STORAGE, 0x40, &[]).await;
    assert_eq!(u16::from_le_bytes([sel.data[1], sel.data[2]]), 1);
}

/// A machine whose power actions never finish.
struct Stuck;

#[async_trait]
impl Backend for Stuck {
    fn kind(&self) -> &'static str {
        "stuck"
    }
    async fn power_state(&self) -> BackendResult<PowerState> {
        Ok(PowerState::On)
    }
    async fn power(&self, _action: PowerAction, _who: &Requester) -> BackendResult<()> {
        std::future::pending().await
    }
    async fn set_boot_override(
        &self,
        _boot: Option<BootOverride>,
        _who: &Requester,
    ) -> BackendResult<()> {
        Ok(())
    }
    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        Ok(None)
    }
}

#[tokio::test]
async fn a_request_abandoned_at_its_deadline_is_still_recorded() {
    let sink = Arc::new(Recorded::default());
    let bmc = Bmc::new(settings(), Arc::new(Stuck)).with_audit(sink.clone());
    let abandoned = tokio::time::timeout(
        Duration::from_millis(50),
        admin(&bmc, NetFn::CHASSIS, 0x02, &[0x03]),
    )
    .await;
    assert!(abandoned.is_err());
    // Written from a task of its own, after the record of the action asked.
    for _ in 0..100 {
        if sink.records.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let records = sink.take();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].0.outcome, AuditOutcome::Asked);
    assert_eq!(records[1].0.call, "power reset");
    assert!(
        matches!(&records[1].0.outcome, AuditOutcome::Failed { ccode, .. } if *ccode == CompletionCode::TIMEOUT)
    );
}

#[tokio::test]
async fn nothing_is_carried_out_unrecorded_while_the_records_cannot_be_written() {
    let (bmc, machine, sink) = audited(TestMachine::new());
    *sink.broken.lock().unwrap() = Some("No space left on device".into());
    // A power action: its first record cannot be written, the machine is left alone (off).
    let r = admin(&bmc, NetFn::CHASSIS, 0x02, &[0x01]).await;
    assert_eq!(r.ccode, ipmi_bmc::AUDIT_REFUSED_CC);
    assert_eq!(machine.power_now(), PowerState::Off);
    // Identify, the boot device: refused as well while the sink says its writes fail.
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x04, &[5]).await.ccode,
        ipmi_bmc::AUDIT_REFUSED_CC
    );
    let status = bmc.status();
    let last = status.last_action.unwrap();
    match &last.outcome {
        AuditOutcome::Failed { ccode, error } => {
            assert_eq!(*ccode, ipmi_bmc::AUDIT_REFUSED_CC);
            assert!(error.starts_with(ipmi_bmc::AUDIT_REFUSED), "{error}");
            assert!(error.contains("No space left on device"), "{error}");
        }
        o => panic!("{o:?}"),
    }
    // The admin API's power action: the same error.
    let who = Requester {
        user: "admin-api".into(),
        peer: "10.1.2.3:4567".parse().unwrap(),
        bmc: "node1".into(),
    };
    let (cc, error) = bmc
        .power_for(PowerAction::On, who, "admin API power")
        .await
        .unwrap_err();
    assert_eq!(cc, ipmi_bmc::AUDIT_REFUSED_CC);
    assert!(error.starts_with(ipmi_bmc::AUDIT_REFUSED), "{error}");
    assert_eq!(machine.power_now(), PowerState::Off);
    // Writable again: the next action goes through, recorded.
    *sink.broken.lock().unwrap() = None;
    assert_eq!(admin(&bmc, NetFn::CHASSIS, 0x02, &[0x01]).await, ok(&[]));
    assert_eq!(machine.power_now(), PowerState::On);
    let calls: Vec<_> = sink
        .take()
        .into_iter()
        .filter(|(r, _)| r.outcome.is_done())
        .map(|(r, _)| r.call)
        .collect();
    assert_eq!(calls, ["power on"]);
}

#[tokio::test]
async fn a_sink_that_fails_open_lets_actions_through_unrecorded() {
    let machine = Arc::new(TestMachine::new());
    let sink = Arc::new(Recorded {
        broken: Mutex::new(Some("No space left on device".into())),
        fail_open: true,
        ..Recorded::default()
    });
    let bmc = Bmc::new(settings(), machine.clone()).with_audit(sink.clone());
    assert_eq!(admin(&bmc, NetFn::CHASSIS, 0x02, &[0x01]).await, ok(&[]));
    assert_eq!(machine.power_now(), PowerState::On);
    assert_eq!(admin(&bmc, NetFn::CHASSIS, 0x04, &[5]).await, ok(&[]));
}
