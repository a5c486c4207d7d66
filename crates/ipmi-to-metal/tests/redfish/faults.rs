//! Faults of the Redfish service, through the shim with ipmitool: a 5xx on a read retried, a
//! service answering 5xx to everything (a completion code before ipmitool gives up, and a log
//! line), a 5xx on an action not sent again, and task monitors followed to their end, or given
//! up at the deadline without polling on. (A forgotten session is in the fake service's main
//! test.)

use crate::common::*;
use crate::redfish_bmc;
use crate::services::*;
use fake_redfish::Exchange;
use std::time::{Duration, Instant};

/// ipmitool with a per-try timeout longer than the backend's deadline.
fn patient(bmc: &Bmc, args: &str) -> Run {
    ipmitool(bmc, "lanplus", &["-N", "4"], "admin", ADMIN_PASSWORD, args)
}

/// The system's cache (200 ms) runs out, so that the next command asks the service.
fn stale() {
    std::thread::sleep(Duration::from_millis(300));
}

/// The exchanges since the `from`th.
fn since(fake: &fake_redfish::Fake, from: usize) -> Vec<Exchange> {
    fake.exchanges()[from..].to_vec()
}

#[test]
fn fake_service_5xx_retried_for_reads_only_and_a_persistent_5xx_answered_in_time() {
    let service = FakeRedfish::start();
    let fake = &service.fake;
    let bmc = redfish_bmc(&service.url(), "deadline_ms = 3000");
    let status = |r: Run| r.out().trim().to_string();
    assert_eq!(
        status(patient(&bmc, "chassis power status")),
        "Chassis Power is on"
    );
    // One 503 on a read: retried, the client sees nothing.
    stale();
    let from = fake.exchanges().len();
    fake.fail_next(1, Some("GET"), 503);
    assert_eq!(
        status(patient(&bmc, "chassis power status")),
        "Chassis Power is on"
    );
    let statuses: Vec<u16> = since(fake, from).iter().map(|e| e.status).collect();
    assert_eq!(statuses, [503, 200]);
    assert!(bmc.server_log().contains("Redfish call failed: retrying"));
    // Every request answered 500: 0xFF after the retries, well before ipmitool's one-second
    // tries run out, with the service's error in the log.
    stale();
    fake.set_down(Some(500));
    let down = admin_run(&bmc, "chassis power status");
    assert!(down.all().contains("Unspecified error"), "{}", down.all());
    assert!(down.elapsed < Duration::from_secs(3), "{:?}", down.elapsed);
    let log = bmc.server_log();
    assert!(
        log.contains("Redfish error") && log.contains("status=500"),
        "{log}"
    );
    assert!(log.contains("ccode=0xFF"), "{log}");
    fake.set_down(None);
    assert_eq!(
        status(patient(&bmc, "chassis power status")),
        "Chassis Power is on"
    );
    // A 503 on the Reset: not sent again (the service may have carried it out), 0xFF.
    let from = fake.exchanges().len();
    fake.fail_next(1, Some("POST"), 503);
    let off = patient(&bmc, "chassis power off");
    assert!(off.all().contains("Unspecified error"), "{}", off.all());
    let posts: Vec<u16> = since(fake, from)
        .iter()
        .filter(|e| e.method == "POST")
        .map(|e| e.status)
        .collect();
    assert_eq!(posts, [503], "sent once");
    assert_eq!(fake.system().power_state, "On");
    assert!(fake.system().resets.is_empty());
    // And the next one goes through.
    patient(&bmc, "chassis power off").out();
    assert_eq!(fake.system().resets, ["ForceOff"]);
}

#[test]
fn fake_service_task_monitors_followed_to_the_end_or_given_up_at_the_deadline() {
    // Powering on takes 1.5 s: the Reset answers 202 with a task monitor until then.
    let service = FakeRedfish::start_with(Duration::from_millis(1500));
    let fake = &service.fake;
    let bmc = redfish_bmc(&service.url(), "deadline_ms = 3000");
    patient(&bmc, "chassis power off").out();
    assert_eq!(fake.system().power_state, "Off");
    // Followed to completion: when the client has its answer, the system is on.
    stale();
    let from = fake.exchanges().len();
    let t = Instant::now();
    patient(&bmc, "chassis power on").out();
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(fake.system().power_state, "On");
    let monitor: Vec<u16> = since(fake, from)
        .iter()
        .filter(|e| e.path.contains("/TaskMonitors/"))
        .map(|e| e.status)
        .collect();
    assert_eq!(monitor.last(), Some(&200), "{monitor:?}");
    assert!(
        monitor[..monitor.len() - 1].iter().all(|s| *s == 202),
        "{monitor:?}"
    );
    // A task that never ends: 0xC3 at the deadline (3 s), before ipmitool gives up, and the
    // monitor is not polled any more afterwards.
    patient(&bmc, "chassis power off").out();
    stale();
    fake.stall_tasks(true);
    let t = Instant::now();
    let on = patient(&bmc, "chassis power on");
    let took = t.elapsed();
    assert!(
        on.all().contains("Timeout"),
        "{}\n{}",
        on.all(),
        bmc.server_log()
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(
        bmc.server_log().contains("ccode=0xC3"),
        "{}",
        bmc.server_log()
    );
    let polls = || {
        fake.exchanges()
            .iter()
            .filter(|e| e.path.contains("/TaskMonitors/"))
            .count()
    };
    let after = polls();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(polls(), after, "the monitor is polled after the deadline");
    fake.stall_tasks(false);
}
