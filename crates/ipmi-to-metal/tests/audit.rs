//! The audit log with the real binary and the real clients: one JSON record per state-changing
//! request (power, boot device, identify, SEL clear, SOL activate and deactivate), with the user,
//! privilege and outcome; none for reads or for requests refused before anything was done; and
//! the record of a power action is on disk before ipmitool has its answer, so that `kill -9`
//! right after loses nothing.

mod common;
use common::admin::*;
use common::tty::admin_console;
use common::*;

/// (user, command, call, outcome) of each record.
fn summary(records: &[serde_json::Value]) -> Vec<(String, String, String, String)> {
    records
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (s("user"), s("command"), s("call"), s("outcome"))
        })
        .collect()
}

fn rec(user: &str, command: &str, call: &str, outcome: &str) -> (String, String, String, String) {
    (user.into(), command.into(), call.into(), outcome.into())
}

#[test]
fn one_record_per_action_with_its_user_and_outcome_also_after_kill_9() {
    let s = Served::start("", "");
    let operator = |args: &str| {
        ipmitool(
            &s.bmc,
            "lanplus",
            &["-L", "OPERATOR"],
            "operator",
            OPERATOR_PASSWORD,
            args,
        )
    };
    let viewer = |args: &str| {
        ipmitool(
            &s.bmc,
            "lanplus",
            &["-L", "USER"],
            "viewer",
            VIEWER_PASSWORD,
            args,
        )
    };

    // Reads leave no record.
    admin(&s.bmc, "chassis status");
    admin(&s.bmc, "sel list");
    admin(&s.bmc, "chassis bootparam get 5");
    // A viewer may not power on: refused before anything is done, no record.
    let refused = viewer("chassis power on");
    assert!(!refused.ok, "{}", refused.all());
    assert!(s.audit().is_empty(), "{:?}", s.audit());

    admin(&s.bmc, "chassis power off");
    // A cycle needs the machine on: the sim refuses (0xD5), recorded as failed.
    let cycle = admin_run(&s.bmc, "chassis power cycle");
    assert!(!cycle.ok, "{}", cycle.all());
    operator("chassis bootdev pxe").out();
    admin(&s.bmc, "chassis identify 5");
    admin(&s.bmc, "sel clear");
    // SOL attached to the console, then ended by another session.
    let tty = admin_console(&s.bmc, "audit");
    admin(&s.bmc, "sol deactivate");
    tty.wait_for("SOL session closed by BMC", 10);

    let mut records = s.audit();
    // Ended by another session: the record names whose session ended (its address varies).
    let ended = records[6]["call"].as_str().unwrap_or_default().to_string();
    let (call, whose) = ended.split_once("; ").unwrap_or((&ended, ""));
    assert!(
        whose.starts_with("the SOL session of user \"admin\" from 127.0.0.1:")
            && whose.ends_with(" at administrator privilege ended)"),
        "{ended}"
    );
    records[6]["call"] = format!("{call})").into();
    assert_eq!(records[5]["privilege"], "administrator");
    assert_eq!(records[6]["privilege"], "administrator");
    assert_eq!(
        summary(&records),
        [
            rec("admin", "Chassis Control", "power off", "done"),
            rec("admin", "Chassis Control", "power cycle", "failed"),
            rec(
                "operator",
                "Set System Boot Options",
                "set boot override pxe (next boot, legacy)",
                "done"
            ),
            rec("admin", "Chassis Identify", "identify 5 s", "done"),
            rec("admin", "Clear SEL", "SEL clear", "done"),
            rec(
                "admin",
                "Activate Payload",
                "SOL attached to the console",
                "done"
            ),
            rec(
                "admin",
                "Deactivate Payload",
                "SOL detached from the console (deactivated by another session)",
                "done"
            ),
        ],
        "{records:#?}"
    );
    let first = &records[0];
    assert_eq!(first["bmc"], "node1");
    assert_eq!(first["privilege"], "administrator");
    assert!(first["client"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    assert!(first["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(records[1]["ccode"], "0xd5");
    assert!(records[1]["error"]
        .as_str()
        .unwrap()
        .contains("needs the machine on"));
    assert_eq!(records[2]["privilege"], "operator");

    // kill -9 the moment ipmitool has its answer: the record is there.
    admin(&s.bmc, "chassis power on");
    let Served { bmc, .. } = s;
    let bmc = bmc.kill9_and_restart();
    let path = bmc.dir.path().join("audit.jsonl");
    let records = audit_records(&path);
    assert_eq!(records.len(), 8, "{records:#?}");
    assert_eq!(
        summary(&records[7..]),
        [rec("admin", "Chassis Control", "power on", "done")]
    );
    // The restarted process appends to it.
    admin(&bmc, "chassis power soft");
    let records = audit_records(&path);
    assert_eq!(records.len(), 9);
    assert_eq!(records[8]["call"], "power soft");
}
