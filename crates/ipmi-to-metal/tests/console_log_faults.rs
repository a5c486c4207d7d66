//! A console log that cannot be written (issue 19, defect 2), with the real binary: its
//! directory's place taken by a file (which root cannot write through either). The failure shows
//! in `GET /bmcs` and in the metrics, the log is tried again with a backoff, and once the cause
//! is gone it is written again by itself, saying what it missed.

mod common;

use common::admin::*;
use common::*;

/// The console log failure metrics: (logs failing now, failures so far).
fn console_metrics(s: &Served) -> (f64, f64) {
    let (status, _, text) =
        common::prometheus::http_get(s.admin_port, "/metrics", Some(ADMIN_TOKEN));
    assert_eq!(status, 200, "{text}");
    let scrape = common::prometheus::parse(&text);
    for family in [
        "ipmi_to_metal_console_logs_failing",
        "ipmi_to_metal_console_log_failures",
    ] {
        assert!(scrape.family(family).is_some(), "no {family} in:\n{text}");
    }
    (
        scrape.value("ipmi_to_metal_console_logs_failing", &[]),
        scrape.value("ipmi_to_metal_console_log_failures_total", &[]),
    )
}

#[test]
fn a_console_log_that_cannot_be_opened_says_so_and_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("consoles");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let s = Served::start_with_console_log(dir, "consoles/node1.log");
    // The sim prints its boot text after a reset: the log cannot be created.
    let failing = &s.console_log_failing_after_reset();
    let error = failing["error"].as_str().unwrap();
    assert!(
        error.starts_with("cannot be opened: ") && error.contains("File exists"),
        "{failing}"
    );
    assert!(failing["since"].as_str().unwrap().ends_with('Z'));
    let (now, total) = console_metrics(&s);
    assert_eq!(now, 1.0);
    assert!(total >= 1.0);
    assert!(
        s.bmc.server_log().contains("console log cannot be opened"),
        "{}",
        s.bmc.server_log()
    );

    // The cause gone, the next output (after the backoff) is kept.
    std::fs::remove_file(&blocker).unwrap();
    let log = blocker.join("node1.log");
    let kept = eventually(30, || {
        admin(&s.bmc, "chassis power reset");
        std::thread::sleep(std::time::Duration::from_secs(1));
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("Linux version 6.1.0-sim"))
    });
    assert!(kept, "{}", s.bmc.server_log());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("lost: the log could not be written]"),
        "{text}"
    );
    assert!(s.bmc_json("node1")["console_log_failing"].is_null());
    assert_eq!(console_metrics(&s).0, 0.0);
    let (status, tail) = s.http("GET", "/bmcs/node1/console", Some(ADMIN_TOKEN), "");
    assert_eq!(status, 200);
    assert!(tail.contains("Linux version 6.1.0-sim"), "{tail}");
}
