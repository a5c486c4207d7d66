//! The redfish backend end to end: real IPMI clients (ipmitool over lanplus and lan, FreeIPMI's
//! ipmipower) drive the real binary, which carries every request to a real Redfish service on
//! loopback: sushy-tools' emulator (basic auth, no sessions, no PowerCycle, a Thermal
//! resource), the project's fake (sessions only, ETags required, task monitors, a Sensors
//! collection), and sushy over TLS with a test CA. The state is checked on the service.

mod common;
#[path = "redfish/faults.rs"]
mod faults;
#[path = "redfish/links.rs"]
mod links;
#[path = "redfish/sel.rs"]
mod sel;
#[path = "redfish/services.rs"]
mod services;

use common::*;
use services::*;

fn redfish_bmc(url: &str, extra: &str) -> Bmc {
    let port = free_port();
    Bmc::start_config(
        port,
        &config_with_backend(port, "redfish", &section(url, extra)),
    )
}

/// How a test client says a power verb: `on`, `off`, `cycle`, `reset`, `soft`, `diag`.
type Verb<'a> = &'a dyn Fn(&str) -> Run;

/// Every power verb through `verb`, each checked on the emulator (whose fake driver applies a
/// change 1 to 11 s after it is asked).
fn every_verb_on_sushy(sushy: &Sushy, bmc: &Bmc, verb: Verb) {
    let settles = |state: &str| eventually(25, || sushy.power() == state);
    // Off, then (on the emulator) on again: for cycle and reset.
    let goes_off_then_on = || {
        let mut off = false;
        eventually(40, || {
            let p = sushy.power();
            off |= p == "Off";
            off && p == "On"
        })
    };
    assert_eq!(sushy.power(), "On");
    let run = |v: &str| {
        let r = verb(v);
        assert!(r.ok, "power {v}: {}\nlog:\n{}", r.all(), bmc.server_log());
    };
    run("off");
    assert!(settles("Off"), "off: {}", sushy.power());
    run("on");
    assert!(settles("On"), "on");
    // No PowerCycle offered: ForceOff, then On once the system reads off.
    run("cycle");
    assert!(goes_off_then_on(), "cycle:\n{}", bmc.server_log());
    run("reset");
    assert!(goes_off_then_on(), "reset (ForceRestart)");
    run("soft");
    assert!(settles("Off"), "soft (GracefulShutdown)");
    run("on");
    assert!(settles("On"), "on again");
    // The emulator lists Nmi but its fake driver answers 501: the client gets 0xD6.
    let diag = verb("diag");
    assert!(
        !diag.ok || diag.all().contains("disabled"),
        "{}",
        diag.all()
    );
    let log = bmc.server_log();
    assert!(log.contains("power action through Redfish"), "{log}");
    assert!(
        log.contains("power cycle: the system is off, powering on"),
        "{log}"
    );
    assert!(!log.contains(REDFISH_PASSWORD), "{log}");
}

#[test]
fn sushy_every_power_verb_with_ipmitool_lanplus_and_identity() {
    let sushy = Sushy::start(None);
    let bmc = redfish_bmc(&sushy.url(), "");
    assert_eq!(
        admin(&bmc, "chassis power status").trim(),
        "Chassis Power is on"
    );
    let fru = admin(&bmc, "fru print 0");
    assert!(fru.contains("Sushy Emulator"), "{fru}");
    let guid = admin(&bmc, "mc guid");
    assert!(guid.contains(SUSHY_UUID), "{guid}");
    // The emulator's Thermal resource as sensors.
    let sdr = admin(&bmc, "sdr list");
    assert!(
        sdr.contains("CPU Temp") && sdr.contains("41 degrees C"),
        "{sdr}"
    );
    assert!(sdr.contains("2100 RPM"), "{sdr}");
    every_verb_on_sushy(&sushy, &bmc, &|v| {
        admin_run(&bmc, &format!("chassis power {v}"))
    });
    let log = bmc.server_log();
    assert!(log.contains("offers no sessions: basic auth"), "{log}");
    assert!(!bmc.cmdline().contains(REDFISH_PASSWORD));
    // The emulator has no LogService: the SEL holds the shim's records of the actions, in
    // order, and a clear leaves only its own record.
    let sel = admin(&bmc, "sel elist");
    let log = bmc.server_log();
    assert!(
        log.contains("the Redfish service has no event log"),
        "{log}"
    );
    let actions: Vec<&str> = sel
        .lines()
        .filter_map(|l| l.split('|').nth(4).map(str::trim))
        .collect();
    assert_eq!(
        actions[..3],
        ["Power off/down", "Initiated by power up", "Power cycle"],
        "{sel}"
    );
    assert!(admin(&bmc, "sel clear").contains("Clearing SEL"));
    assert!(
        eventually(5, || {
            let sel = admin(&bmc, "sel list");
            sel.lines().count() == 1 && sel.contains("Log area reset/cleared")
        }),
        "{}",
        admin(&bmc, "sel list")
    );
}

#[test]
fn sushy_every_power_verb_with_ipmitool_lan() {
    let sushy = Sushy::start(None);
    let bmc = redfish_bmc(&sushy.url(), "");
    every_verb_on_sushy(&sushy, &bmc, &|v| {
        ipmitool(
            &bmc,
            "lan",
            &[],
            "admin",
            ADMIN_PASSWORD,
            &format!("chassis power {v}"),
        )
    });
}

#[test]
fn sushy_every_power_verb_with_freeipmi_ipmipower() {
    let sushy = Sushy::start(None);
    let bmc = redfish_bmc(&sushy.url(), "");
    let stat = freeipmi(&bmc, "ipmipower", "admin", ADMIN_PASSWORD, &["--stat"]).out();
    assert!(stat.contains(": on"), "{stat}");
    every_verb_on_sushy(&sushy, &bmc, &|v| {
        let flag = match v {
            "diag" => "--pulse-diag".to_string(),
            v => format!("--{v}"),
        };
        let r = freeipmi(
            &bmc,
            "ipmipower",
            "admin",
            ADMIN_PASSWORD,
            &["-D", "LAN_2_0", &flag],
        );
        // ipmipower exits 0 whatever the BMC answered: only "ok" is success.
        Run {
            ok: r.ok && r.stdout.contains(": ok"),
            ..r
        }
    });
}

#[test]
fn sushy_pxe_next_boot_and_persistent_with_uefi_read_back_from_the_emulator() {
    let sushy = Sushy::start(None);
    let bmc = redfish_bmc(&sushy.url(), "");
    let boot = || sushy.system()["Boot"].clone();
    admin(&bmc, "chassis bootdev pxe options=efiboot");
    assert_eq!(boot()["BootSourceOverrideTarget"], "Pxe");
    assert_eq!(boot()["BootSourceOverrideMode"], "UEFI");
    // The emulator keeps every override as Continuous (its fake driver ignores
    // BootSourceOverrideEnabled): the readback shows what it holds.
    assert_eq!(boot()["BootSourceOverrideEnabled"], "Continuous");
    let flags = admin(&bmc, "chassis bootparam get 5");
    assert!(flags.contains("Force PXE"), "{flags}");
    assert!(flags.contains("BIOS EFI boot"), "{flags}");
    assert!(
        flags.contains("Options apply to all future boots"),
        "{flags}"
    );
    // Ironic's persistent UEFI PXE, raw.
    admin(&bmc, "raw 0x00 0x08 0x05 0xe0 0x04 0 0 0");
    assert_eq!(boot()["BootSourceOverrideTarget"], "Pxe");
    let raw = admin(&bmc, "raw 0x00 0x09 0x05 0 0");
    assert_eq!(raw.trim(), "01 05 e0 04 00 00 00");
    // Disk, persistent, legacy.
    admin(&bmc, "chassis bootdev disk options=persistent");
    assert_eq!(boot()["BootSourceOverrideTarget"], "Hdd");
    assert_eq!(boot()["BootSourceOverrideMode"], "Legacy");
    let flags = admin(&bmc, "chassis bootparam get 5");
    assert!(
        flags.contains("Force Boot from default Hard-Drive"),
        "{flags}"
    );
    assert!(
        flags.contains("BIOS PC Compatible (legacy) boot"),
        "{flags}"
    );
    // BIOS setup is not among the emulator's targets: 0xCC, nothing changed.
    let bios = admin_run(&bmc, "chassis bootdev bios");
    assert!(bios.all().contains("Invalid data field"), "{}", bios.all());
    assert_eq!(boot()["BootSourceOverrideTarget"], "Hdd");
    assert!(bmc.server_log().contains("does not offer this boot target"));
}

#[test]
fn fake_service_sessions_etags_no_power_cycle_and_a_forgotten_session() {
    let service = FakeRedfish::start();
    let fake = &service.fake;
    let bmc = redfish_bmc(&service.url(), "");
    assert_eq!(
        admin(&bmc, "chassis power status").trim(),
        "Chassis Power is on"
    );
    let fru = admin(&bmc, "fru print 0");
    for want in ["Contoso", "3500RX", "437XR1138R2", "224071-J23"] {
        assert!(fru.contains(want), "{want}: {fru}");
    }
    // (ipmitool guesses the SMBIOS encoding for this UUID: it is told.)
    let guid = admin(&bmc, "mc guid ipmi");
    assert!(
        guid.contains("38947555-7742-3448-3784-823347823834"),
        "{guid}"
    );
    // The Sensors collection.
    let sdr = admin(&bmc, "sdr list");
    for want in [
        "CPU1 Temp",
        "47 degrees C",
        "5400 RPM",
        "210 Watts",
        "12.10 Volts",
    ] {
        assert!(sdr.contains(want), "{want}: {sdr}");
    }
    // PXE next boot only, UEFI: PATCHed with the system's ETag (the fake refuses 428 without).
    admin(&bmc, "chassis bootdev pxe options=efiboot");
    let s = fake.system();
    assert_eq!(
        (
            s.boot_target.as_str(),
            s.boot_enabled.as_str(),
            s.boot_mode.as_str()
        ),
        ("Pxe", "Once", "UEFI")
    );
    let flags = admin(&bmc, "chassis bootparam get 5");
    assert!(flags.contains("Force PXE"), "{flags}");
    assert!(flags.contains("Options apply to only next boot"), "{flags}");
    // A reset boots from PXE once; the service clears the override; the readback follows.
    admin(&bmc, "chassis power reset");
    assert_eq!((fake.system().boots, fake.system().pxe_boots), (1, 1));
    let flags = admin(&bmc, "chassis bootparam get 5");
    assert!(flags.contains("Boot Flag Invalid"), "{flags}");
    // Someone else changes the system between the backend's read and its PATCH: the stale
    // ETag gets 412, and the backend reads the system again and succeeds.
    fake.change_before_next_patch();
    admin(&bmc, "chassis bootdev disk options=persistent,efiboot");
    assert_eq!(fake.system().boot_enabled, "Continuous");
    let patches: Vec<_> = fake
        .exchanges()
        .into_iter()
        .filter(|e| e.method == "PATCH")
        .collect();
    assert!(patches.iter().all(|p| p.if_match.is_some()), "{patches:?}");
    assert_eq!(
        patches.iter().map(|p| p.status).collect::<Vec<_>>(),
        [204, 412, 204]
    );
    // Cycle without PowerCycle: ForceOff, then On once off (On is a task, followed).
    admin(&bmc, "chassis power cycle");
    assert!(
        eventually(15, || fake
            .system()
            .resets
            .ends_with(&["ForceOff".into(), "On".into()])
            && fake.system().power_state == "On"),
        "{:?}\n{}",
        fake.system(),
        bmc.server_log()
    );
    assert!(fake
        .exchanges()
        .iter()
        .any(|e| e.path.starts_with("/redfish/v1/TaskService/TaskMonitors/")));
    admin(&bmc, "chassis power diag");
    assert_eq!(fake.system().nmis, 1);
    admin(&bmc, "chassis power soft");
    assert!(eventually(10, || fake.system().power_state == "Off"));
    // The service forgets every session (a BMC restart): 401, a new login, and the command
    // still succeeds.
    assert_eq!(fake.system().logins, 1);
    fake.drop_sessions();
    admin(&bmc, "chassis power on");
    assert!(eventually(10, || fake.system().power_state == "On"));
    assert_eq!(fake.system().logins, 2);
    let log = bmc.server_log();
    assert!(
        log.contains("Redfish session refused (401): logging in again"),
        "{log}"
    );
    // Sessions only: the backend never tried basic auth, and the password is in no log line.
    let ex = fake.exchanges();
    assert!(ex.iter().all(|e| e.auth != "basic"), "{ex:?}");
    assert!(!log.contains(REDFISH_PASSWORD), "{log}");
    assert_eq!(
        fake.system().resets,
        [
            "ForceRestart",
            "ForceOff",
            "On",
            "Nmi",
            "GracefulShutdown",
            "On"
        ]
    );
    // A 429 whose Retry-After fits in the deadline is waited out.
    fake.rate_limit_next(1);
    let before = fake.exchanges().len();
    admin(&bmc, "chassis power off");
    assert!(eventually(5, || fake.system().power_state == "Off"));
    let statuses: Vec<u16> = fake.exchanges()[before..]
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses.first(), Some(&429), "{statuses:?}");
    // Stopped with SIGTERM: the session is deleted on the way out.
    let mut bmc = bmc;
    assert!(bmc.terminate().success(), "{}", bmc.server_log());
    assert_eq!((fake.system().logouts, fake.system().sessions), (1, 0));
    assert!(bmc.server_log().contains("Redfish session deleted"));
}

#[test]
fn tls_with_the_test_ca_and_an_unknown_certificate_refused() {
    let ca = TestCa::new();
    let sushy = Sushy::start(Some(&ca));
    let trusted = redfish_bmc(
        &sushy.url(),
        &format!("ca_file = {:?}", ca.ca().to_str().unwrap()),
    );
    assert_eq!(
        admin(&trusted, "chassis power status").trim(),
        "Chassis Power is on"
    );
    admin(&trusted, "chassis power off");
    assert!(eventually(25, || sushy.power() == "Off"));
    // Without the CA (the public roots only), the test CA's certificate is refused.
    let untrusting = redfish_bmc(&sushy.url(), "");
    let r = admin_run(&untrusting, "chassis power status");
    assert!(!r.ok, "{}", r.all());
    assert!(
        eventually(5, || untrusting.server_log().contains("UnknownIssuer")),
        "{}",
        untrusting.server_log()
    );
    let log = untrusting.server_log();
    assert!(log.contains("TLS"), "{log}");
    assert!(log.contains("ccode=0xFF"), "{log}");
}
