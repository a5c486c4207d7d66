//! The SEL from the Redfish service's LogService, through the shim: read with ipmitool (`sel
//! info`, `sel list`, `sel elist`) and FreeIPMI's `ipmi-sel`, cleared with both (the log's
//! `LogService.ClearLog`), with the shim's records of the actions among the log's.

use crate::common::*;
use crate::redfish_bmc;
use crate::services::*;
use std::time::Duration;

/// The record lines of `sel list` / `sel elist`.
fn lines(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.contains('|'))
        .map(str::to_string)
        .collect()
}

/// The record IDs of `sel list` lines (ipmitool prints them in hex).
fn ids(lines: &[String]) -> Vec<u16> {
    lines
        .iter()
        .map(|l| u16::from_str_radix(l.split('|').next().unwrap().trim(), 16).unwrap())
        .collect()
}

#[test]
fn fake_service_sel_from_its_log_service_read_and_cleared_with_ipmitool_and_freeipmi() {
    let service = FakeRedfish::start();
    let fake = &service.fake;
    let bmc = redfish_bmc(&service.url(), "");
    let info = admin(&bmc, "sel info");
    assert!(info.contains("Entries          : 5"), "{info}");
    // (MaxNumberOfRecords 500 - 5) * 16 bytes.
    assert!(info.contains("Free Space       : 7920 bytes"), "{info}");
    assert!(
        info.contains("Last Add Time    : 05/01/24 08:20:00"),
        "{info}"
    );
    assert!(info.contains("Last Del Time    : Not Available"), "{info}");
    // Oldest first, although the service lists them newest first over three pages; entry 2's
    // Created has a +02:00 offset; entry 5 is an Oem entry (an OEM timestamped record).
    let list = lines(&admin(&bmc, "sel list"));
    let want = [
        "08:00:00 UTC | Temperature #0x31 | Upper Critical going high | Asserted",
        "08:05:00 UTC | Power Supply #0x51 | Failure detected | Asserted",
        "08:10:00 UTC | Drive Slot / Bay #0x60 | Device Absent | Asserted",
        "08:15:00 UTC | Memory #0x70 | Correctable ECC | Asserted",
        "08:20:00 UTC | OEM record c0 | 00019c | 0146616e5370",
    ];
    assert_eq!(list.len(), want.len(), "{list:#?}");
    for (line, want) in list.iter().zip(want) {
        assert!(
            line.contains("05/01/24") && line.contains(want),
            "{want}: {line}"
        );
    }
    assert_eq!(ids(&list), [1, 2, 3, 4, 5], "the entries' own Ids");
    let pages = fake
        .exchanges()
        .iter()
        .filter(|e| e.path.ends_with("/LogServices/SEL/Entries"))
        .count();
    assert!(pages >= 3, "every page read: {pages}");
    assert_eq!(lines(&admin(&bmc, "sel elist")).len(), 5);
    // FreeIPMI's words for the same records.
    let sel = freeipmi(&bmc, "ipmi-sel", "admin", ADMIN_PASSWORD, &[]).out();
    for want in [
        "Upper Critical - going high ; Sensor Reading = 5Ch ; Threshold = 5Ah",
        "Power Supply Failure detected",
        "Device Removed/Device Absent",
        "Correctable memory error",
        "OEM defined = 01h 46h 61h 6Eh 53h 70h",
    ] {
        assert!(sel.contains(want), "{want}: {sel}");
    }
    // A power action: the shim's record, after the log's. A new entry in the log: listed in
    // time order; every record keeps its ID from one read to the next.
    admin(&bmc, "chassis power off");
    fake.add_sel_entry("2024-05-02T00:00:00Z", "Fan", "Fan 2 failed.");
    let read = || {
        std::thread::sleep(Duration::from_millis(300));
        lines(&admin(&bmc, "sel list"))
    };
    assert!(eventually(5, || read().len() == 7), "{:#?}", read());
    let list = read();
    assert_eq!(ids(&list)[..5], [1, 2, 3, 4, 5]);
    assert!(
        list[5].contains("05/02/24 | 00:00:00 UTC | Fan #0x90"),
        "{list:#?}"
    );
    assert!(
        list[6].contains("Power Unit #0xe0 | Power off/down | Asserted"),
        "{list:#?}"
    );
    let mut unique = ids(&list);
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 7, "{list:#?}");
    assert_eq!(ids(&read()), ids(&list), "stable across reads");
    // A user-level account may not clear it.
    let viewer = ipmitool(
        &bmc,
        "lanplus",
        &["-L", "USER"],
        "viewer",
        VIEWER_PASSWORD,
        "sel clear",
    );
    assert!(
        viewer.all().contains("Insufficient privilege"),
        "{}",
        viewer.all()
    );
    assert_eq!(fake.system().log_clears, 0);
    // ipmitool's clear is the log's ClearLog; the shim's records go too, and the clear itself
    // is recorded with who asked.
    assert!(admin(&bmc, "sel clear").contains("Clearing SEL"));
    let s = fake.system();
    assert_eq!((s.log_clears, s.sel_entries), (1, 0));
    let cleared = || {
        let l = read();
        l.len() == 1 && l[0].contains("Event Logging Disabled #0xe7 | Log area reset/cleared")
    };
    assert!(eventually(5, cleared), "{:#?}", read());
    assert!(!admin(&bmc, "sel info").contains("Last Del Time    : Not Available"));
    let clears: Vec<u16> = fake
        .exchanges()
        .iter()
        .filter(|e| e.method == "POST" && e.path.ends_with("/LogService.ClearLog"))
        .map(|e| e.status)
        .collect();
    assert_eq!(clears, [204]);
    let log = bmc.server_log();
    assert!(
        log.contains("SEL cleared through Redfish (LogService.ClearLog)")
            && log.contains("who=user=\"admin\""),
        "{log}"
    );
    // FreeIPMI: info and clear.
    fake.add_sel_entry("2024-05-03T00:00:00Z", "Fan", "Fan 2 failed again.");
    std::thread::sleep(Duration::from_millis(300));
    let info = freeipmi(&bmc, "ipmi-sel", "admin", ADMIN_PASSWORD, &["--info"]).out();
    assert!(
        info.contains("Number of log entries                  : 2"),
        "{info}"
    );
    freeipmi(&bmc, "ipmi-sel", "admin", ADMIN_PASSWORD, &["--clear"]).out();
    assert_eq!(fake.system().log_clears, 2);
    assert_eq!(fake.system().sel_entries, 0);
}
