//! OpenStack Ironic (PyPI `ironic` 39, standalone; python-ironicclient's `baremetal` CLI) driving
//! sim BMCs through its `ipmi` hardware type, as docs/howto-ironic.md tells an operator to set it
//! up: the node's `driver_info` is the how-to's. Each test has its own BMC and node; the tests
//! share one Ironic ([`Ironic::shared`]). What Ironic reports is checked against the machine on
//! the shim's side: its power state, boot flags and SEL, read with ipmitool as the administrator.
//! Nodes of the `redfish` hardware type ([`redfish`]) drive the shim's Redfish service over
//! TLS, verifying the self-signed certificate the shim generated: power and boot device, and a
//! deploy with the `redfish-virtual-media` boot interface; the admin API, the Redfish resources,
//! the SEL and the audit log (protocol `redfish`) show what it did.

mod common;
/// The `redfish` hardware type's nodes, with the same shared Ironic.
#[path = "ironic/redfish.rs"]
mod redfish;
use common::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use test_support::{free_tcp_port, Ironic};

/// A node of the shared Ironic for a BMC, created as the how-to says (the `operator` account of
/// the test BMC, `ipmi_priv_level=OPERATOR`), with the serial console on `terminal_port`, the
/// deploy images and a port (its MAC) so that the boot and deploy interfaces validate.
struct Node {
    ironic: &'static Ironic,
    name: String,
    uuid: String,
}

/// The how-to's `driver_info` for the test BMC: its address and port, the `operator` account
/// and the privilege Ironic must ask for.
fn driver_info(bmc: &Bmc) -> Vec<String> {
    vec![
        "ipmi_address=127.0.0.1".to_string(),
        format!("ipmi_port={}", bmc.port),
        "ipmi_username=operator".to_string(),
        format!("ipmi_password={OPERATOR_PASSWORD}"),
        "ipmi_priv_level=OPERATOR".to_string(),
    ]
}

impl Node {
    /// A node of `driver` (a hardware type: `ipmi`, `redfish`) with `info` as its `driver_info`
    /// and `options` (more `baremetal node create` arguments).
    fn create_with(driver: &str, name: &str, info: &[String], options: &[&str]) -> Node {
        let ironic = Ironic::shared();
        let mut args = vec!["node", "create", "--driver", driver, "--name", name];
        args.extend(options);
        for i in info {
            args.extend(["--driver-info", i.as_str()]);
        }
        let created = ironic.baremetal_json(&args);
        Node {
            ironic,
            name: name.to_string(),
            uuid: created["uuid"].as_str().expect("a uuid").to_string(),
        }
    }

    /// The how-to's node: [`driver_info`], the console on `terminal_port`, the deploy images
    /// and a port (its MAC), so that every interface validates.
    fn create(bmc: &Bmc, name: &str, terminal_port: u16) -> Node {
        let (kernel, ramdisk) = Ironic::shared().images();
        let mut info = driver_info(bmc);
        info.extend([
            format!("ipmi_terminal_port={terminal_port}"),
            format!("deploy_kernel={kernel}"),
            format!("deploy_ramdisk={ramdisk}"),
        ]);
        let node = Node::create_with("ipmi", name, &info, &[]);
        // What the ramdisk deploy boots (its PXE configuration names them).
        let kernel = format!("kernel={kernel}");
        let ramdisk = format!("ramdisk={ramdisk}");
        node.run(
            &["set"],
            &["--instance-info", &kernel, "--instance-info", &ramdisk],
        );
        let mac = format!("02:00:00:00:{:02x}:{:02x}", bmc.port >> 8, bmc.port & 0xff);
        node.ironic
            .baremetal_ok(&["port", "create", &mac, "--node", &node.uuid]);
        node
    }

    fn show(&self) -> Value {
        self.ironic.baremetal_json(&["node", "show", &self.uuid])
    }

    /// enroll -> manageable -> available -> active, each step waited for; the node is then
    /// active and powered on.
    fn deploy_to_active(&self) {
        self.run(&["manage"], &["--wait", "60"]);
        self.run(&["provide"], &["--wait", "60"]);
        self.run(&["deploy"], &["--wait", "120"]);
        let shown = self.show();
        assert_eq!(shown["provision_state"], "active", "{shown:#}");
        assert_eq!(shown["power_state"], "power on", "{shown:#}");
    }

    /// `baremetal node COMMAND... NODE ARGS...` (`["boot", "device", "set"]`, `["pxe"]`).
    fn run(&self, command: &[&str], args: &[&str]) -> String {
        let mut all = vec!["node"];
        all.extend(command);
        all.push(&self.uuid);
        all.extend(args);
        let started = std::time::Instant::now();
        let out = self.ironic.baremetal_ok(&all);
        eprintln!(
            "{:5.1} s  baremetal {}",
            started.elapsed().as_secs_f64(),
            all.join(" ")
        );
        out
    }

    /// Waits for Ironic to report `field` as `want` (a string, or JSON such as `true`).
    fn wait_for(&self, field: &str, want: impl Into<Value>, secs: u64) {
        let want: Value = want.into();
        let mut last = Value::Null;
        let ok = eventually(secs, || {
            last = self.show();
            last[field] == want
        });
        assert!(
            ok,
            "node {}: {field} is not {want} after {secs} s: {last:#}",
            self.name
        );
    }

    /// The validation result of each interface: (interface, result, reason).
    fn validate(&self) -> Vec<(String, bool, String)> {
        let v = self
            .ironic
            .baremetal_json(&["node", "validate", &self.uuid]);
        v.as_array()
            .expect("a list")
            .iter()
            .map(|i| {
                (
                    i["Interface"].as_str().unwrap_or_default().to_string(),
                    i["Result"].as_bool().unwrap_or(false),
                    i["Reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    fn assert_valid(&self, interfaces: &[&str]) {
        let results = self.validate();
        for want in interfaces {
            let r = results.iter().find(|(i, _, _)| i == want);
            assert!(
                matches!(r, Some((_, true, _))),
                "{want} does not validate: {results:?}"
            );
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // An active node cannot be deleted; in maintenance it can, whatever its state.
        let _ = self
            .ironic
            .baremetal(&["node", "maintenance", "set", &self.uuid]);
        let _ = self.ironic.baremetal(&["node", "delete", &self.uuid]);
    }
}

/// The shim's SEL as ipmitool lists it.
fn sel(bmc: &Bmc) -> String {
    admin(bmc, "sel elist")
}

/// Waits until the SEL has `n` entries containing `what`.
fn wait_sel(bmc: &Bmc, what: &str, n: usize) {
    let mut last = String::new();
    let ok = eventually(30, || {
        last = sel(bmc);
        last.matches(what).count() >= n
    });
    assert!(ok, "the SEL has not {n} × {what:?}:\n{last}");
}

/// Sets the boot device through Ironic to persistent PXE, then to the disk for the next boot
/// only; each is read back through Ironic and checked in the shim's boot flags.
fn boot_device_pxe_then_disk(node: &Node, bmc: &Bmc) {
    node.run(&["boot", "device", "set"], &["pxe", "--persistent"]);
    let shown = node
        .ironic
        .baremetal_json(&["node", "boot", "device", "show", &node.uuid]);
    assert_eq!(shown["boot_device"], "pxe", "{shown}");
    assert_eq!(shown["persistent"], true, "{shown}");
    let flags = admin(bmc, "chassis bootparam get 5");
    assert!(flags.contains("Force PXE"), "{flags}");
    assert!(
        flags.contains("Options apply to all future boots"),
        "{flags}"
    );
    node.run(&["boot", "device", "set"], &["disk"]);
    let shown = node
        .ironic
        .baremetal_json(&["node", "boot", "device", "show", &node.uuid]);
    assert_eq!(shown["boot_device"], "disk", "{shown}");
    assert_eq!(shown["persistent"], false, "{shown}");
    let flags = admin(bmc, "chassis bootparam get 5");
    assert!(
        flags.contains("Force Boot from default Hard-Drive"),
        "{flags}"
    );
    assert!(flags.contains("Options apply to only next boot"), "{flags}");
}

#[test]
fn ironic_deploys_a_node_and_drives_power_boot_device_and_nmi_of_a_sim_bmc() {
    let bmc = Bmc::start();
    let node = Node::create(&bmc, "ironic-deploy", free_tcp_port());
    node.assert_valid(&["power", "management", "console", "boot", "deploy"]);

    // enroll -> manageable -> available -> active: the ramdisk deploy writes the PXE
    // configuration, sets the next boot to PXE and powers the machine on.
    node.deploy_to_active();
    let log = sel(&bmc);
    let pxe = log.find("User requested PXE boot").expect(&log);
    let up = log.rfind("Initiated by power up").expect(&log);
    assert!(pxe < up, "PXE asked for before the power on:\n{log}");
    assert!(log.contains("S0/G0: working"), "{log}");
    let flags = admin(&bmc, "chassis bootparam get 5");
    assert!(
        flags.contains("Boot Device Selector : Force PXE"),
        "{flags}"
    );

    // Power off, on and reboot, as Ironic sees them and as the machine is.
    node.run(&["power", "off"], &[]);
    node.wait_for("power_state", "power off", 60);
    assert_eq!(
        admin(&bmc, "chassis power status").trim(),
        "Chassis Power is off"
    );
    node.run(&["power", "on"], &[]);
    node.wait_for("power_state", "power on", 60);
    assert_eq!(
        admin(&bmc, "chassis power status").trim(),
        "Chassis Power is on"
    );
    let ups = sel(&bmc).matches("Initiated by power up").count();
    let offs = sel(&bmc).matches("Power off/down").count();
    node.run(&["reboot"], &[]);
    wait_sel(&bmc, "Initiated by power up", ups + 1);
    wait_sel(&bmc, "Power off/down", offs + 1);
    node.wait_for("power_state", "power on", 60);

    // The boot device, set and read back through Ironic, and as the machine holds it.
    boot_device_pxe_then_disk(&node, &bmc);

    // NMI: the machine gets a diagnostic interrupt, recorded with who asked.
    node.run(&["inject", "nmi"], &[]);
    wait_sel(&bmc, "NMI/Diag Interrupt", 1);
    assert!(
        bmc.server_log()
            .contains("action=diag who=user=\"operator\""),
        "{}",
        bmc.server_log()
    );
}

/// The last sensor data notification of `uuid` (a node of the hardware type `driver`: `ipmi`,
/// `redfish`) in Ironic's log, if one was sent.
fn sensor_data(log: &str, driver: &str, uuid: &str) -> Option<Value> {
    let event = format!("oslo.messaging.notification.hardware.{driver}.metrics");
    log.lines()
        .rev()
        .filter(|l| l.contains(&event))
        .filter(|l| l.contains(uuid))
        .filter_map(|l| l.split_once("] {").map(|(_, json)| format!("{{{json}")))
        .find_map(|json| serde_json::from_str::<Value>(&json).ok())
}

#[test]
fn ironic_sends_the_sensor_data_of_a_sim_bmc() {
    let bmc = Bmc::start();
    let node = Node::create(&bmc, "ironic-sensors", free_tcp_port());
    let mut data = None;
    let ok = eventually(60, || {
        data = sensor_data(&node.ironic.log(), "ipmi", &node.uuid);
        data.is_some()
    });
    assert!(ok, "no sensor data for {} in Ironic's log", node.uuid);
    let data = data.unwrap();
    let sensors = &data["payload"]["payload"];
    assert_eq!(data["payload"]["node_name"], "ironic-sensors", "{data:#}");
    let cpu = &sensors["Temperature"]["CPU Temp (0x1)"];
    let reading = cpu["Sensor Reading"]
        .as_str()
        .expect("a CPU temperature reading");
    assert!(reading.ends_with("degrees C"), "{cpu:#}");
    assert_eq!(cpu["Upper critical"], "95.000", "{cpu:#}");
    let fans = sensors["Fan"].as_object().expect("fans");
    assert!(
        fans.values().any(|f| f["Sensor Reading"]
            .as_str()
            .is_some_and(|r| r.ends_with("RPM"))),
        "{fans:#?}"
    );
    assert!(
        sensors["Voltage"]
            .as_object()
            .is_some_and(|v| !v.is_empty()),
        "{sensors:#}"
    );
    // The same sensors as the shim serves them.
    let shim = admin(&bmc, "sensor list");
    let cpu = shim
        .lines()
        .find(|l| l.starts_with("CPU Temp"))
        .expect(&shim);
    assert!(cpu.contains("95.000"), "{cpu}");
}

/// Collects what a TCP connection receives.
fn reader(mut s: std::net::TcpStream) -> Arc<Mutex<String>> {
    let seen = Arc::new(Mutex::new(String::new()));
    let into = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    seen
}

fn wait_text(seen: &Arc<Mutex<String>>, want: &str, secs: u64) {
    let ok = eventually(secs, || seen.lock().unwrap().contains(want));
    assert!(ok, "{want:?} not seen in:\n{}", seen.lock().unwrap());
}

#[test]
fn ironic_ipmitool_socat_console_reaches_the_sim_bmc_s_serial_console() {
    let bmc = Bmc::start();
    let terminal_port = free_tcp_port();
    let node = Node::create(&bmc, "ironic-console", terminal_port);
    node.run(&["console", "enable"], &[]);
    node.wait_for("console_enabled", true, 30);
    let console = node
        .ironic
        .baremetal_json(&["node", "console", "show", &node.uuid]);
    assert_eq!(console["console_info"]["type"], "socat", "{console}");
    assert_eq!(
        console["console_info"]["url"],
        format!("tcp://127.0.0.1:{terminal_port}"),
        "{console}"
    );

    // socat starts `ipmitool ... sol activate` for each connection.
    let mut stream = None;
    assert!(eventually(20, || {
        stream = std::net::TcpStream::connect(("127.0.0.1", terminal_port)).ok();
        stream.is_some()
    }));
    let mut stream = stream.unwrap();
    let seen = reader(stream.try_clone().unwrap());
    wait_text(&seen, "SOL Session operational", 30);
    // The console is taken: the shim has one SOL instance per BMC.
    assert_sol_taken(&bmc);

    // A reboot through Ironic: the machine's boot shows on the console, and its shell answers.
    node.run(&["reboot"], &[]);
    wait_text(&seen, "login:", 60);
    stream.write_all(b"root\r").unwrap();
    wait_text(&seen, "Password:", 10);
    stream.write_all(b"secret\r").unwrap();
    wait_text(&seen, "# ", 10);
    stream.write_all(b"uname -a\r").unwrap();
    wait_text(&seen, "Linux node1", 10);

    drop(stream);
    node.run(&["console", "disable"], &[]);
    node.wait_for("console_enabled", false, 30);
    // socat is gone with the console.
    assert!(eventually(20, || std::net::TcpStream::connect((
        "127.0.0.1",
        terminal_port
    ))
    .is_err()));
}

#[test]
fn ironic_takes_the_driver_info_metal3_gives_for_an_ipmi_address() {
    // What the baremetal-operator creates for `ipmi://127.0.0.1:PORT?privilegelevel=OPERATOR`
    // (pkg/hardwareutils/bmc/ipmi.go): the port as a string, the ipxe boot interface, no RAID.
    let bmc = Bmc::start();
    let node = Node::create_with(
        "ipmi",
        "metal3-node-0",
        &driver_info(&bmc),
        &["--boot-interface", "ipxe", "--raid-interface", "no-raid"],
    );
    let created = node.show();
    assert_eq!(created["driver_info"]["ipmi_priv_level"], "OPERATOR");
    assert_eq!(created["boot_interface"], "ipxe");
    node.assert_valid(&["power", "management"]);
    node.run(&["manage"], &["--wait", "60"]);
    node.run(&["power", "off"], &[]);
    node.wait_for("power_state", "power off", 60);
    assert_eq!(
        admin(&bmc, "chassis power status").trim(),
        "Chassis Power is off"
    );
    node.run(&["boot", "device", "set"], &["pxe"]);
    let flags = admin(&bmc, "chassis bootparam get 5");
    assert!(flags.contains("Force PXE"), "{flags}");
    node.run(&["power", "on"], &[]);
    node.wait_for("power_state", "power on", 60);
    let log = sel(&bmc);
    assert!(log.contains("User requested PXE boot"), "{log}");
    assert!(log.contains("Initiated by power up"), "{log}");
}
