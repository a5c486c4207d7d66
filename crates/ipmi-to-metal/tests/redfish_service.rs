//! The Redfish service with the real binary and real clients: Ironic's `sushy` driving power,
//! boot override (Once, Continuous, UEFI), the SEL and sessions; MAAS's power sequence as raw
//! HTTP; the same machine through IPMI (ipmitool) and Redfish at once, whose SEL and audit
//! agree; and the security rules (wrong passwords in the IPMI lockout, roles, one BMC's user
//! blind to another BMC, sessions expiring, TLS 1.1 refused).

mod common;
#[allow(dead_code)]
#[path = "redfish_service/serve.rs"]
mod serve;
#[allow(dead_code)]
#[path = "redfish/services.rs"]
mod services;
use common::*;
use serve::*;
use std::time::Duration;

#[test]
fn sushy_drives_power_boot_sel_and_sessions_over_tls() {
    let (s, port) = start(false, "");
    let out = sushy(
        &s,
        "sushy_drive.py",
        &format!("https://127.0.0.1:{port}"),
        "admin",
        ADMIN_PASSWORD,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "systems ['/redfish/v1/Systems/node1']",
            "power On",
            "power Off",
            "boot Pxe Once UEFI",
            "power On",
            // Once: gone after the next boot.
            "boot None Disabled UEFI",
            "boot Hdd Continuous UEFI",
            lines[7],
            // Cleared: one record left, that it was cleared.
            "sel 1",
            "timeout 1800",
            "sessions 1",
        ],
        "{}",
        out
    );
    assert!(
        lines[7].starts_with("sel ") && lines[7] != "sel 0",
        "{}",
        out
    );
    // The power actions are in the audit log as IPMI's would be, marked redfish.
    let audit = s.audit();
    let power: Vec<_> = audit
        .iter()
        .filter(|r| r["command"] == "Chassis Control" && r["outcome"] != "asked")
        .collect();
    assert_eq!(power.len(), 2, "{audit:?}");
    for r in &power {
        assert_eq!(r["protocol"], "redfish", "{r}");
        assert_eq!(r["user"], "admin", "{r}");
        assert_eq!(r["privilege"], "administrator", "{r}");
    }
    // The self-signed certificate is kept 0600 in the state directory.
    let state = s.bmc.dir.path().join("bmc.toml.state");
    let key = std::fs::metadata(state.join("redfish-key.pem")).expect("the key is kept");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
}

#[test]
fn ipmi_and_redfish_on_one_machine_agree_on_state_sel_and_audit() {
    let (s, port) = start(true, "");
    let system = format!("{}/redfish/v1/Systems/node1", base(port));
    admin(&s.bmc, "chassis power off");
    let (_, _, body) = curl(&system, &["-u", ADMIN_BASIC]);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["PowerState"], "Off", "{v}");
    let (st, body) = reset(&system, ADMIN_BASIC, "On");
    assert_eq!(st, 204, "{body}");
    assert!(eventually(10, || admin(&s.bmc, "chassis power status")
        .contains("is on")));
    // The boot override set over IPMI is the one Redfish shows, and the other way round.
    admin(&s.bmc, "chassis bootdev pxe");
    let (_, _, body) = curl(&system, &["-u", ADMIN_BASIC]);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["Boot"]["BootSourceOverrideTarget"], "Pxe", "{v}");
    assert_eq!(v["Boot"]["BootSourceOverrideEnabled"], "Once", "{v}");
    let (st, _, body) = curl(
        &system,
        &[
            "-u",
            ADMIN_BASIC,
            "-X",
            "PATCH",
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"Boot":{"BootSourceOverrideTarget":"Cd","BootSourceOverrideEnabled":"Continuous"}}"#,
        ],
    );
    assert_eq!(st, 200, "{body}");
    let flags = admin(&s.bmc, "chassis bootparam get 5");
    assert!(
        flags.contains("CD/DVD") && flags.contains("all future boots"),
        "{flags}"
    );
    // The SEL Redfish reads is IPMI's: the same number of records.
    let ipmi_records = admin(&s.bmc, "sel list").lines().count();
    let (_, _, body) = curl(
        &format!(
            "{}/redfish/v1/Managers/node1/LogServices/SEL/Entries",
            base(port)
        ),
        &["-u", ADMIN_BASIC],
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["Members"].as_array().unwrap().len(), ipmi_records, "{v}");
    // One power off over IPMI and one power on over Redfish: the same record but for the
    // protocol, the client's port and the duration.
    let audit = s.audit();
    let power: Vec<_> = audit
        .iter()
        .filter(|r| r["command"] == "Chassis Control" && r["outcome"] != "asked")
        .collect();
    assert_eq!(power.len(), 2, "{audit:?}");
    assert_eq!(power[0]["protocol"], "ipmi");
    assert_eq!(power[1]["protocol"], "redfish");
    for key in ["bmc", "user", "privilege", "command", "outcome"] {
        assert_eq!(power[0][key], power[1][key], "{key}: {audit:?}");
    }
    let boots: Vec<_> = audit
        .iter()
        .filter(|r| r["command"] == "Set System Boot Options" && r["outcome"] != "asked")
        .collect();
    assert_eq!(boots.len(), 2, "{audit:?}");
}

#[test]
fn maas_power_sequence_as_raw_http_with_if_match() {
    let (_s, port) = start(true, "");
    let system = format!("{}/redfish/v1/Systems/node1", base(port));
    assert_eq!(reset(&system, ADMIN_BASIC, "ForceOff").0, 204);
    let (_, head, _) = curl(&system, &["-u", ADMIN_BASIC]);
    // A stale ETag: 412; the current one: the boot override is set.
    assert_eq!(patch_pxe_once(&system, "W/\"0000000000000000\""), 412);
    let tag = etag(&head).replace("w/", "W/");
    assert_eq!(patch_pxe_once(&system, &tag), 200);
    // If-None-Match with the current ETag: 304.
    let (_, head, _) = curl(&system, &["-u", ADMIN_BASIC]);
    let inm = format!("If-None-Match: {}", etag(&head).replace("w/", "W/"));
    assert_eq!(curl(&system, &["-u", ADMIN_BASIC, "-H", &inm]).0, 304);
    assert_eq!(reset(&system, ADMIN_BASIC, "On").0, 204);
    // 405 with Allow for a method the resource does not take.
    let (st, head, _) = curl(&system, &["-u", ADMIN_BASIC, "-X", "DELETE"]);
    assert_eq!(st, 405);
    assert!(head.contains("allow: get, head, patch"), "{head}");
}

#[test]
fn roles_lockout_visibility_and_sessions() {
    let (s, port) = start(true, "session_timeout = 30");
    let system = format!("{}/redfish/v1/Systems/node1", base(port));
    // A read-only user (IPMI user) reads but cannot reset: 403.
    let viewer = format!("viewer:{VIEWER_PASSWORD}");
    assert_eq!(curl(&system, &["-u", &viewer]).0, 200);
    let (st, _) = reset(&system, &viewer, "ForceOff");
    assert_eq!(st, 403);
    // No credentials: 401 with a Basic challenge; a BMC that does not exist: 404.
    let (st, head, body) = curl(&system, &[]);
    assert_eq!(st, 401, "{body}");
    assert!(head.contains("www-authenticate: basic"), "{head}");
    assert!(body.contains("@Message.ExtendedInfo"), "{body}");
    assert_eq!(
        curl(
            &format!("{}/redfish/v1/Systems/node9", base(port)),
            &["-u", ADMIN_BASIC]
        )
        .0,
        404
    );
    // A session: the token works, DELETE ends it.
    let (st, head, body) = curl(
        &format!("{}/redfish/v1/SessionService/Sessions", base(port)),
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            &format!(r#"{{"UserName":"operator","Password":"{OPERATOR_PASSWORD}"}}"#),
        ],
    );
    assert_eq!(st, 201);
    let token = head
        .lines()
        .find_map(|l| l.strip_prefix("x-auth-token: "))
        .unwrap()
        .trim()
        .to_string();
    // (The headers are lower-cased: the session's URI is its body's @odata.id, as Location says.)
    assert!(
        head.contains("location: /redfish/v1/sessionservice/sessions/"),
        "{head}"
    );
    let session: serde_json::Value = serde_json::from_str(&body).unwrap();
    let location = session["@odata.id"].as_str().unwrap().to_string();
    let auth = format!("X-Auth-Token: {token}");
    assert_eq!(curl(&system, &["-H", &auth]).0, 200);
    assert_eq!(
        curl(
            &format!("{}{location}", base(port)),
            &["-H", &auth, "-X", "DELETE"]
        )
        .0,
        204
    );
    assert_eq!(curl(&system, &["-H", &auth]).0, 401);
    // Wrong passwords over Redfish lock the address out of IPMI too (5 failures).
    for _ in 0..5 {
        assert_eq!(curl(&system, &["-u", "admin:wrong-password"]).0, 401);
    }
    let locked = ipmitool(
        &s.bmc,
        "lanplus",
        &[],
        "admin",
        ADMIN_PASSWORD,
        "chassis power status",
    );
    assert!(
        !locked.ok,
        "IPMI login not locked out after 5 wrong Redfish passwords: {}",
        locked.all()
    );
    assert_eq!(
        curl(&system, &["-u", ADMIN_BASIC]).0,
        401,
        "locked out over Redfish too"
    );
    // Accounts are the configuration file's: creating one is refused.
    let (st, head, _) = curl(
        &format!("{}/redfish/v1/AccountService/Accounts", base(port)),
        &["-u", "operator:operator-pass", "-X", "POST", "-d", "{}"],
    );
    assert_eq!(st, 405);
    assert!(head.contains("allow: get, head"), "{head}");
}

#[test]
fn a_user_of_one_bmc_cannot_see_another() {
    let (_s, port) = start_with_node2("administrator");
    let systems = |user: &str| {
        let (_, _, body) = curl(&format!("{}/redfish/v1/Systems", base(port)), &["-u", user]);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["Members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["@odata.id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(systems(ADMIN_BASIC), ["/redfish/v1/Systems/node1"]);
    assert_eq!(systems(OTHER_BASIC), ["/redfish/v1/Systems/node2"]);
    assert_eq!(
        curl(
            &format!("{}/redfish/v1/Systems/node2", base(port)),
            &["-u", ADMIN_BASIC]
        )
        .0,
        401
    );
    assert_eq!(
        curl(
            &format!("{}/redfish/v1/Managers/node1", base(port)),
            &["-u", OTHER_BASIC]
        )
        .0,
        401
    );
}

#[test]
fn tls_refuses_tls_1_1_and_serves_1_2() {
    let (_s, port) = start(false, "");
    let url = format!("https://127.0.0.1:{port}/redfish/v1/");
    assert_eq!(curl(&url, &["--tlsv1.2"]).0, 200);
    let (st, _, _) = curl(&url, &["--tlsv1.1", "--tls-max", "1.1"]);
    assert_eq!(st, 0, "a TLS 1.1 handshake must fail");
}

#[test]
fn slow_huge_and_malformed_requests_cost_only_their_own_connection() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let (s, port) = start(true, "");
    let system = format!("{}/redfish/v1/Systems/node1", base(port));
    // A client that sends half its headers and stalls.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.write_all(b"GET /redfish/v1/ HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // Huge headers: refused, not buffered without end.
    let mut huge = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let header = format!(
        "GET /redfish/v1/ HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let _ = huge.write_all(header.as_bytes());
    let mut answer = Vec::new();
    huge.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = huge.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
    // A body over 64 KiB: 413. Junk: 400.
    let big = "x".repeat(100_000);
    let (st, _, _) = curl(&system, &["-u", ADMIN_BASIC, "-X", "PATCH", "-d", &big]);
    assert_eq!(st, 413);
    let mut junk = TcpStream::connect(("127.0.0.1", port)).unwrap();
    junk.write_all(b"\x16\x03\x01\x00\xff garbage\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    junk.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = junk.read_to_end(&mut out);
    assert!(
        out.is_empty() || out.starts_with(b"HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    // Odd paths and bodies: Redfish errors, never a panic.
    for path in [
        "/redfish/v1/Systems/node1/../../x",
        "/redfish/v1//Systems",
        "/redfish/v1/Systems/%00",
        "/redfish/v1/Managers/node1/LogServices/SEL/Entries/99999999",
    ] {
        let (st, _, _) = curl(&format!("{}{path}", base(port)), &["-u", ADMIN_BASIC]);
        assert!(st == 404 || st == 400, "{path}: {st}");
    }
    for body in [
        "[]",
        "{\"Boot\":7}",
        "{\"Boot\":{\"BootSourceOverrideTarget\":\"Nowhere\"}}",
        "not json",
    ] {
        let (st, _, _) = curl(&system, &["-u", ADMIN_BASIC, "-X", "PATCH", "-d", body]);
        assert_eq!(st, 400, "{body}");
    }
    // Meanwhile the service answers; the stalled client is dropped after its header timeout.
    assert_eq!(curl(&system, &["-u", ADMIN_BASIC]).0, 200);
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut rest = Vec::new();
    let started = std::time::Instant::now();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(14),
        "the stalled connection stays open"
    );
    assert!(
        !s.bmc.server_log().contains("panicked"),
        "{}",
        s.bmc.server_log()
    );
}
