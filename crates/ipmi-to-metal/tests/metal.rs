//! The metal backend end to end: ipmitool drives the real binary, which carries power, boot and
//! identity through the fake Metal API; the device's state is checked on the fake, and every
//! exchange is validated against the official OpenAPI spec.

mod common;
use common::metal::*;
use common::*;
use std::time::Duration;

/// A BMC for device `n` of `fake`; `extra` goes into `[bmc.metal]`.
fn metal_bmc(fake: &FakeMetal, n: u32, extra: &str) -> Bmc {
    let port = free_port();
    let section = format!(
        "[bmc.metal]\napi_url = \"{}\"\nallow_http = true\ndevice_id = \"{}\"\ntoken_env = \"TEST_METAL_TOKEN\"\ncache_ms = 200\n{extra}\n",
        fake.url(),
        device_id(n)
    );
    Bmc::start_config(port, &config_with_backend(port, "metal", &section))
}

fn status(bmc: &Bmc) -> String {
    admin(bmc, "chassis power status").trim().to_string()
}

fn settles(fake: &FakeMetal, n: u32, state: &str) -> bool {
    eventually(10, || fake.device(n).state == state)
}

#[test]
fn power_verbs_follow_the_device_and_repeat_without_api_calls() {
    let fake = FakeMetal::start(vec![device(1, "active", &[])]);
    let bmc = metal_bmc(&fake, 1, "");
    assert_eq!(status(&bmc), "Chassis Power is on");
    assert!(admin(&bmc, "chassis power off").contains("Down/Off"));
    assert_eq!(
        status(&bmc),
        "Chassis Power is off",
        "powering_off reads as off"
    );
    assert!(settles(&fake, 1, "inactive"));
    // Off again: already off, no API call (IPMI clients retry and poll).
    admin(&bmc, "chassis power off");
    assert_eq!(fake.device(1).actions, ["power_off"]);
    // Cycle and reset of a machine that is off: 0xD5, as real BMCs answer.
    let cycle = admin_run(&bmc, "chassis power cycle");
    assert!(
        cycle.all().contains("not supported in present state") || cycle.all().contains("0xd5"),
        "{}",
        cycle.all()
    );
    assert!(admin(&bmc, "chassis power on").contains("Up/On"));
    admin(&bmc, "chassis power on");
    assert!(settles(&fake, 1, "active"));
    assert_eq!(fake.device(1).actions, ["power_off", "power_on"]);
    assert_eq!(fake.device(1).boots, 1);
    assert!(admin(&bmc, "chassis power cycle").contains("Cycle"));
    assert!(settles(&fake, 1, "active"));
    assert!(eventually(10, || fake.device(1).boots == 2));
    assert!(admin(&bmc, "chassis power reset").contains("Reset"));
    assert!(eventually(10, || fake.device(1).boots == 3));
    assert_eq!(
        fake.device(1).actions,
        ["power_off", "power_on", "reboot", "reboot"]
    );
    // Soft off is a clean power_off; diag is refused.
    let diag = admin_run(&bmc, "chassis power diag");
    assert!(diag.all().contains("command disabled"), "{}", diag.all());
    admin(&bmc, "chassis power soft");
    assert!(settles(&fake, 1, "inactive"));
    let log = bmc.server_log();
    assert!(log.contains("power action through the Metal API"), "{log}");
    assert!(log.contains("who=user=\"admin\""), "{log}");
    // The token is in no log line and not on the command line.
    assert!(!log.contains(METAL_TOKEN), "{log}");
    let cmdline = bmc.cmdline();
    assert!(cmdline.contains("serve --config"), "{cmdline}");
    assert!(!cmdline.contains(METAL_TOKEN), "{cmdline}");
    fake.check_spec();
}

#[test]
fn maas_power_cycle_with_freeipmi_powers_an_off_device_on() {
    let fake = FakeMetal::start(vec![device(6, "inactive", &[])]);
    let bmc = metal_bmc(&fake, 6, "");
    // MAAS: ipmipower at OPERATOR, opensesspriv, --cycle --on-if-off.
    let out = freeipmi(
        &bmc,
        "ipmipower",
        "operator",
        OPERATOR_PASSWORD,
        &[
            "-D",
            "LAN_2_0",
            "-l",
            "OPERATOR",
            "-W",
            "opensesspriv",
            "--cycle",
            "--on-if-off",
        ],
    )
    .out();
    assert!(out.contains("ok"), "{out}");
    assert!(settles(&fake, 6, "active"));
    assert_eq!(fake.device(6).actions, ["power_on"]);
    let stat = freeipmi(
        &bmc,
        "ipmipower",
        "operator",
        OPERATOR_PASSWORD,
        &["--stat", "-l", "OPERATOR"],
    )
    .out();
    assert!(stat.contains(": on"), "{stat}");
    fake.check_spec();
}

#[test]
fn pxe_once_is_cleared_after_the_boot_and_persistent_stays() {
    let fake = FakeMetal::start(vec![device(2, "inactive", &[])]);
    let bmc = metal_bmc(
        &fake,
        2,
        "ipxe_script_url = \"http://boot.example/node.ipxe\"",
    );
    admin(&bmc, "chassis bootdev pxe");
    let d = fake.device(2);
    assert!(d.always_pxe);
    assert_eq!(
        d.ipxe_script_url.as_deref(),
        Some("http://boot.example/node.ipxe")
    );
    let flags = admin(&bmc, "chassis bootparam get 5");
    assert!(flags.contains("Force PXE"), "{flags}");
    assert!(flags.contains("Options apply to only next boot"), "{flags}");
    // Power on: the device boots from PXE once, then the shim clears always_pxe by itself.
    admin(&bmc, "chassis power on");
    assert!(settles(&fake, 2, "active"));
    assert!(
        eventually(10, || !fake.device(2).always_pxe),
        "{:?}",
        fake.device(2)
    );
    assert_eq!(fake.device(2).pxe_boots, 1);
    let flags = admin(&bmc, "chassis bootparam get 5");
    assert!(flags.contains("Boot Flag Invalid"), "{flags}");
    // The next reboot goes to disk.
    admin(&bmc, "chassis power reset");
    assert!(eventually(10, || fake.device(2).boots == 2));
    assert_eq!(fake.device(2).pxe_boots, 1);

    // Persistent PXE (Ironic's raw form: persistent, EFI, PXE) survives reboots.
    admin(&bmc, "raw 0x00 0x08 0x05 0xe0 0x04 0x00 0x00 0x00");
    assert!(fake.device(2).always_pxe);
    admin(&bmc, "chassis power reset");
    assert!(eventually(10, || fake.device(2).boots == 3));
    std::thread::sleep(Duration::from_millis(800));
    assert!(fake.device(2).always_pxe);
    assert_eq!(fake.device(2).pxe_boots, 2);
    let raw = admin(&bmc, "raw 0x00 0x09 0x05 0x00 0x00");
    assert_eq!(
        raw.split_whitespace().collect::<Vec<_>>(),
        ["01", "05", "e0", "04", "00", "00", "00"]
    );
    // bootdev disk clears it.
    admin(&bmc, "chassis bootdev disk");
    assert!(!fake.device(2).always_pxe);
    fake.check_spec();
}

#[test]
fn fru_and_guid_say_which_machine_this_is() {
    let fake = FakeMetal::start(vec![device(3, "active", &[])]);
    let bmc = metal_bmc(&fake, 3, "");
    let fru = admin(&bmc, "fru print 0");
    assert!(
        fru.contains("Product Asset Tag     : metal-node-3"),
        "{fru}"
    );
    assert!(
        fru.contains("Product Name          : c3.small.x86"),
        "{fru}"
    );
    assert!(
        fru.contains(&format!("Product Serial        : {}", device_id(3))),
        "{fru}"
    );
    assert!(fru.contains("Board Extra           : da11 / da"), "{fru}");
    assert!(
        fru.contains("Chassis Type          : Rack Mount Chassis"),
        "{fru}"
    );
    let guid = admin(&bmc, "mc guid");
    assert!(guid.contains(&device_id(3)), "{guid}");
    // fru print reads the FRU in many pieces; the cache keeps that to a few API calls.
    assert!(fake.device(3).gets <= 4, "{:?}", fake.device(3));
    fake.check_spec();
}

#[test]
fn a_wrong_token_fails_with_a_completion_code_and_is_never_logged() {
    let fake = FakeMetal::start(vec![device(4, "active", &[])]);
    let port = free_port();
    let section = format!(
        "[bmc.metal]\napi_url = \"{}\"\nallow_http = true\ndevice_id = \"{}\"\ntoken_env = \"TEST_WRONG_METAL_TOKEN\"\n",
        fake.url(),
        device_id(4)
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "metal", &section));
    let r = admin_run(&bmc, "chassis power status");
    assert!(!r.ok, "{}", r.all());
    assert!(r.all().contains("Unspecified error"), "{}", r.all());
    let log = bmc.server_log();
    assert!(log.contains("unauthorized"), "{log}");
    assert!(
        !log.contains(WRONG_METAL_TOKEN) && !log.contains(METAL_TOKEN),
        "{log}"
    );
    fake.check_spec();
}

/// ipmitool waiting up to 3 s per try, so that a backend deadline of a few seconds is in time.
fn patient_status(bmc: &Bmc) -> Run {
    ipmitool(
        bmc,
        "lanplus",
        &["-N", "3"],
        "admin",
        ADMIN_PASSWORD,
        "chassis power status",
    )
}

#[test]
fn api_faults_get_completion_codes_in_time_and_the_next_request_works() {
    use fake_metal::Fault;
    let fake = FakeMetal::start(vec![device(5, "active", &[])]);
    let bmc = metal_bmc(
        &fake,
        5,
        "timeout_ms = 800\nretries = 1\ndeadline_ms = 2500",
    );
    // One 503: retried, the client sees nothing.
    fake.fake.inject(Fault::Status { code: 503 }, 1);
    assert_eq!(patient_status(&bmc).out().trim(), "Chassis Power is on");
    // An action answered 503 is not sent again (it may have been carried out): 0xFF.
    std::thread::sleep(Duration::from_millis(300));
    fake.fake.inject(Fault::ActionStatus { code: 503 }, 1);
    std::thread::sleep(Duration::from_millis(300));
    let first = fake.fake.requests();
    let off = ipmitool(
        &bmc,
        "lanplus",
        &["-N", "3"],
        "admin",
        ADMIN_PASSWORD,
        "chassis power off",
    );
    assert!(off.all().contains("Unspecified error"), "{}", off.all());
    assert_eq!(
        fake.fake.requests() - first,
        2,
        "the GET and the POST, once"
    );
    assert!(fake.device(5).actions.is_empty());
    assert_eq!(fake.exchanges().matches("\"method\":\"POST\"").count(), 1);
    // The API down: 0xFF within the deadline, then fine again.
    std::thread::sleep(Duration::from_millis(300));
    fake.fake.set_down(Some(500));
    let down = patient_status(&bmc);
    assert!(down.all().contains("Unspecified error"), "{}", down.all());
    assert!(down.elapsed < Duration::from_secs(4), "{:?}", down.elapsed);
    fake.fake.set_down(None);
    assert_eq!(patient_status(&bmc).out().trim(), "Chassis Power is on");
    // Slow once: the try times out and the retry answers.
    std::thread::sleep(Duration::from_millis(300));
    fake.fake.inject(Fault::Slow { ms: 2000 }, 1);
    let once = patient_status(&bmc);
    assert!(
        once.stdout.contains("Chassis Power is on"),
        "{}\n{}",
        once.all(),
        bmc.server_log()
    );
    // Slow every time: 0xC3 within the deadline.
    std::thread::sleep(Duration::from_millis(300));
    fake.fake.inject(Fault::Slow { ms: 3000 }, 4);
    let slow = patient_status(&bmc);
    assert!(slow.all().contains("Timeout"), "{}", slow.all());
    assert!(slow.elapsed < Duration::from_secs(4), "{:?}", slow.elapsed);
    // 429 with a long Retry-After: busy (0xC0) at once, and no more calls until it passes.
    fake.fake.set_down(None);
    std::thread::sleep(Duration::from_millis(300));
    fake.fake.inject(Fault::RateLimited { retry_after: 30 }, 1);
    let limited = patient_status(&bmc);
    assert!(limited.all().contains("Node busy"), "{}", limited.all());
    let before = fake.fake.requests();
    std::thread::sleep(Duration::from_millis(300));
    let again = patient_status(&bmc);
    assert!(again.all().contains("Node busy"), "{}", again.all());
    assert_eq!(
        fake.fake.requests(),
        before,
        "no API call while rate-limited"
    );
    let log = bmc.server_log();
    assert!(log.contains("Metal API error"), "{log}");
    fake.check_spec();
    // The API gone altogether (connection refused): 0xC3 in time, and the server goes on.
    let bmc2 = metal_bmc(
        &fake,
        5,
        "timeout_ms = 800\nretries = 1\ndeadline_ms = 2500",
    );
    drop(fake);
    let gone = patient_status(&bmc2);
    assert!(gone.all().contains("Timeout"), "{}", gone.all());
    assert!(gone.elapsed < Duration::from_secs(4), "{:?}", gone.elapsed);
    assert!(
        admin(&bmc2, "mc info").contains("IPMI Version"),
        "the BMC still serves"
    );
}
