//! The audit log with the real binary and the real clients: one JSON record per state-changing
//! request (power, boot device, identify, SEL clear, SOL activate and deactivate), with the user,
//! privilege and outcome, and one more before each power action (`asked`); none for reads or for
//! requests refused before anything was done; the record of a power action is on disk before
//! ipmitool has its answer, so that `kill -9` right after loses nothing. A log that cannot be
//! written (`/dev/full`) refuses power actions, unless `fail_open`, and never leaves half a
//! line.

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
    let at = |command: &str| {
        records
            .iter()
            .position(|r| r["command"] == command)
            .unwrap_or_else(|| panic!("no {command} record: {records:#?}"))
    };
    let (activated, deactivated) = (at("Activate Payload"), at("Deactivate Payload"));
    let ended = records[deactivated]["call"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (call, whose) = ended.split_once("; ").unwrap_or((&ended, ""));
    assert!(
        whose.starts_with("the SOL session of user \"admin\" from 127.0.0.1:")
            && whose.ends_with(" at administrator privilege ended)"),
        "{ended}"
    );
    records[deactivated]["call"] = format!("{call})").into();
    assert_eq!(records[activated]["privilege"], "administrator");
    assert_eq!(records[deactivated]["privilege"], "administrator");
    assert_eq!(
        summary(&records),
        [
            rec("admin", "Chassis Control", "power off", "asked"),
            rec("admin", "Chassis Control", "power off", "done"),
            rec("admin", "Chassis Control", "power cycle", "asked"),
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
    assert!(records[0].get("duration_ms").is_none());
    let first = &records[1];
    assert_eq!(first["bmc"], "node1");
    assert_eq!(first["privilege"], "administrator");
    assert!(first["client"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    assert!(first["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(records[3]["ccode"], "0xd5");
    assert!(records[3]["error"]
        .as_str()
        .unwrap()
        .contains("needs the machine on"));
    assert_eq!(records[4]["privilege"], "operator");

    // kill -9 the moment ipmitool has its answer: the record is there.
    admin(&s.bmc, "chassis power on");
    let Served { bmc, .. } = s;
    let bmc = bmc.kill9_and_restart();
    let path = bmc.dir.path().join("audit.jsonl");
    let records = audit_records(&path);
    assert_eq!(records.len(), 11, "{records:#?}");
    assert_eq!(
        summary(&records[9..]),
        [
            rec("admin", "Chassis Control", "power on", "asked"),
            rec("admin", "Chassis Control", "power on", "done")
        ]
    );
    // The restarted process appends to it.
    admin(&bmc, "chassis power soft");
    let records = audit_records(&path);
    assert_eq!(records.len(), 13);
    assert_eq!(records[12]["call"], "power soft");
}

/// `ipmi_to_metal_audit_write_failures_total` as the server reports it.
fn audit_write_failures(s: &Served) -> f64 {
    let (status, _, text) =
        common::prometheus::http_get(s.admin_port, "/metrics", Some(ADMIN_TOKEN));
    assert_eq!(status, 200, "{text}");
    let scrape = common::prometheus::parse(&text);
    assert!(
        scrape
            .family("ipmi_to_metal_audit_write_failures")
            .is_some(),
        "{text}"
    );
    scrape.value("ipmi_to_metal_audit_write_failures_total", &[])
}

#[test]
fn an_audit_log_that_cannot_be_written_refuses_power_actions() {
    let s = Served::start_custom("", "", "log = \"/dev/full\"", Rlimits::default());
    // The admin API: 503, and why.
    let (status, v) = s.power("node1", "off");
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["outcome"], "failed", "{v}");
    assert_eq!(v["ccode"], "0xd5", "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("refused: the audit log cannot be written: No space left on device"),
        "{v}"
    );
    // ipmitool: 0xD5, the machine left as it was; reads go on.
    let off = admin_run(&s.bmc, "chassis power off");
    assert!(!off.ok, "{}", off.all());
    assert!(
        off.all().contains("Command not supported in present state"),
        "{}",
        off.all()
    );
    assert!(admin(&s.bmc, "chassis power status").contains("Chassis Power is on"));
    // Identify is refused too while the log fails.
    assert!(!admin_run(&s.bmc, "chassis identify 5").ok);
    assert!(
        s.bmc
            .server_log()
            .contains("refused: the audit log cannot be written"),
        "{}",
        s.bmc.server_log()
    );
    let (status, body) = s.http("GET", "/healthz", None, "");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("the audit log cannot be written"), "{body}");
    assert!(audit_write_failures(&s) >= 2.0);
}

#[test]
fn fail_open_carries_actions_out_and_says_the_log_fails() {
    let s = Served::start_custom(
        "",
        "",
        "log = \"/dev/full\"\nfail_open = true",
        Rlimits::default(),
    );
    let (status, v) = s.power("node1", "off");
    assert_eq!((status, &v["outcome"]), (200, &"done".into()), "{v}");
    assert!(admin(&s.bmc, "chassis power status").contains("Chassis Power is off"));
    admin(&s.bmc, "chassis power on");
    let (status, body) = s.http("GET", "/healthz", None, "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("audit log failing"), "{body}");
    assert!(audit_write_failures(&s) >= 4.0);
    assert!(s.bmc.server_log().contains("record not in the audit log"));
}

#[test]
fn a_write_cut_short_leaves_no_half_line() {
    // An audit log of 8 MiB already, and room for 600 bytes more (RLIMIT_FSIZE: a write beyond
    // is cut short, then fails, as on a full disk): one power action's two records fit, the
    // next one's do not.
    let dir = tempfile::tempdir().unwrap();
    let line = format!(
        "{}\n",
        serde_json::json!({"time": "2026-01-01T00:00:00.000Z", "bmc": "node1", "user": "old",
                           "command": "Chassis Control", "call": "power on", "outcome": "done",
                           "padding": "x".repeat(100)})
    );
    let before = line.repeat(8 * 1024 * 1024 / line.len());
    std::fs::write(dir.path().join("audit.jsonl"), &before).unwrap();
    let limits = Rlimits {
        fsize: Some(before.len() as u64 + 600),
        ..Rlimits::default()
    };
    let s = Served::start_in(dir, "", "", DEFAULT_AUDIT, limits);
    admin(&s.bmc, "chassis power off");
    let mut refused = None;
    for action in ["on", "off", "on", "off"] {
        let r = admin_run(&s.bmc, &format!("chassis power {action}"));
        if !r.ok {
            refused = Some(r.all());
            break;
        }
    }
    let refused = refused.expect("a power action refused once the file is full");
    assert!(
        refused.contains("Command not supported in present state"),
        "{refused}"
    );
    // Every line whole (audit_records checks the end and parses each).
    let records = audit_records(&s.bmc.dir.path().join("audit.jsonl"));
    let new: Vec<_> = records.iter().filter(|r| r["user"] != "old").collect();
    assert!(
        new.len() >= 2 && new.iter().all(|r| r["user"] == "admin"),
        "{new:#?}"
    );
    assert!(
        s.bmc.server_log().contains("File too large"),
        "{}",
        s.bmc.server_log()
    );
}
