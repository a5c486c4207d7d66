//! The metrics end to end: the real binary serves `/metrics` on its admin server while ipmitool
//! logs in, reads, powers off and fails to log in; each scrape is parsed by the official Python
//! client's Prometheus parser and the counts are compared before and after.

mod common;
use common::metal::*;
use common::prometheus::{http_get, parse, Scrape};
use common::*;

const TOKEN: &str = "metrics-test-token-5e2a91c7";

/// An `[admin]` table on a free port, its token in a file of its own.
struct Admin {
    port: u16,
    table: String,
    _dir: tempfile::TempDir,
}

fn admin_table(open: &str) -> Admin {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("admin-token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let port = test_support::free_tcp_port();
    // The status page's background power refresh off: these tests count the backend calls that
    // ipmitool's requests make, and nothing else may call.
    let table = format!(
        "[admin]\nlisten = \"127.0.0.1:{port}\"\ntoken_file = \"{}\"\nopen = [{open}]\n[admin.refresh_ms]\nsim = 0\nmetal = 0\n\n",
        token.display()
    );
    Admin {
        port,
        table,
        _dir: dir,
    }
}

/// `/metrics` with the token, parsed.
fn scrape(api: &Admin) -> Scrape {
    let (status, head, body) = http_get(api.port, "/metrics", Some(TOKEN));
    assert_eq!(status, 200, "{head}\n{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    parse(&body)
}

fn requests(s: &Scrape, command: &str, cc: &str) -> f64 {
    s.value(
        "ipmi_to_metal_requests_total",
        &[
            ("class", "sim"),
            ("command", command),
            ("completion_code", cc),
        ],
    )
}

fn calls(s: &Scrape, operation: &str, outcome: &str) -> f64 {
    s.value(
        "ipmi_to_metal_backend_calls_total",
        &[
            ("backend", "sim"),
            ("operation", operation),
            ("outcome", outcome),
        ],
    )
}

fn call_durations(s: &Scrape, operation: &str) -> f64 {
    s.value(
        "ipmi_to_metal_backend_call_duration_seconds_count",
        &[("backend", "sim"), ("operation", operation)],
    )
}

fn failed(s: &Scrape, reason: &str) -> f64 {
    s.value(
        "ipmi_to_metal_logins_failed_total",
        &[("class", "sim"), ("reason", reason)],
    )
}

fn opened(s: &Scrape) -> f64 {
    s.value(
        "ipmi_to_metal_sessions_opened_total",
        &[("class", "sim"), ("protocol", "rmcp+")],
    )
}

#[test]
fn ipmitool_requests_logins_and_backend_calls_show_in_the_metrics() {
    let api = admin_table("");
    let port = free_port();
    let config = format!("{}{}", api.table, standard_config(port, ""));
    let bmc = Bmc::start_config(port, &config);
    // Not open: the token is required.
    let (status, _, _) = http_get(api.port, "/metrics", None);
    assert_eq!(status, 401);

    let before = scrape(&api);
    assert_eq!(before.value("ipmi_to_metal_bmcs", &[("class", "sim")]), 1.0);
    assert_eq!(
        before.value("ipmi_to_metal_build_info", &[]),
        1.0,
        "{before:?}"
    );

    assert_eq!(
        admin_run(&bmc, "chassis power status").out().trim(),
        "Chassis Power is on"
    );
    let status = scrape(&api);
    assert_eq!(opened(&status) - opened(&before), 1.0);
    assert_eq!(
        requests(&status, "get_chassis_status", "0x00")
            - requests(&before, "get_chassis_status", "0x00"),
        1.0
    );
    assert_eq!(
        requests(&status, "get_device_id", "0x00") - requests(&before, "get_device_id", "0x00"),
        1.0
    );
    // ipmitool's DCMI and PICMG probes: commands the model does not know, refused with 0xC1,
    // counted under their NetFn's "other" (no label per made-up command).
    assert!(
        status.value(
            "ipmi_to_metal_requests_total",
            &[
                ("netfn", "group_extension"),
                ("command", "other"),
                ("completion_code", "0xc1")
            ]
        ) >= 2.0
    );
    assert_eq!(
        calls(&status, "power_state", "ok") - calls(&before, "power_state", "ok"),
        1.0
    );
    assert_eq!(
        call_durations(&status, "power_state") - call_durations(&before, "power_state"),
        1.0
    );
    // ipmitool closed its session.
    assert_eq!(
        status.value("ipmi_to_metal_sessions_open", &[("class", "sim")]),
        0.0
    );
    assert_eq!(
        status.value(
            "ipmi_to_metal_sessions_closed_total",
            &[("class", "sim"), ("reason", "request")]
        ) - before.value(
            "ipmi_to_metal_sessions_closed_total",
            &[("class", "sim"), ("reason", "request")]
        ),
        1.0
    );

    // A power action: one Chassis Control, one backend power call.
    assert!(admin(&bmc, "chassis power off").contains("Down/Off"));
    let off = scrape(&api);
    assert_eq!(
        requests(&off, "chassis_control", "0x00") - requests(&status, "chassis_control", "0x00"),
        1.0
    );
    assert_eq!(
        calls(&off, "power", "ok") - calls(&status, "power", "ok"),
        1.0
    );
    assert_eq!(
        call_durations(&off, "power") - call_durations(&status, "power"),
        1.0
    );
    let sum = |s: &Scrape| {
        s.value(
            "ipmi_to_metal_backend_call_duration_seconds_sum",
            &[("backend", "sim"), ("operation", "power")],
        )
    };
    assert!(sum(&off) > sum(&status));

    // Wrong passwords and an unknown user: counted by reason, and no session opened. Over
    // lanplus, ipmitool finds the BMC's RAKP 2 wrong and stops without a RAKP 3, so the BMC
    // never checks that password (its login in progress expires later); over lan (IPMI 1.5)
    // the BMC checks it and refuses.
    for iface in ["lanplus", "lan"] {
        let wrong = ipmitool(
            &bmc,
            iface,
            &[],
            "admin",
            "wrong-password",
            "chassis power status",
        );
        assert!(!wrong.ok, "{}", wrong.all());
    }
    let nobody = ipmitool(
        &bmc,
        "lanplus",
        &[],
        "nobody",
        "whatever",
        "chassis power status",
    );
    assert!(!nobody.ok);
    let refused = scrape(&api);
    assert_eq!(
        failed(&refused, "bad_password") - failed(&off, "bad_password"),
        1.0,
        "{refused:?}"
    );
    assert_eq!(
        failed(&refused, "unknown_user") - failed(&off, "unknown_user"),
        1.0
    );
    assert_eq!(opened(&refused), opened(&off));
    assert_eq!(
        refused.value(
            "ipmi_to_metal_sessions_opened_total",
            &[("class", "sim"), ("protocol", "ipmi15")]
        ),
        0.0
    );

    // Every family is described, counters as counters and so on, each with its help.
    for f in [
        ("ipmi_to_metal_requests", "counter"),
        ("ipmi_to_metal_backend_call_duration_seconds", "histogram"),
        ("ipmi_to_metal_sessions_open", "gauge"),
        ("ipmi_to_metal_api_rate_limit_wait_seconds", "gauge"),
    ] {
        let fam = refused
            .family(f.0)
            .unwrap_or_else(|| panic!("{} missing", f.0));
        assert_eq!(fam.kind, f.1);
        assert!(!fam.help.is_empty());
    }
    // No label names a peer, a user or a BMC.
    for f in &refused.families {
        for (_, labels, _) in &f.samples {
            for (k, _) in labels {
                assert!(
                    !["peer", "user", "bmc", "address", "name"].contains(&k.as_str()),
                    "{} has label {k}",
                    f.name
                );
            }
        }
    }
}

#[test]
fn metal_cache_hits_and_misses_and_the_rate_limit_show_in_the_metrics() {
    let fake = FakeMetal::start(vec![device(1, "active", &[])]);
    // Open without the token, as the configuration allows.
    let api = admin_table("\"metrics\"");
    let port = free_port();
    let section = format!(
        "[bmc.metal]\napi_url = \"{}\"\nallow_http = true\ndevice_id = \"{}\"\ntoken_env = \"TEST_METAL_TOKEN\"\ncache_ms = 20000\n",
        fake.url(),
        device_id(1)
    );
    let config = format!(
        "{}{}",
        api.table,
        config_with_backend(port, "metal", &section)
    );
    let bmc = Bmc::start_config(port, &config);
    let lookups = |s: &Scrape, result: &str| {
        s.value(
            "ipmi_to_metal_api_cache_lookups_total",
            &[("api", "metal"), ("result", result)],
        )
    };
    let (status, _, body) = http_get(api.port, "/metrics", None);
    assert_eq!(status, 200);
    let before = parse(&body);
    // The first read asks the API; the second, within the cache period, does not.
    for _ in 0..2 {
        assert_eq!(
            admin(&bmc, "chassis power status").trim(),
            "Chassis Power is on"
        );
    }
    let after = scrape(&api);
    assert_eq!(lookups(&after, "miss") - lookups(&before, "miss"), 1.0);
    assert_eq!(lookups(&after, "hit") - lookups(&before, "hit"), 1.0);
    assert_eq!(
        after.value("ipmi_to_metal_bmcs", &[("class", "metal")]),
        1.0
    );
    assert!(
        after.value(
            "ipmi_to_metal_backend_calls_total",
            &[
                ("backend", "metal"),
                ("operation", "power_state"),
                ("outcome", "ok")
            ]
        ) >= 2.0
    );
    assert_eq!(
        after.value(
            "ipmi_to_metal_api_rate_limit_wait_seconds",
            &[("api", "metal")]
        ),
        0.0
    );

    // A 429 whose Retry-After is past the request's deadline: the API is not asked for 30 s.
    fake.fake
        .inject(fake_metal::Fault::RateLimited { retry_after: 30 }, 1);
    assert!(admin_run(&bmc, "chassis power off")
        .all()
        .contains("Node busy"));
    let limited = scrape(&api);
    assert_eq!(
        limited.value("ipmi_to_metal_api_rate_limited_total", &[("api", "metal")])
            - after.value("ipmi_to_metal_api_rate_limited_total", &[("api", "metal")]),
        1.0
    );
    let wait = limited.value(
        "ipmi_to_metal_api_rate_limit_wait_seconds",
        &[("api", "metal")],
    );
    assert!((20.0..=30.0).contains(&wait), "{wait}");
    assert!(
        limited.value(
            "ipmi_to_metal_backend_calls_total",
            &[
                ("backend", "metal"),
                ("operation", "power"),
                ("outcome", "busy")
            ]
        ) >= 1.0
    );
}

#[test]
fn discovery_runs_and_devices_show_in_the_metrics() {
    let mut devices: Vec<_> = (1..=3).map(|n| device(n, "active", &["ipmi"])).collect();
    devices.push(device(4, "active", &["web"]));
    let fake = FakeMetal::start(devices);
    let api = admin_table("\"metrics\"");
    let pool: Vec<String> = (0..4)
        .map(|_| format!("\"127.0.0.1:{}\"", free_port()))
        .collect();
    let port = free_port();
    let config = format!(
        "{}{}\n[[metal_discovery]]\nname = \"lab\"\napi_url = \"{}\"\nallow_http = true\nproject_id = \"{PROJECT}\"\ntag = \"ipmi\"\ntoken_env = \"TEST_METAL_TOKEN\"\nlisten = [{}]\nrefresh_s = 1\n[[metal_discovery.users]]\nname = \"admin\"\npassword_file = \"admin.pass\"\nprivilege = \"administrator\"\n",
        api.table,
        standard_config(port, ""),
        fake.url(),
        pool.join(", ")
    );
    let _bmc = Bmc::start_config(port, &config);
    let served = |s: &Scrape| {
        s.value(
            "ipmi_to_metal_discovery_devices",
            &[("discovery", "lab"), ("state", "served")],
        )
    };
    assert!(
        eventually(20, || {
            let s = scrape(&api);
            served(&s) == 3.0 && s.value("ipmi_to_metal_bmcs", &[("class", "metal")]) == 3.0
        }),
        "{:?}",
        scrape(&api)
    );
    let s = scrape(&api);
    assert!(
        s.value(
            "ipmi_to_metal_discovery_devices",
            &[("discovery", "lab"), ("state", "listed")]
        ) >= 3.0
    );
    assert!(
        s.value(
            "ipmi_to_metal_discovery_runs_total",
            &[("discovery", "lab"), ("outcome", "ok")]
        ) >= 1.0
    );
    assert_eq!(
        s.value(
            "ipmi_to_metal_discovery_runs_total",
            &[("discovery", "lab"), ("outcome", "failed")]
        ),
        0.0
    );
    assert_eq!(s.value("ipmi_to_metal_bmcs", &[("class", "sim")]), 1.0);
}
