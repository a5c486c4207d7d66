//! `ComputerSystem.Reset` beyond IPMI's twins: `GracefulRestart` (a soft off, then an on once
//! the machine is off) driven by Ironic's `sushy`, offered in the allowed values, audited and in
//! the SEL as its IPMI twins are; and not offered where the backend has no soft off.

mod common;
#[allow(dead_code)]
#[path = "redfish_service/serve.rs"]
mod serve;
#[allow(dead_code)]
#[path = "redfish/services.rs"]
mod services;
use common::*;
use serve::*;
use test_support::providers::{Latitude, ProviderFake};

#[test]
fn sushy_graceful_restart_soft_off_then_on_audited_and_in_the_sel() {
    let (s, port) = start(false, "");
    let out = sushy(
        &s,
        "sushy_graceful.py",
        &format!("https://127.0.0.1:{port}"),
        "admin",
        ADMIN_PASSWORD,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "allowed ForceOff ForceRestart GracefulRestart GracefulShutdown Nmi On PowerCycle",
        "{}",
        out
    );
    assert_eq!(lines[1], "power On");
    // Off, then on again (the sim's soft off takes 300 ms).
    let seen: Vec<&str> = lines[2].strip_prefix("seen ").unwrap().split(' ').collect();
    assert!(
        seen.contains(&"Off") && seen.last() == Some(&"On"),
        "{}",
        out
    );
    assert!(admin(&s.bmc, "chassis power status").contains("is on"));
    // Audited as its twins are: a soft off, then an on, by admin over Redfish.
    let audit = s.audit();
    let power: Vec<_> = audit
        .iter()
        .filter(|r| r["command"] == "Chassis Control" && r["outcome"] == "done")
        .collect();
    let calls: Vec<_> = power.iter().map(|r| r["call"].as_str().unwrap()).collect();
    assert_eq!(calls, ["power soft", "power on"], "{audit:?}");
    for r in &power {
        assert_eq!(r["protocol"], "redfish", "{r}");
        assert_eq!(r["user"], "admin", "{r}");
    }
    // And in the SEL as Chassis Control's records: the soft off's button press and ACPI
    // soft-off, then the power up.
    let sel = admin(&s.bmc, "sel list");
    let order: Vec<usize> = [
        "Power Button pressed",
        "S5/G2: soft-off",
        "Initiated by power up",
    ]
    .iter()
    .map(|what| {
        sel.find(what)
            .unwrap_or_else(|| panic!("no {what:?} in:\n{sel}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{sel}");
}

#[test]
fn a_backend_without_a_soft_off_is_not_offered_the_graceful_resets() {
    let id = "sv_81EVOtR1N4J2Z";
    let fake = ProviderFake::start(Latitude::new(HTTP_SECRET), &[(id, true)]);
    let (port, rf) = (free_port(), test_support::free_tcp_port());
    let section = format!(
        "[bmc.http]\npreset = \"latitude-sh\"\nbase_url = \"{}\"\nallow_http = true\nserver_id = \"{id}\"\nsecret_env = \"TEST_HTTP_SECRET\"\ncache_ms = 0\nabsent = [\"soft\"]\n",
        fake.url()
    );
    let config = format!(
        "{}\n[redfish]\nlisten = \"127.0.0.1:{rf}\"\nallow_http = true\n",
        config_with_backend(port, "http", &section)
    );
    let bmc = Bmc::start_config(port, &config);
    wait_listening(&bmc, rf);
    let system = format!("{}/redfish/v1/Systems/node1", base(rf));
    let (status, _, body) = curl(&system, &["-u", ADMIN_BASIC]);
    assert_eq!(status, 200, "{body}\n{}", bmc.server_log());
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let allowed = &v["Actions"]["#ComputerSystem.Reset"]["ResetType@Redfish.AllowableValues"];
    let allowed: Vec<&str> = allowed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        allowed.contains(&"On") && allowed.contains(&"ForceOff"),
        "{allowed:?}"
    );
    assert!(
        !allowed.contains(&"GracefulShutdown") && !allowed.contains(&"GracefulRestart"),
        "{allowed:?}"
    );
    let (_, _, info) = curl(&format!("{system}/ResetActionInfo"), &["-u", ADMIN_BASIC]);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(
        info["Parameters"][0]["AllowableValues"],
        serde_json::json!(allowed)
    );
    // Asked anyway: refused as not in the list, and nothing reaches the provider.
    let (status, body) = reset(&system, ADMIN_BASIC, "GracefulRestart");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("ActionParameterValueNotInList"), "{body}");
    assert!(
        fake.machine(id).actions.is_empty(),
        "{:?}",
        fake.machine(id).actions
    );
}

#[test]
fn a_reset_acknowledged_with_sel_sync_written_is_in_the_sel_after_kill_9() {
    let port = free_port();
    let rf = test_support::free_tcp_port();
    // Top-level keys before the tables.
    let config = format!(
        "sel_sync = \"written\"\n{}\n[redfish]\nlisten = \"127.0.0.1:{rf}\"\nallow_http = true\n",
        standard_config(port, "")
    );
    let bmc = Bmc::start_config(port, &config);
    wait_listening(&bmc, rf);
    assert!(!admin(&bmc, "sel list").contains("Power off/down"));
    let system = format!("{}/redfish/v1/Systems/node1", base(rf));
    let (status, body) = reset(&system, ADMIN_BASIC, "ForceOff");
    assert_eq!(status, 204, "{body}");
    // Killed at once: well within the second the background fsync may take.
    let bmc = bmc.kill9_and_restart();
    let sel = admin(&bmc, "sel list");
    assert!(
        sel.contains("Power off/down"),
        "the acknowledged record is lost:\n{sel}\n{}",
        bmc.server_log()
    );
    assert!(
        bmc.server_log()
            .contains("each change written, fsync'd within 1 s"),
        "{}",
        bmc.server_log()
    );
}
