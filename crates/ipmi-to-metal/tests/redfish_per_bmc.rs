//! Each BMC's own Redfish service (`redfish_listen`, `[redfish] per_bmc_port`), with the real
//! binary and real clients: Ironic's `sushy` over TLS (the aggregate service's certificate) and
//! redfishtool against a BMC's own address, which lists exactly that one system; MAAS's raw
//! HTTP power sequence against it, and the HTTP server's limits there; a reload that removes a
//! BMC stops its service and one that adds it back starts it; `per_bmc_port` gives every BMC a
//! service on its own IP address (none to BMCs that share one, with a warning); and
//! `check-config` shows the services and refuses a duplicate address with its file:line:col.

mod common;
#[allow(dead_code)]
#[path = "redfish_service/serve.rs"]
mod serve;
#[allow(dead_code)]
#[path = "redfish/services.rs"]
mod services;
use common::admin::*;
use common::*;
use serve::*;
use std::net::TcpStream;
use std::process::Command;

/// A second BMC, `node2`, on `ipmi` (an `IP:PORT`), with the standard users and `extra` keys.
fn node2(ipmi: &str, extra: &str) -> String {
    standard_config(1, extra)
        .replacen("name = \"node1\"", "name = \"node2\"", 1)
        .replacen(
            "listen = \"127.0.0.1:1\"",
            &format!("listen = \"{ipmi}\""),
            1,
        )
}

/// Waits until `host:port` takes TCP connections.
fn listens(host: &str, port: u16, s: &Served) {
    assert!(
        eventually(20, || TcpStream::connect((host, port)).is_ok()),
        "nothing listens on {host}:{port}; log:\n{}",
        s.bmc.server_log()
    );
}

/// The `Members` of `/redfish/v1/Systems` at `base` (with admin's Basic credentials).
fn systems(base: &str) -> Vec<String> {
    let (status, _, body) = curl(&format!("{base}/redfish/v1/Systems"), &["-u", ADMIN_BASIC]);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["Members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["@odata.id"].as_str().unwrap().to_string())
        .collect()
}

/// The PEM certificate the TLS service on `port` presents.
fn certificate(port: u16) -> String {
    let out = run(Command::new("python3").args([
        "-c",
        &format!("import ssl; print(ssl.get_server_certificate(('127.0.0.1', {port})))"),
    ]));
    assert!(
        out.ok && out.stdout.contains("BEGIN CERTIFICATE"),
        "{}",
        out.all()
    );
    out.stdout
}

#[test]
fn sushy_drives_a_bmc_through_its_own_service_over_tls_with_the_aggregate_certificate() {
    let (aggregate, own1, own2) = (
        test_support::free_tcp_port(),
        test_support::free_tcp_port(),
        test_support::free_tcp_port(),
    );
    let more = format!(
        "{}\n[redfish]\nlisten = \"127.0.0.1:{aggregate}\"\n",
        node2(
            &format!("127.0.0.1:{}", free_port()),
            &format!("redfish_listen = \"127.0.0.1:{own2}\"")
        )
    );
    let s = Served::start(&format!("redfish_listen = \"127.0.0.1:{own1}\""), &more);
    for port in [aggregate, own1, own2] {
        listens("127.0.0.1", port, &s);
    }
    let out = sushy(
        &s,
        "sushy_drive.py",
        &format!("https://127.0.0.1:{own1}"),
        "admin",
        ADMIN_PASSWORD,
    );
    let lines: Vec<&str> = out.lines().collect();
    // The BMC's own service lists that one system, and sushy drives it as through the
    // aggregate service (the power, the boot override, the SEL, its session).
    assert_eq!(
        lines[..7],
        [
            "systems ['/redfish/v1/Systems/node1']",
            "power On",
            "power Off",
            "boot Pxe Once UEFI",
            "power On",
            "boot None Disabled UEFI",
            "boot Hdd Continuous UEFI",
        ],
        "{}",
        out
    );
    assert!(admin(&s.bmc, "chassis bootparam get 5").contains("Force Boot from default Hard-Drive"));
    // The other BMC is not there, even for a user it has; it is at its own address.
    let https = |p: u16| format!("https://127.0.0.1:{p}");
    let (status, _, _) = curl(
        &format!("{}/redfish/v1/Systems/node2", https(own1)),
        &["-u", ADMIN_BASIC],
    );
    assert_eq!(status, 404);
    assert_eq!(systems(&https(own2)), ["/redfish/v1/Systems/node2"]);
    assert_eq!(
        systems(&https(aggregate)),
        ["/redfish/v1/Systems/node1", "/redfish/v1/Systems/node2"]
    );
    // One certificate for every service of the process: the self-signed one of the state dir.
    assert_eq!(certificate(own1), certificate(aggregate));
    assert_eq!(certificate(own2), certificate(aggregate));
    let log = s.bmc.server_log();
    assert!(
        log.contains(&format!(
            "Redfish service of bmc \"node1\" at https://127.0.0.1:{own1}/redfish/v1"
        )),
        "{log}"
    );
}

#[test]
fn redfishtool_and_maas_on_own_addresses_and_a_reload_stops_and_starts_them() {
    let (own1, own2) = (test_support::free_tcp_port(), test_support::free_tcp_port());
    let node2_ipmi = free_port();
    let node2_table = node2(
        &format!("127.0.0.1:{node2_ipmi}"),
        &format!("redfish_listen = \"127.0.0.1:{own2}\""),
    );
    // No aggregate service: only the BMCs' own.
    let more = format!("{node2_table}\n[redfish]\nallow_http = true\n");
    let s = Served::start(&format!("redfish_listen = \"127.0.0.1:{own1}\""), &more);
    listens("127.0.0.1", own1, &s);
    listens("127.0.0.1", own2, &s);
    let rt = |port: u16, args: &[&str]| {
        run(Command::new(require("redfishtool", "redfishtool (pip)"))
            .args(["-r", &format!("127.0.0.1:{port}"), "-S", "Never"])
            .args(["-u", "admin", "-p", ADMIN_PASSWORD])
            .args(args))
    };
    let list = rt(own2, &["Systems", "list"]);
    assert!(list.ok, "{}", list.all());
    assert!(
        list.stdout.contains("/redfish/v1/Systems/node2"),
        "{}",
        list.stdout
    );
    assert!(!list.stdout.contains("node1"), "{}", list.stdout);
    // redfishtool finds the one system without being told its id.
    let off = rt(own2, &["Systems", "reset", "ForceOff"]);
    assert!(off.ok, "{}", off.all());
    let got = rt(own2, &["Systems", "get", "PowerState"]);
    assert!(got.stdout.contains("\"Off\""), "{}", got.all());
    assert!(admin(&s.bmc, "chassis power status").contains("is on"));

    // MAAS's power sequence against node1's own address: ForceOff, PATCH Boot Once Pxe with
    // If-Match, On.
    let system = format!("{}/redfish/v1/Systems/node1", base(own1));
    assert_eq!(reset(&system, ADMIN_BASIC, "ForceOff").0, 204);
    assert!(admin(&s.bmc, "chassis power status").contains("is off"));
    let (_, head, _) = curl(&system, &["-u", ADMIN_BASIC]);
    let tag = etag(&head).replace("w/", "W/");
    assert_eq!(patch_pxe_once(&system, &tag), 200);
    assert!(admin(&s.bmc, "chassis bootparam get 5").contains("PXE"));
    assert_eq!(reset(&system, ADMIN_BASIC, "On").0, 204);
    assert!(eventually(10, || admin(&s.bmc, "chassis power status")
        .contains("is on")));

    // The same hardened HTTP server: a stalled client costs its own connection only, a head
    // over 16 KiB is refused (431), a body over 64 KiB too (413).
    {
        use std::io::{Read, Write};
        let mut slow = TcpStream::connect(("127.0.0.1", own1)).unwrap();
        slow.write_all(b"GET /redfish/v1/ HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let mut huge = TcpStream::connect(("127.0.0.1", own1)).unwrap();
        let head = format!(
            "GET /redfish/v1/ HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(20_000)
        );
        let _ = huge.write_all(head.as_bytes());
        huge.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut answer = Vec::new();
        let _ = huge.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
            "{answer}"
        );
        let big = "x".repeat(100_000);
        assert_eq!(
            curl(&system, &["-u", ADMIN_BASIC, "-X", "PATCH", "-d", &big]).0,
            413
        );
        assert_eq!(systems(&base(own1)), ["/redfish/v1/Systems/node1"]);
    }

    // A reload without node2 stops its service; one with it back starts it again.
    let path = s.bmc.dir.path().join("bmc.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&node2_table));
    std::fs::write(&path, text.replace(&node2_table, "")).unwrap();
    s.bmc.signal("HUP");
    assert!(
        eventually(20, || TcpStream::connect(("127.0.0.1", own2)).is_err()),
        "node2's service still listens; log:\n{}",
        s.bmc.server_log()
    );
    assert_eq!(systems(&base(own1)), ["/redfish/v1/Systems/node1"]);
    std::fs::write(&path, &text).unwrap();
    s.bmc.signal("HUP");
    listens("127.0.0.1", own2, &s);
    assert!(eventually(20, || {
        let (status, _, _) = curl(
            &format!("{}/redfish/v1/Systems", base(own2)),
            &["-u", ADMIN_BASIC],
        );
        status == 200
    }));
    assert_eq!(systems(&base(own2)), ["/redfish/v1/Systems/node2"]);
}

#[test]
fn per_bmc_port_serves_every_bmc_on_its_own_ip_address() {
    let port = test_support::free_tcp_port();
    // node2 on 127.0.0.2: an address of its own, as each BMC of a real fleet has; node3 and
    // node4 share 127.0.0.3.
    let on = |name: &str, ip: &str| {
        node2(&format!("{ip}:{}", free_port()), "").replacen("\"node2\"", &format!("\"{name}\""), 1)
    };
    let more = format!(
        "{}\n{}\n{}\n[redfish]\nallow_http = true\nper_bmc_port = {port}\n",
        on("node2", "127.0.0.2"),
        on("node3", "127.0.0.3"),
        on("node4", "127.0.0.3"),
    );
    let s = Served::start("", &more);
    listens("127.0.0.1", port, &s);
    listens("127.0.0.2", port, &s);
    let warned = format!(
        "bmcs node3, node4 would share 127.0.0.3:{port}: none of them has its own Redfish service"
    );
    assert!(
        eventually(20, || s.bmc.server_log().contains(&warned)),
        "{}",
        s.bmc.server_log()
    );
    assert!(TcpStream::connect(("127.0.0.3", port)).is_err());
    assert_eq!(
        systems(&format!("http://127.0.0.1:{port}")),
        ["/redfish/v1/Systems/node1"]
    );
    assert_eq!(
        systems(&format!("http://127.0.0.2:{port}")),
        ["/redfish/v1/Systems/node2"]
    );
    // check-config says where they are.
    let config = s.bmc.dir.path().join("bmc.toml");
    let out = run(Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
        .arg("check-config")
        .arg(&config)
        .env("TEST_VIEWER_PASSWORD", "viewer-pw"));
    assert!(out.ok, "{}", out.all());
    assert!(
        out.stdout.contains(&format!(
            "redfish: no aggregate service (plain HTTP; sessions: 64 at most, 1800 s idle; each BMC's own on its IP address, port {port})"
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn check_config_shows_a_bmcs_own_service_and_refuses_a_duplicate_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bmc.toml");
    let check = |text: &str| {
        std::fs::write(&path, text).unwrap();
        run(Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
            .arg("check-config")
            .arg(&path)
            .env("TEST_VIEWER_PASSWORD", "viewer-pw"))
    };
    std::fs::write(dir.path().join("admin.pass"), "s3cret-admin\n").unwrap();
    let node1 = standard_config(6230, "redfish_listen = \"127.0.0.1:8001\"");
    let out = check(&node1);
    assert!(out.ok, "{}", out.all());
    assert!(
        out.stdout
            .contains("  redfish 127.0.0.1:8001 (this BMC's own Redfish service)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "redfish: no aggregate service (TLS, self-signed certificate in the state directory"
        ),
        "{}",
        out.stdout
    );
    // The same address for two BMCs: refused where the second one says it.
    let twice = format!(
        "{node1}\n{}",
        node2("127.0.0.1:6231", "redfish_listen = \"127.0.0.1:8001\"")
    );
    let out = check(&twice);
    assert!(!out.ok);
    let line = twice
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("redfish_listen"))
        .nth(1)
        .unwrap()
        .0
        + 1;
    assert!(
        out.stderr.contains(&format!("bmc.toml:{line}:18: duplicate redfish_listen address 127.0.0.1:8001 (already used by bmc \"node1\")")),
        "{}",
        out.stderr
    );
    // Not an address.
    let out = check(&standard_config(6230, "redfish_listen = \"host\""));
    assert!(
        out.stderr
            .contains("bmc.toml:5:18: invalid redfish_listen address \"host\""),
        "{}",
        out.stderr
    );
    // The aggregate service on a BMC's own address.
    let out = check(&format!(
        "{node1}\n[redfish]\nlisten = \"127.0.0.1:8001\"\n"
    ));
    assert!(
        out.stderr
            .contains("listen: 127.0.0.1:8001 is also bmc \"node1\"'s redfish_listen"),
        "{}",
        out.stderr
    );
    let out = check(&format!("{node1}\n[redfish]\nper_bmc_port = 0\n"));
    assert!(
        out.stderr.contains("per_bmc_port: from 1 to 65535"),
        "{}",
        out.stderr
    );
}
