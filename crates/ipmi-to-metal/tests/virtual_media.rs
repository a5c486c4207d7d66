//! Virtual media end to end, with the real binary: inserted through the admin API, booted with
//! ipmitool's `chassis bootdev cdrom` and a reset, ejected; on the simulator (whose console
//! names the image it booted) and on the metal backend (the fake Metal API's device pointed at
//! the shim's iPXE endpoint, every exchange checked against the official spec, and put back at
//! the eject). The endpoint answers what is asked now and nothing to a wrong secret.

mod common;
#[allow(dead_code)]
#[path = "redfish/services.rs"]
mod services;
use common::admin::*;
use common::metal::*;
use common::*;
use serde_json::Value;

fn cd(s: &Served, name: &str) -> Value {
    let all = s.get_json(&format!("/bmcs/{name}/media"));
    all["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["slot"] == "Cd")
        .cloned()
        .unwrap_or(Value::Null)
}

fn console(s: &Served) -> String {
    s.http("GET", "/bmcs/node1/console", Some(ADMIN_TOKEN), "")
        .1
}

const IMAGE: &str = "http://192.0.2.10/images/agent.iso";

/// Inserts [`IMAGE`] into node1's CD through the admin API: status and body.
fn insert_cd(s: &Served) -> (u16, Value) {
    s.media(
        "node1",
        "Cd",
        "insert",
        &format!("{{\"image\": \"{IMAGE}\"}}"),
    )
}

#[test]
fn the_sim_boots_the_inserted_cd_once_and_keeps_it_across_kill_9() {
    let s = Served::start("", "");
    let (status, body) = insert_cd(&s);
    assert_eq!(status, 200, "{body}");
    let slot = cd(&s, "node1");
    assert_eq!(slot["inserted"], true);
    assert_eq!(slot["image"], IMAGE);
    assert_eq!(slot["connected_via"], "URI");
    assert_eq!(slot["transfer_protocol"], "HTTP");
    assert_eq!(slot["write_protected"], true);
    // The sim has a USB stick too.
    assert!(s
        .get_json("/bmcs/node1/media")
        .to_string()
        .contains("UsbStick"));

    assert!(admin(&s.bmc, "chassis bootdev cdrom").contains("Set Boot Device to cdrom"));
    admin(&s.bmc, "chassis power reset");
    let booted = format!("Booting from virtual media CD {IMAGE}");
    assert!(
        eventually(10, || console(&s).contains(&booted)),
        "{}",
        console(&s)
    );
    // Next boot only: the next reset boots the disk.
    assert!(eventually(5, || admin(&s.bmc, "chassis bootparam get 5")
        .contains("Boot Flag Invalid")));
    admin(&s.bmc, "chassis power reset");
    assert!(eventually(10, || console(&s)
        .matches("Booting from disk")
        .count()
        >= 1));
    assert_eq!(console(&s).matches(&booted).count(), 1);

    // Audited with who asked, recorded in the SEL.
    let audit = s.audit();
    let insert = audit
        .iter()
        .find(|r| r["command"] == "InsertMedia")
        .expect("InsertMedia audited");
    assert_eq!(insert["user"], "admin-api", "{insert}");
    assert!(insert.to_string().contains("agent.iso"), "{insert}");
    let sel = admin(&s.bmc, "sel elist");
    assert!(sel.contains("Virtual Media"), "{sel}");

    // The state file: private, and it survives kill -9.
    let file = s.bmc.dir.path().join("bmc.toml.state/media/node1.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let admin_port = s.admin_port;
    let bmc = s.bmc.kill9_and_restart();
    let s = Served { bmc, admin_port };
    s.wait_admin();
    let slot = cd(&s, "node1");
    assert_eq!(
        (slot["inserted"].clone(), slot["image"].clone()),
        (Value::Bool(true), Value::from(IMAGE))
    );

    let (status, body) = s.media("node1", "Cd", "eject", "");
    assert_eq!(status, 200, "{body}");
    let slot = cd(&s, "node1");
    assert_eq!(slot["inserted"], false);
    assert_eq!(slot["connected_via"], "NotConnected");
    // After the eject, bootdev cdrom boots no image.
    admin(&s.bmc, "chassis bootdev cdrom");
    admin(&s.bmc, "chassis power reset");
    assert!(
        eventually(10, || console(&s).contains("Booting from cdrom")),
        "{}",
        console(&s)
    );
}

#[test]
fn bad_media_requests_get_the_right_answer() {
    let s = Served::start("", "");
    for (body, why) in [
        (r#"{"image": "ftp://192.0.2.1/a.iso"}"#, "transfer_protocol"),
        (r#"{"image": "http://h/a b.iso"}"#, "space"),
        (r#"{"image": "http://h/${x}.iso"}"#, "${"),
        (
            r#"{"image": "https://h/a.iso", "transfer_protocol": "HTTP"}"#,
            "does not match",
        ),
    ] {
        let (status, answer) = s.media("node1", "Cd", "insert", body);
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer.to_string().contains(why), "{body}: {answer}");
    }
    assert_eq!(
        s.media(
            "node1",
            "Floppy",
            "insert",
            r#"{"image": "http://h/a.iso"}"#
        )
        .0,
        404
    );
    assert_eq!(cd(&s, "node1")["inserted"], false);
}

/// The `[bmc.metal]` table of device 1 of `fake`.
fn metal_section(fake: &FakeMetal) -> String {
    format!(
        "[bmc.metal]\napi_url = \"{}\"\nallow_http = true\ndevice_id = \"{}\"\ntoken_env = \"TEST_METAL_TOKEN\"\ncache_ms = 200\n",
        fake.url(),
        device_id(1)
    )
}

/// BMC node1 on `port` for device 1 of `fake`, with the iPXE endpoint on `ipxe_port`.
fn metal_config(fake: &FakeMetal, port: u16, ipxe_port: u16) -> String {
    format!(
        "{}\n[ipxe]\nlisten = \"127.0.0.1:{ipxe_port}\"\npublic_url = \"http://127.0.0.1:{ipxe_port}\"\n",
        config_with_backend(port, "metal", &metal_section(fake))
    )
}

/// `GET` of a path on the endpoint: status and body.
fn fetch(port: u16, path: &str) -> (u16, String) {
    http(port, "GET", path, None, "")
}

#[test]
fn a_metal_device_netboots_the_endpoint_and_the_eject_puts_it_back() {
    let mut dev = device(1, "active", &[]);
    dev.ipxe_script_url = Some("https://boot.example.net/original.ipxe".into());
    let fake = FakeMetal::start(vec![dev]);
    let (port, ipxe_port) = (free_port(), test_support::free_tcp_port());
    let s = Served::start_bmcs(port, &metal_config(&fake, port, ipxe_port));
    // Before any insert: no secret, every path 404 with an empty body.
    assert_eq!(fetch(ipxe_port, "/ipxe/node1/00"), (404, String::new()));

    let (status, body) = insert_cd(&s);
    assert_eq!(status, 200, "{body}\n{}", s.bmc.server_log());
    let d = fake.device(1);
    assert!(d.always_pxe);
    let url = d.ipxe_script_url.clone().unwrap();
    let prefix = format!("http://127.0.0.1:{ipxe_port}/ipxe/node1/");
    let secret = url.strip_prefix(&prefix).unwrap_or_else(|| panic!("{url}"));
    assert_eq!(secret.len(), 64);
    let path = url
        .strip_prefix(&format!("http://127.0.0.1:{ipxe_port}"))
        .unwrap()
        .to_string();
    // Nothing asked yet: the script leaves iPXE (the disk boots).
    let (status, script) = fetch(ipxe_port, &path);
    assert_eq!(status, 200);
    assert!(
        script.starts_with("#!ipxe\n") && script.ends_with("\nexit\n"),
        "{script}"
    );
    // A wrong secret, an unknown BMC, another path: the same empty 404.
    let wrong = format!("/ipxe/node1/{}", "0".repeat(64));
    for p in [wrong.as_str(), "/ipxe/node9/abc", "/", "/ipxe/node1"] {
        assert_eq!(fetch(ipxe_port, p), (404, String::new()), "{p}");
    }

    // bootdev cdrom: the next fetch sanboots the image, once.
    assert!(admin(&s.bmc, "chassis bootdev cdrom").contains("cdrom"));
    assert!(admin(&s.bmc, "chassis bootparam get 5").contains("Force Boot from CD/DVD"));
    let (_, script) = fetch(ipxe_port, &path);
    assert!(
        script.contains(&format!("\nsanboot --no-describe {IMAGE} ")),
        "{script}"
    );
    let (_, script) = fetch(ipxe_port, &path);
    assert!(script.ends_with("\nexit\n"), "used once: {script}");
    assert!(admin(&s.bmc, "chassis bootparam get 5").contains("Boot Flag Invalid"));
    // The device still netboots the endpoint (which now says exit).
    assert_eq!(
        fake.device(1).ipxe_script_url.as_deref(),
        Some(url.as_str())
    );

    // A new insert rotates the secret: the old URL answers nothing.
    let (status, _) = insert_cd(&s);
    assert_eq!(status, 200);
    let url2 = fake.device(1).ipxe_script_url.unwrap();
    assert_ne!(url2, url);
    assert_eq!(fetch(ipxe_port, &path), (404, String::new()));

    // Eject: the device's own settings are back.
    let (status, body) = s.media("node1", "Cd", "eject", "");
    assert_eq!(status, 200, "{body}");
    let d = fake.device(1);
    assert!(!d.always_pxe);
    assert_eq!(
        d.ipxe_script_url.as_deref(),
        Some("https://boot.example.net/original.ipxe")
    );

    // The secret is in no log line.
    let log = s.bmc.server_log();
    assert!(log.contains("iPXE script served"), "{log}");
    assert!(!log.contains(secret), "the secret was logged:\n{log}");
    fake.check_spec();
}

#[test]
fn a_disk_boot_puts_the_metal_device_back_and_cd_points_it_at_the_endpoint_again() {
    let fake = FakeMetal::start(vec![device(1, "active", &[])]);
    let (port, ipxe_port) = (free_port(), test_support::free_tcp_port());
    let s = Served::start_bmcs(port, &metal_config(&fake, port, ipxe_port));
    let (status, _) = insert_cd(&s);
    assert_eq!(status, 200);
    let url = fake.device(1).ipxe_script_url.unwrap();
    admin(&s.bmc, "chassis bootdev disk");
    let d = fake.device(1);
    assert!(!d.always_pxe);
    assert_eq!(d.ipxe_script_url, None, "what was there: nothing");
    admin(&s.bmc, "chassis bootdev cdrom options=persistent");
    let d = fake.device(1);
    assert!(d.always_pxe);
    assert_eq!(d.ipxe_script_url.as_deref(), Some(url.as_str()));
    let path = url
        .split_once(&format!(":{ipxe_port}"))
        .unwrap()
        .1
        .to_string();
    for _ in 0..2 {
        let (_, script) = fetch(ipxe_port, &path);
        assert!(
            script.contains("sanboot --no-describe"),
            "persistent: {script}"
        );
    }
    fake.check_spec();
}

#[test]
fn backends_without_media_offer_no_slot() {
    let fake = FakeMetal::start(vec![device(1, "active", &[])]);
    let port = free_port();
    // Metal without the endpoint configured: it cannot boot an image.
    let s = Served::start_bmcs(
        port,
        &config_with_backend(port, "metal", &metal_section(&fake)),
    );
    assert_eq!(
        s.get_json("/bmcs/node1/media")["slots"],
        serde_json::json!([])
    );
    let (status, body) = insert_cd(&s);
    assert_eq!(status, 501, "{body}");
    assert!(fake.device(1).ipxe_script_url.is_none());
}

#[test]
fn the_redfish_backend_passes_media_through_to_the_managers_virtual_cd() {
    let service = services::FakeRedfish::start();
    let port = free_port();
    let s = Served::start_bmcs(
        port,
        &config_with_backend(port, "redfish", &services::section(&service.url(), "")),
    );
    let (status, body) = insert_cd(&s);
    assert_eq!(status, 200, "{body}\n{}", s.bmc.server_log());
    assert_eq!(service.fake.system().media, (Some(IMAGE.to_string()), true));
    // bootdev cdrom: the service's override is Cd, once; the reset boots the CD.
    admin(&s.bmc, "chassis bootdev cdrom");
    let v = service.fake.system();
    assert_eq!(
        (v.boot_target.as_str(), v.boot_enabled.as_str()),
        ("Cd", "Once")
    );
    admin(&s.bmc, "chassis power reset");
    assert!(eventually(10, || service.fake.system().cd_boots == 1));
    let (status, body) = s.media("node1", "Cd", "eject", "");
    assert_eq!(status, 200, "{body}");
    assert!(!service.fake.system().media.1);
    let log = s.bmc.server_log();
    assert!(
        log.contains("virtual media inserted in the Redfish service"),
        "{log}"
    );
}
