//! The http backend end to end: ipmitool (lanplus) through the shim to a fake of each preset's
//! provider (test-support's `providers`, each checking every request against the shape its
//! provider's documentation and SDK give), a configuration written without a preset, the power
//! status a provider lacks routed to the host over sshd, a rate limit with `Retry-After`, 5xx
//! answers (reads retried, actions not), and a POST whose answer is lost (not sent twice).

mod common;
use common::http::*;
use common::*;
use std::time::{Duration, Instant};
use test_support::providers::{
    Exchange, Fault, Generic, Hetzner, Latitude, ProviderFake, Scaleway,
};
use test_support::Sshd;

#[test]
fn hetzner_robot_with_the_power_status_routed_to_the_host_over_ssh() {
    let fake = ProviderFake::start(Hetzner::new(ROBOT_USER, ROBOT_PASSWORD), &[("321", true)]);
    let sshd = Sshd::start();
    let secrets = tempfile::tempdir().unwrap();
    let secret_file = secrets.path().join("robot.pass");
    std::fs::write(&secret_file, format!("{ROBOT_PASSWORD}\n")).unwrap();
    let port = free_port();
    let section = format!(
        "{}{}[bmc.routes]\npower_status = \"ssh\"\n",
        robot_section(&fake, &secret_file, ""),
        ssh_section(&sshd)
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "http", &section));
    let table = check_config(&bmc).out();
    assert!(
        table.contains("backend http hetzner-robot server 321 at http://127.0.0.1:"),
        "{table}"
    );
    assert!(
        table.contains("basic auth as #ws+Test123, PLAIN HTTP; absent: power_status, diag, boot"),
        "{table}"
    );
    assert!(table.contains("route power_status  ssh"), "{table}");
    assert!(table.contains("route off           http"), "{table}");

    // The status comes from the host; Robot is never asked for it.
    assert_eq!(status(&bmc), "Chassis Power is on");
    for verb in ["off", "on", "cycle", "reset", "soft"] {
        patient(&bmc, &format!("chassis power {verb}")).out();
    }
    assert_eq!(
        sent(&fake, "POST"),
        [
            "/reset/321 type=power_long",
            "/wol/321",
            "/reset/321 type=hw",
            "/reset/321 type=hw",
            "/reset/321 type=power",
        ]
    );
    assert_eq!(
        fake.machine("321").actions,
        ["power_long", "wol", "hw", "hw", "power"]
    );
    assert!(fake.requests("GET").is_empty(), "{:?}", fake.exchanges());
    for e in fake.exchanges() {
        assert!(
            e.header("authorization")
                .is_some_and(|a| a.starts_with("Basic ")),
            "{e:?}"
        );
        if e.path.starts_with("/reset/") {
            assert_eq!(
                e.header("content-type"),
                Some("application/x-www-form-urlencoded"),
                "{e:?}"
            );
        }
        assert_eq!(e.status, 200, "{e:?}");
    }
    fake.assert_valid();
    // No NMI and no boot device at Robot: not supported (0xC1).
    let diag = patient(&bmc, "chassis power diag");
    assert!(
        !diag.ok && diag.all().contains("Invalid command"),
        "{}",
        diag.all()
    );
    let pxe = patient(&bmc, "chassis bootdev pxe");
    assert!(pxe.all().contains("Invalid command"), "{}", pxe.all());
    assert_eq!(
        fake.exchanges().len(),
        5,
        "nothing sent for what Robot cannot do"
    );
    no_secret_in(&bmc, &[ROBOT_PASSWORD]);

    // Without the route (and without assumed_power), nothing could read the power status.
    let unrouted = robot_section(&fake, &secret_file, "");
    std::fs::write(
        bmc.dir.path().join("bmc.toml"),
        config_with_backend(port, "http", &unrouted),
    )
    .unwrap();
    let refused = check_config(&bmc);
    assert!(!refused.ok, "{}", refused.all());
    assert!(
        refused.all().contains("no backend can read the power status (http: preset hetzner-robot has no power_status request"),
        "{}",
        refused.all()
    );
}

#[test]
fn hetzner_robot_with_the_power_status_assumed_from_the_last_action() {
    let fake = ProviderFake::start(Hetzner::new(ROBOT_USER, ROBOT_PASSWORD), &[("321", true)]);
    let secrets = tempfile::tempdir().unwrap();
    let secret_file = secrets.path().join("robot.pass");
    std::fs::write(&secret_file, ROBOT_PASSWORD).unwrap();
    let port = free_port();
    let section = robot_section(&fake, &secret_file, "assumed_power = \"last\"");
    let bmc = Bmc::start_config(port, &config_with_backend(port, "http", &section));
    assert_eq!(status(&bmc), "Chassis Power is on");
    patient(&bmc, "chassis power off").out();
    assert_eq!(status(&bmc), "Chassis Power is off");
    patient(&bmc, "chassis power on").out();
    assert_eq!(status(&bmc), "Chassis Power is on");
    assert_eq!(
        sent(&fake, "POST"),
        ["/reset/321 type=power_long", "/wol/321"]
    );
    fake.assert_valid();
}

#[test]
fn hetzner_robot_rate_limit_and_a_wrong_password() {
    let fake = ProviderFake::start(Hetzner::new(ROBOT_USER, ROBOT_PASSWORD), &[("321", true)]);
    let secrets = tempfile::tempdir().unwrap();
    let (right, wrong) = (
        secrets.path().join("right.pass"),
        secrets.path().join("wrong.pass"),
    );
    std::fs::write(&right, ROBOT_PASSWORD).unwrap();
    std::fs::write(&wrong, "not-the-password").unwrap();
    // 401: a failure (0xFF), the password in no log line.
    let port = free_port();
    let section = robot_section(&fake, &wrong, "assumed_power = \"last\"");
    let bmc = Bmc::start_config(port, &config_with_backend(port, "http", &section));
    let refused = patient(&bmc, "chassis power cycle");
    assert!(
        !refused.ok && refused.all().contains("Unspecified error"),
        "{}",
        refused.all()
    );
    assert!(
        bmc.server_log().contains("HTTP 401: Unauthorized"),
        "{}",
        bmc.server_log()
    );
    no_secret_in(&bmc, &["not-the-password", ROBOT_PASSWORD]);
    drop(bmc);
    // Robot's request limit is a 403 without Retry-After: the preset makes it "busy" (0xC0),
    // tried again a second later while the deadline allows, then answered busy.
    let port = free_port();
    let section = robot_section(
        &fake,
        &right,
        "assumed_power = \"last\"\ndeadline_ms = 2500",
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "http", &section));
    for _ in 0..5 {
        fake.inject(
            Some("POST"),
            Fault::Status {
                code: 403,
                retry_after: None,
            },
        );
    }
    let t = Instant::now();
    let limited = patient(&bmc, "chassis power reset");
    assert!(limited.all().contains("Node busy"), "{}", limited.all());
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    let statuses: Vec<u16> = fake.requests("POST").iter().map(|e| e.status).collect();
    assert!(statuses.ends_with(&[403, 403]), "{statuses:?}");
    assert!(fake.machine("321").actions.is_empty());
    // The limit passes: the next reset goes through.
    fake.clear_faults();
    std::thread::sleep(Duration::from_millis(1200));
    patient(&bmc, "chassis power reset").out();
    assert_eq!(fake.machine("321").actions, ["hw"]);
}

#[test]
fn latitude_sh_power_verbs_against_its_fake() {
    let id = "sv_81EVOtR1N4J2Z";
    let fake = ProviderFake::start(Latitude::new(HTTP_SECRET), &[(id, true)]);
    let port = free_port();
    let section = format!(
        "[bmc.http]\npreset = \"latitude-sh\"\nbase_url = \"{}\"\nallow_http = true\nserver_id = \"{id}\"\nsecret_env = \"TEST_HTTP_SECRET\"\ncache_ms = 0\n",
        fake.url()
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "http", &section));
    assert_eq!(status(&bmc), "Chassis Power is on");
    patient(&bmc, "chassis power off").out();
    assert!(eventually(5, || status(&bmc) == "Chassis Power is off"));
    // Off already: nothing sent.
    patient(&bmc, "chassis power off").out();
    patient(&bmc, "chassis power on").out();
    assert!(eventually(5, || status(&bmc) == "Chassis Power is on"));
    patient(&bmc, "chassis power cycle").out();
    std::thread::sleep(Duration::from_millis(400));
    patient(&bmc, "chassis power reset").out();
    let soft = patient(&bmc, "chassis power soft");
    assert!(
        !soft.ok && soft.all().contains("Invalid command"),
        "{}",
        soft.all()
    );
    assert_eq!(
        fake.machine(id).actions,
        ["power_off", "power_on", "reboot", "reboot"]
    );
    let action = |a: &str| {
        format!("/servers/{id}/actions {{\"data\":{{\"attributes\":{{\"action\":\"{a}\"}},\"type\":\"actions\"}}}}")
    };
    assert_eq!(
        sent(&fake, "POST"),
        [
            action("power_off"),
            action("power_on"),
            action("reboot"),
            action("reboot")
        ]
    );
    for e in fake.exchanges() {
        assert_eq!(
            e.header("authorization"),
            Some(format!("Bearer {HTTP_SECRET}").as_str())
        );
        assert_eq!(e.header("accept"), Some("application/vnd.api+json"));
        let created = e.method == "POST" && e.status == 201;
        assert!(
            created || (e.method == "GET" && e.path == format!("/servers/{id}") && e.status == 200),
            "{e:?}"
        );
    }
    fake.assert_valid();
    no_secret_in(&bmc, &[HTTP_SECRET]);
}

#[test]
fn scaleway_elastic_metal_power_verbs_against_its_fake() {
    let id = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
    let fake = ProviderFake::start(Scaleway::new(HTTP_SECRET, "fr-par-2"), &[(id, true)]);
    let port = free_port();
    let section = format!(
        "[bmc.http]\npreset = \"scaleway-elastic-metal\"\nbase_url = \"{}\"\nallow_http = true\nserver_id = \"{id}\"\nvars = {{ zone = \"fr-par-2\" }}\nsecret_env = \"TEST_HTTP_SECRET\"\ncache_ms = 0\n",
        fake.url()
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "http", &section));
    let ready = |on: bool| {
        let want = if on { "ready" } else { "stopped" };
        let done = eventually(5, || {
            fake.machine(id).in_transition().is_none() && fake.machine(id).on == on
        });
        assert!(done, "not {want}");
    };
    assert_eq!(status(&bmc), "Chassis Power is on");
    patient(&bmc, "chassis power off").out();
    // "stopping" reads as off at once.
    assert_eq!(status(&bmc), "Chassis Power is off");
    ready(false);
    // A stopped server cannot reboot: 412 precondition_failed, 0xD5 by the preset.
    let cycle = patient(&bmc, "chassis power cycle");
    assert!(
        cycle.all().contains("not supported in present state"),
        "{}",
        cycle.all()
    );
    patient(&bmc, "chassis power on").out();
    assert_eq!(status(&bmc), "Chassis Power is on");
    ready(true);
    patient(&bmc, "chassis power cycle").out();
    ready(true);
    patient(&bmc, "chassis power reset").out();
    assert_eq!(
        fake.machine(id).actions,
        ["stop", "start", "reboot", "reboot"]
    );
    let base = format!("/baremetal/v1/zones/fr-par-2/servers/{id}");
    assert_eq!(
        sent(&fake, "POST"),
        [
            format!("{base}/stop {{}}"),
            format!("{base}/reboot {{}}"),
            format!("{base}/start {{}}"),
            format!("{base}/reboot {{}}"),
            format!("{base}/reboot {{}}"),
        ]
    );
    let gets = fake.requests("GET");
    assert!(gets.iter().all(|e| e.path == base), "{gets:?}");
    for e in fake.exchanges() {
        assert_eq!(e.header("x-auth-token"), Some(HTTP_SECRET), "{e:?}");
        assert!(e.header("authorization").is_none());
        if e.method == "POST" {
            assert!(
                e.header("content-type")
                    .is_some_and(|c| c.starts_with("application/json")),
                "{e:?}"
            );
        }
    }
    fake.assert_valid();
    no_secret_in(&bmc, &[HTTP_SECRET]);
}
#[test]
fn a_custom_configuration_without_a_preset() {
    let fake = ProviderFake::start(Generic::new(HTTP_SECRET, "ams"), &[("m7", true)]);
    let port = free_port();
    let bmc = Bmc::start_config(
        port,
        &config_with_backend(port, "http", &custom_section(&fake, "")),
    );
    assert_eq!(status(&bmc), "Chassis Power is on");
    patient(&bmc, "chassis power diag").out();
    patient(&bmc, "chassis power soft").out();
    assert_eq!(status(&bmc), "Chassis Power is off");
    // The API refuses a reboot of a machine that is off: 409, 0xD5.
    let cycle = patient(&bmc, "chassis power cycle");
    assert!(
        cycle.all().contains("not supported in present state"),
        "{}",
        cycle.all()
    );
    patient(&bmc, "chassis bootdev pxe options=persistent,efiboot").out();
    assert_eq!(
        fake.machine("m7").extra["boot"],
        "network persistent=true uefi=true"
    );
    let flags = patient(&bmc, "chassis bootparam get 5").out();
    assert!(flags.contains("Force PXE"), "{flags}");
    patient(&bmc, "chassis power on").out();
    // "booting" reads as on.
    assert_eq!(status(&bmc), "Chassis Power is on");
    std::thread::sleep(Duration::from_millis(400));
    patient(&bmc, "chassis power reset").out();
    std::thread::sleep(Duration::from_millis(400));
    patient(&bmc, "chassis power cycle").out();
    patient(&bmc, "chassis bootdev disk").out();
    assert_eq!(
        fake.machine("m7").extra["boot"],
        "local persistent=false uefi=false"
    );
    // A device the API has no word for: parameter out of range (0xCC), nothing sent.
    let before = fake.exchanges().len();
    let floppy = patient(&bmc, "chassis bootdev floppy");
    assert!(
        floppy.all().contains("Invalid data field in request"),
        "{}",
        floppy.all()
    );
    assert_eq!(fake.exchanges().len(), before);
    patient(&bmc, "chassis bootdev none").out();
    assert!(!fake.machine("m7").extra.contains_key("boot"));
    assert_eq!(
        fake.machine("m7").actions,
        [
            "nmi",
            "shutdown",
            "boot network",
            "on",
            "reset",
            "reboot",
            "boot local",
            "boot clear"
        ]
    );
    let puts: Vec<Exchange> = fake.requests("PUT");
    assert_eq!(
        puts[0].body,
        r#"{"device":"network","persistent":true,"uefi":true}"#
    );
    for e in fake.exchanges() {
        assert_eq!(e.query.as_deref(), Some("site=ams"), "{e:?}");
        assert_eq!(e.header("x-api-key"), Some(HTTP_SECRET), "{e:?}");
    }
    fake.assert_valid();
    no_secret_in(&bmc, &[HTTP_SECRET]);
}

#[test]
fn a_rate_limit_is_waited_out_within_the_deadline_or_answered_busy() {
    let fake = ProviderFake::start(Generic::new(HTTP_SECRET, "ams"), &[("m7", true)]);
    let port = free_port();
    let bmc = Bmc::start_config(
        port,
        &config_with_backend(port, "http", &custom_section(&fake, "")),
    );
    // 429 with Retry-After: 1 on the action: waited out, then sent again (a refused request
    // was not carried out), and done.
    fake.inject(
        Some("POST"),
        Fault::Status {
            code: 429,
            retry_after: Some("1".into()),
        },
    );
    let t = Instant::now();
    patient(&bmc, "chassis power off").out();
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
    let posts = fake.requests("POST");
    assert_eq!(
        posts.iter().map(|e| e.status).collect::<Vec<_>>(),
        [429, 202]
    );
    assert_eq!(fake.machine("m7").actions, ["off"]);
    // Retry-After beyond the deadline: busy (0xC0) at once, and every call after it too,
    // without asking the API, until the limit resets.
    fake.inject(
        Some("POST"),
        Fault::Status {
            code: 429,
            retry_after: Some("30".into()),
        },
    );
    let t = Instant::now();
    let limited = patient(&bmc, "chassis power on");
    assert!(limited.all().contains("Node busy"), "{}", limited.all());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let asked = fake.exchanges().len();
    let again = patient(&bmc, "chassis power status");
    assert!(again.all().contains("Node busy"), "{}", again.all());
    assert_eq!(
        fake.exchanges().len(),
        asked,
        "no call while the limit holds"
    );
    assert!(
        bmc.server_log().contains("HTTP 429"),
        "{}",
        bmc.server_log()
    );
    fake.assert_valid();
}

#[test]
fn a_5xx_is_retried_for_reads_not_for_actions_and_a_persistent_one_answered_in_time() {
    let fake = ProviderFake::start(Generic::new(HTTP_SECRET, "ams"), &[("m7", true)]);
    let port = free_port();
    let section = custom_section(&fake, "deadline_ms = 3000");
    let bmc = Bmc::start_config(port, &config_with_backend(port, "http", &section));
    let error = |code| Fault::Status {
        code,
        retry_after: None,
    };
    // One 503 on the status read: retried, the client sees nothing.
    fake.inject(Some("GET"), error(503));
    assert_eq!(status(&bmc), "Chassis Power is on");
    let gets: Vec<u16> = fake.requests("GET").iter().map(|e| e.status).collect();
    assert_eq!(gets, [503, 200]);
    // Every read answered 500: 0xFF once the retries are spent, before ipmitool's one-second
    // tries run out, with the API's answer in the log.
    for _ in 0..10 {
        fake.inject(Some("GET"), error(500));
    }
    let down = admin_run(&bmc, "chassis power status");
    assert!(down.all().contains("Unspecified error"), "{}", down.all());
    assert!(down.elapsed < Duration::from_secs(3), "{:?}", down.elapsed);
    assert!(
        bmc.server_log().contains("HTTP 500"),
        "{}",
        bmc.server_log()
    );
    fake.clear_faults();
    assert_eq!(status(&bmc), "Chassis Power is on");
    // A 503 on the action: not sent again (the API may have carried it out), 0xFF.
    fake.inject(Some("POST"), error(503));
    let off = patient(&bmc, "chassis power off");
    assert!(off.all().contains("Unspecified error"), "{}", off.all());
    assert_eq!(fake.requests("POST").len(), 1, "{:?}", fake.exchanges());
    assert!(fake.machine("m7").actions.is_empty());
    patient(&bmc, "chassis power off").out();
    assert_eq!(fake.machine("m7").actions, ["off"]);
    fake.assert_valid();
}

#[test]
fn a_post_whose_answer_is_lost_is_not_sent_again() {
    let fake = ProviderFake::start(Generic::new(HTTP_SECRET, "ams"), &[("m7", true)]);
    let port = free_port();
    let section = custom_section(&fake, "timeout_ms = 1000\ndeadline_ms = 6000\nretries = 3");
    let bmc = Bmc::start_config(port, &config_with_backend(port, "http", &section));
    assert_eq!(status(&bmc), "Chassis Power is on");
    // The API carries the reset out but answers after the timeout: 0xC3, and no second reset.
    fake.inject(Some("POST"), Fault::Slow(Duration::from_secs(3)));
    let t = Instant::now();
    let lost = patient(&bmc, "chassis power reset");
    assert!(lost.all().contains("Timeout"), "{}", lost.all());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(fake.requests("POST").len(), 1, "{:?}", fake.exchanges());
    assert_eq!(fake.machine("m7").actions, ["reset"]);
    assert!(
        bmc.server_log()
            .contains("not retried: the request may have been carried out"),
        "{}",
        bmc.server_log()
    );
    // A read that times out is retried.
    fake.inject(Some("GET"), Fault::Slow(Duration::from_millis(1500)));
    assert_eq!(status(&bmc), "Chassis Power is on");
    assert_eq!(fake.requests("GET").len(), 3, "{:?}", fake.exchanges());
    fake.assert_valid();
}
#[test]
fn hetzner_robot_next_boot_pxe_as_the_rescue_system_by_the_readmes_override() {
    let fake = ProviderFake::start(Hetzner::new(ROBOT_USER, ROBOT_PASSWORD), &[("321", true)]);
    let secrets = tempfile::tempdir().unwrap();
    let secret_file = secrets.path().join("robot.pass");
    std::fs::write(&secret_file, ROBOT_PASSWORD).unwrap();
    let port = free_port();
    let section = format!(
        "{}{}",
        robot_section(&fake, &secret_file, "assumed_power = \"last\""),
        readme_rescue_override()
    );
    let bmc = Bmc::start_config(port, &config_with_backend(port, "http", &section));
    patient(&bmc, "chassis bootdev pxe").out();
    assert_eq!(
        fake.machine("321").extra.get("rescue").map(String::as_str),
        Some("linux")
    );
    let flags = patient(&bmc, "chassis bootparam get 5").out();
    assert!(
        flags.contains("Force PXE") && !flags.contains("Boot Flag Invalid"),
        "{flags}"
    );
    // The next boot uses the rescue system up; the override reads as used.
    patient(&bmc, "chassis power reset").out();
    assert_eq!(fake.machine("321").extra["last_boot"], "rescue linux");
    assert!(!fake.machine("321").extra.contains_key("rescue"));
    let flags = patient(&bmc, "chassis bootparam get 5").out();
    assert!(flags.contains("Boot Flag Invalid"), "{flags}");
    patient(&bmc, "chassis power cycle").out();
    assert_eq!(fake.machine("321").extra["last_boot"], "disk");
    // PXE again, then disk before any boot: the rescue system is deactivated.
    patient(&bmc, "chassis bootdev pxe").out();
    patient(&bmc, "chassis bootdev disk").out();
    assert!(!fake.machine("321").extra.contains_key("rescue"));
    assert_eq!(
        sent(&fake, "POST"),
        [
            "/boot/321/rescue os=linux",
            "/reset/321 type=hw",
            "/reset/321 type=hw",
            "/boot/321/rescue os=linux",
        ]
    );
    assert_eq!(sent(&fake, "DELETE"), ["/boot/321/rescue"]);
    fake.assert_valid();
}
