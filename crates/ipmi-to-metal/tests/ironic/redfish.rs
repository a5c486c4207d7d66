//! Nodes of Ironic's `redfish` hardware type against the shim's Redfish service (TLS, the
//! self-signed certificate the shim generated as the CA): power and the boot device through the
//! `redfish` power and management interfaces, and a whole deploy with the
//! `redfish-virtual-media` boot interface and the `ramdisk` deploy interface, from an ISO
//! Ironic fetches and publishes from its own HTTP root, to `active` and back to `available`.

use super::*;
use common::admin::{Served, ADMIN_TOKEN};
use test_support::netboot::NetbootServer;

/// docs/howto-ironic.md's `driver_info` of a `redfish` node for the Redfish service on
/// `redfish_port` of a shim whose state directory is `state`: `localhost`, a name the
/// self-signed certificate holds, and that certificate as the CA to verify it with.
fn redfish_driver_info(redfish_port: u16, state: &std::path::Path) -> Vec<String> {
    vec![
        format!("redfish_address=https://localhost:{redfish_port}"),
        "redfish_system_id=/redfish/v1/Systems/node1".to_string(),
        "redfish_username=operator".to_string(),
        format!("redfish_password={OPERATOR_PASSWORD}"),
        format!(
            "redfish_verify_ca={}",
            state.join("redfish-cert.pem").display()
        ),
    ]
}

/// The standard sim BMC (`node1`, audited) with the Redfish service on: the BMC, the service's
/// port and the shim's state directory (where its self-signed certificate is).
fn served_with_redfish() -> (Served, u16, std::path::PathBuf) {
    let redfish_port = free_tcp_port();
    let s = Served::start(
        "",
        &format!("[redfish]\nlisten = \"127.0.0.1:{redfish_port}\"\n"),
    );
    let state = s.bmc.dir.path().join("bmc.toml.state");
    assert!(
        eventually(20, || state.join("redfish-cert.pem").exists()
            && std::net::TcpStream::connect(("127.0.0.1", redfish_port))
                .is_ok()),
        "the Redfish service did not start; log:\n{}",
        s.bmc.server_log()
    );
    (s, redfish_port, state)
}

#[test]
fn ironic_redfish_node_drives_power_and_boot_device_through_the_redfish_service() {
    let (s, redfish_port, state) = served_with_redfish();
    let node = Node::create_with(
        "redfish",
        "ironic-redfish",
        &redfish_driver_info(redfish_port, &state),
        &[],
    );
    node.assert_valid(&["power", "management"]);
    node.run(&["manage"], &["--wait", "60"]);
    let power = |state: &str| {
        let shown = s.bmc_json("node1");
        assert_eq!(shown["power"]["state"], state, "{shown}");
    };

    node.run(&["power", "off"], &[]);
    node.wait_for("power_state", "power off", 60);
    power("off");
    node.run(&["power", "on"], &[]);
    node.wait_for("power_state", "power on", 60);
    power("on");
    let ups = sel(&s.bmc).matches("Initiated by power up").count();
    node.run(&["reboot"], &[]);
    wait_sel(&s.bmc, "Initiated by power up", ups + 1);
    node.wait_for("power_state", "power on", 60);
    power("on");

    boot_device_pxe_then_disk(&node, &s.bmc);

    // Every power action came over Redfish, as the operator Ironic logs in as.
    let audit = s.audit();
    let actions: Vec<_> = audit
        .iter()
        .filter(|r| r["command"] == "Chassis Control" && r["outcome"] != "asked")
        .collect();
    assert!(actions.len() >= 3, "{audit:?}");
    for r in &actions {
        assert_eq!(r["protocol"], "redfish", "{r}");
        assert_eq!(r["user"], "operator", "{r}");
    }
}

/// A number of a sensor of Ironic's notification (`reading`, `reading_celsius`).
fn reading(sensor: &Value, field: &str) -> f64 {
    sensor[field]
        .as_f64()
        .unwrap_or_else(|| panic!("no {field} in {sensor:#}"))
}

#[test]
fn ironic_sends_the_sensor_data_of_a_redfish_node() {
    let (s, redfish_port, state) = served_with_redfish();
    let node = Node::create_with(
        "redfish",
        "ironic-redfish-sensors",
        &redfish_driver_info(redfish_port, &state),
        &[],
    );
    // Ironic 39 reads the sensors with one `GET Chassis/node1?$expand=.($levels=1)`: with the
    // service's $expand, its notification carries the sim's fans, temperatures and supplies.
    let mut data = None;
    let ok = eventually(90, || {
        data = super::sensor_data(&node.ironic.log(), "redfish", &node.uuid).filter(|d| {
            d["payload"]["payload"]["Fan"]
                .as_object()
                .is_some_and(|f| !f.is_empty())
        });
        data.is_some()
    });
    assert!(
        ok,
        "no redfish sensor data with fans for {} in Ironic's log:\n{}\nshim log:\n{}",
        node.uuid,
        node.ironic
            .log()
            .lines()
            .filter(|l| !l.contains("oslo.messaging.notification"))
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .join("\n"),
        s.bmc.server_log()
    );
    let data = data.unwrap();
    let sensors = &data["payload"]["payload"];
    assert_eq!(
        data["payload"]["node_name"], "ironic-redfish-sensors",
        "{data:#}"
    );
    // The same sensors as the service's Thermal and Power, keyed `MemberId@chassis`.
    let thermal = redfish_get(redfish_port, &state, "/redfish/v1/Chassis/node1/Thermal");
    let power = redfish_get(redfish_port, &state, "/redfish/v1/Chassis/node1/Power");
    let fans = sensors["Fan"].as_object().expect("fans");
    assert_eq!(
        fans.len(),
        thermal["Fans"].as_array().unwrap().len(),
        "{sensors:#}"
    );
    for (name, fan) in fans {
        assert!(name.ends_with("@node1"), "{name}");
        assert!(reading(fan, "reading") > 0.0, "{fan:#}");
        assert_eq!(fan["reading_units"], "RPM", "{fan:#}");
    }
    let temps = sensors["Temperature"].as_object().expect("temperatures");
    assert_eq!(
        temps.len(),
        thermal["Temperatures"].as_array().unwrap().len(),
        "{sensors:#}"
    );
    for t in temps.values() {
        let c = reading(t, "reading_celsius");
        assert!((1.0..120.0).contains(&c), "{t:#}");
    }
    let supplies = sensors["Power"].as_object().expect("power supplies");
    assert!(!supplies.is_empty(), "{sensors:#}");
    assert_eq!(
        supplies.len(),
        power["PowerSupplies"].as_array().unwrap().len(),
        "{sensors:#}"
    );
    for (name, p) in supplies {
        assert!(name.ends_with(":Power@node1"), "{name}");
        assert!(
            p["state"]
                .as_str()
                .is_some_and(|st| st.eq_ignore_ascii_case("enabled")),
            "{p:#}"
        );
    }
    // Sushy did not retry a refused query (it logs a warning per try, with the error's id).
    let log = node.ironic.log();
    assert!(
        !log.lines().any(|l| l.contains("QueryNotSupported")),
        "{log}"
    );
}

/// `GET url` with curl (`args` before it): the status and the body.
fn curl_get(url: &str, args: &[&str]) -> (u16, Vec<u8>) {
    let curl = test_support::require("curl", "curl");
    let out = std::process::Command::new(curl)
        .args(["-sS", "--max-time", "30", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .expect("run curl");
    let mut body = out.stdout;
    let end = body.iter().rposition(|b| *b == b'\n').unwrap_or(0);
    let status = String::from_utf8_lossy(&body[end..])
        .trim()
        .parse()
        .unwrap_or(0);
    body.truncate(end);
    (status, body)
}

/// A resource of the shim's Redfish service as Ironic's user `operator` reads it, over TLS
/// verified with the shim's certificate.
fn redfish_get(port: u16, state: &std::path::Path, path: &str) -> Value {
    let cert = state.join("redfish-cert.pem").display().to_string();
    let user = format!("operator:{OPERATOR_PASSWORD}");
    let url = format!("https://localhost:{port}{path}");
    let (status, body) = curl_get(&url, &["--cacert", &cert, "-u", &user]);
    assert_eq!(
        status,
        200,
        "GET {path}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

#[test]
fn ironic_deploys_a_redfish_virtual_media_node_from_an_iso_and_undeploys_it() {
    let iso = test_support::netboot::ipxe_iso();
    // The ISO's own server (Range-capable, as a BMC reading an ISO needs), where Ironic fetches it.
    let images = NetbootServer::start(vec![("ipxe.iso".into(), iso.clone())]);
    let boot_iso = images.url("/files/ipxe.iso");
    let (s, redfish_port, state) = served_with_redfish();
    // The how-to's node, which is what Metal3 creates for a `redfish-virtualmedia://` host with
    // a `live-iso` image: its driver_info plus `force_persistent_boot_device`, the ramdisk
    // deploy, `instance_info/boot_iso` and the boot mode (`bootMode: UEFI`, its default).
    let mut info = redfish_driver_info(redfish_port, &state);
    info.push("force_persistent_boot_device=Default".to_string());
    let node = Node::create_with(
        "redfish",
        "ironic-vmedia",
        &info,
        &[
            "--boot-interface",
            "redfish-virtual-media",
            "--deploy-interface",
            "ramdisk",
            "--property",
            "capabilities=boot_mode:uefi",
        ],
    );
    node.run(
        &["set"],
        &["--instance-info", &format!("boot_iso={boot_iso}")],
    );
    node.assert_valid(&["power", "management", "boot", "deploy"]);

    // enroll -> manageable -> available -> active: the ramdisk deploy powers the machine off,
    // fetches the ISO and publishes it under its HTTP root, ejects and inserts the virtual CD,
    // sets a persistent CD boot and powers the machine on.
    node.deploy_to_active();
    let fetched = images.requests();
    assert!(
        fetched
            .iter()
            .any(|r| r.method == "GET" && r.path == "/files/ipxe.iso" && r.status == 200),
        "Ironic did not fetch the ISO: {fetched:?}"
    );
    let published = format!("{}/redfish/boot-{}.iso", node.ironic.http_url, node.uuid);
    let (status, body) = curl_get(&published, &[]);
    assert_eq!(status, 200, "{published}");
    assert!(
        body == iso,
        "{published} is not {}",
        test_support::netboot::IPXE_ISO
    );

    // The shim's side: the virtual CD holds what Ironic inserted, the CD boot is persistent,
    // the machine is on and booted it.
    let cd = redfish_get(
        redfish_port,
        &state,
        "/redfish/v1/Systems/node1/VirtualMedia/Cd",
    );
    assert_eq!(cd["Image"], published.as_str(), "{cd:#}");
    assert_eq!(cd["Inserted"], true, "{cd:#}");
    assert_eq!(cd["ConnectedVia"], "URI", "{cd:#}");
    let system = redfish_get(redfish_port, &state, "/redfish/v1/Systems/node1");
    assert_eq!(
        system["Boot"]["BootSourceOverrideTarget"], "Cd",
        "{system:#}"
    );
    assert_eq!(
        system["Boot"]["BootSourceOverrideEnabled"], "Continuous",
        "{system:#}"
    );
    assert_eq!(
        system["Boot"]["BootSourceOverrideMode"], "UEFI",
        "{system:#}"
    );
    let flags = admin(&s.bmc, "chassis bootparam get 5");
    assert!(flags.contains("Force Boot from CD/DVD"), "{flags}");
    assert!(
        flags.contains("Options apply to all future boots"),
        "{flags}"
    );
    assert_eq!(s.bmc_json("node1")["power"]["state"], "on");
    let booted = format!("Booting from virtual media CD {published}");
    let console = || {
        s.http("GET", "/bmcs/node1/console", Some(ADMIN_TOKEN), "")
            .1
    };
    assert!(
        eventually(20, || console().contains(&booted)),
        "{}",
        console()
    );
    // In the SEL: the CD inserted, then the power on.
    let log = sel(&s.bmc);
    let inserted = log
        .rfind("Virtual Media | Device Installed | Asserted")
        .expect(&log);
    let up = log.rfind("Initiated by power up").expect(&log);
    assert!(inserted < up, "the CD inserted before the power on:\n{log}");
    let audit = s.audit();
    let insert = audit
        .iter()
        .rfind(|r| r["command"] == "InsertMedia")
        .unwrap_or_else(|| panic!("no InsertMedia in {audit:#?}"));
    assert_eq!(insert["protocol"], "redfish", "{insert}");
    assert_eq!(insert["user"], "operator", "{insert}");
    assert!(insert.to_string().contains(&published), "{insert}");
    // The deploy as the shim carried it out, in order: off, insert, CD boot (persistent, EFI), on.
    let calls: Vec<&str> = audit
        .iter()
        .filter(|r| r["outcome"] == "done")
        .filter_map(|r| r["call"].as_str())
        .collect();
    let at = |want: &str| {
        calls
            .iter()
            .rposition(|c| c.starts_with(want))
            .unwrap_or_else(|| panic!("no {want:?} in {calls:#?}"))
    };
    let order = [
        at("power off"),
        at("insert media Cd"),
        at("set boot override cdrom (persistent, efi)"),
        at("power on"),
    ];
    assert!(order.is_sorted(), "{calls:#?}");

    // active -> deleting -> available (automated cleaning off: cleaning needs Ironic's agent,
    // which this ISO is not): the machine is powered off, the CD ejected, the ISO unpublished.
    node.run(&["undeploy"], &["--wait", "120"]);
    let shown = node.show();
    assert_eq!(shown["provision_state"], "available", "{shown:#}");
    assert_eq!(shown["power_state"], "power off", "{shown:#}");
    assert_eq!(s.bmc_json("node1")["power"]["state"], "off");
    let cd = redfish_get(
        redfish_port,
        &state,
        "/redfish/v1/Systems/node1/VirtualMedia/Cd",
    );
    assert_eq!(cd["Inserted"], false, "{cd:#}");
    wait_sel(&s.bmc, "Virtual Media | Device Installed | Deasserted", 1);
    assert!(
        s.audit().iter().any(|r| r["command"] == "EjectMedia"
            && r["protocol"] == "redfish"
            && r["user"] == "operator"),
        "{:#?}",
        s.audit()
    );
    assert_eq!(curl_get(&published, &[]).0, 404, "{published} still served");
}
