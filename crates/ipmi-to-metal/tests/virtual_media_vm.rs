//! A real machine boots virtual media through the shim: a QEMU virtual machine (TCG, Debian's
//! iPXE boot ROM) on QEMU's user-mode network, powered through the command backend, netboots
//! its provider's custom iPXE URL (the test-support netboot server plays a provider with that
//! feature, driven by the http backend's `insert_media`/`eject_media` templates), which chains
//! the shim's iPXE endpoint. After an insert of Debian's `ipxe.iso` (served with Range
//! requests), `chassis bootdev cdrom` and a reset, the VM fetches its script and `sanboot`s the
//! ISO, as its serial console shows; after the eject, the next boot does not: it boots its disk.
//! And the same machine booted by Ironic's redfish-virtual-media sequence with `sushy` through
//! the shim's Redfish service.

mod common;
use common::admin::*;
use common::*;
use test_support::netboot::NetbootServer;
use test_support::qemu::{QemuVm, DISK_MARKER};

fn config(port: u16, vm: &QemuVm, net: &NetbootServer, ipxe_port: u16) -> String {
    let base = net.url("/provider");
    format!(
        r#"[[bmc]]
name = "vm1"
listen = "127.0.0.1:{port}"
backend = "command"

{command}
[bmc.http]
base_url = "{base}"
allow_http = true
auth = "none"
server_id = "vm1"

[bmc.http.boot]
method = "PUT"
path = "/{{server_id}}/boot"
json = {{ device = "{{boot_device}}" }}
devices = {{ pxe = "pxe", disk = "disk", none = "none" }}

[bmc.http.insert_media]
method = "PUT"
path = "/{{server_id}}/ipxe"
json = {{ ipxe_url = "{{ipxe_url}}", image_url = "{{image_url}}" }}

[bmc.http.eject_media]
method = "DELETE"
path = "/{{server_id}}/ipxe"

[bmc.routes]
boot = "http"
media = "http"

[[bmc.users]]
name = "admin"
password_file = "admin.pass"
privilege = "administrator"

[ipxe]
listen = "127.0.0.1:{ipxe_port}"
public_url = "http://10.0.2.2:{ipxe_port}"
"#,
        command = vm.command_table(),
    )
}

/// [`config`] with a Redfish service on `rf` too.
fn config_with_redfish(
    port: u16,
    vm: &QemuVm,
    net: &NetbootServer,
    ipxe_port: u16,
    rf: u16,
) -> String {
    format!(
        "{}\n[redfish]\nlisten = \"127.0.0.1:{rf}\"\nallow_http = true\n",
        config(port, vm, net, ipxe_port)
    )
}

#[test]
fn sushy_boots_a_qemu_vm_from_the_inserted_iso_as_ironic_does() {
    // A missing client fails the test before a VM starts.
    require_python_module("sushy");
    let iso = test_support::netboot::ipxe_iso();
    let net = NetbootServer::start(vec![("ipxe.iso".into(), iso)]);
    let vm = QemuVm::new(&net.guest_url("/provider/vm1/boot.ipxe"));
    let (port, ipxe_port, rf) = (
        free_port(),
        test_support::free_tcp_port(),
        test_support::free_tcp_port(),
    );
    let s = Served::start_bmcs(port, &config_with_redfish(port, &vm, &net, ipxe_port, rf));
    wait_listening(&s.bmc, rf);
    let image = net.guest_url("/files/ipxe.iso");
    s.sushy_vmedia(
        &format!("http://127.0.0.1:{rf}"),
        "/redfish/v1/Systems/vm1",
        &image,
    );
    // The reset of a machine that is off powers it on; it sanboots the ISO.
    let (seen, text) = vm.wait_serial(0, "iPXE ISO boot image", 180);
    assert!(
        seen,
        "the ISO did not boot:\n{text}\n{}",
        s.bmc.server_log()
    );
    assert!(text.contains("Booting from SAN device"), "{text}");
    assert!(admin(&s.bmc, "chassis power off").contains("Down/Off"));
    assert!(eventually(10, || !vm.running()));
}

#[test]
fn a_qemu_vm_sanboots_the_inserted_iso_and_not_after_the_eject() {
    let iso = test_support::netboot::ipxe_iso();
    let net = NetbootServer::start(vec![("ipxe.iso".into(), iso)]);
    let vm = QemuVm::new(&net.guest_url("/provider/vm1/boot.ipxe"));
    let (port, ipxe_port) = (free_port(), test_support::free_tcp_port());
    let s = Served::start_bmcs(port, &config(port, &vm, &net, ipxe_port));

    // Power on: nothing inserted, the provider's netboot exits and the disk boots.
    assert!(admin(&s.bmc, "chassis power on").contains("Up/On"));
    let (seen, text) = vm.wait_serial(0, DISK_MARKER, 120);
    assert!(
        seen,
        "the disk did not boot:\n{text}\n{}",
        s.bmc.server_log()
    );
    assert!(admin(&s.bmc, "chassis power status").contains("is on"));

    let image = net.guest_url("/files/ipxe.iso");
    let (status, body) = s.media(
        "vm1",
        "Cd",
        "insert",
        &format!("{{\"image\": \"{image}\"}}"),
    );
    assert_eq!(status, 200, "{body}\n{}", s.bmc.server_log());
    let custom = net
        .custom_ipxe("vm1")
        .expect("the provider got the script URL");
    assert!(
        custom.starts_with(&format!("http://10.0.2.2:{ipxe_port}/ipxe/vm1/")),
        "{custom}"
    );

    // bootdev cdrom and a reset: the VM fetches its script and sanboots the ISO.
    assert!(admin(&s.bmc, "chassis bootdev cdrom").contains("cdrom"));
    assert_eq!(
        net.boot_device("vm1").as_deref(),
        Some("pxe"),
        "the provider netboots it"
    );
    let from = vm.serial_text().len();
    assert!(admin(&s.bmc, "chassis power reset").contains("Reset"));
    let (seen, text) = vm.wait_serial(from, "iPXE ISO boot image", 180);
    assert!(
        seen,
        "the ISO did not boot:\n{text}\n{}",
        s.bmc.server_log()
    );
    assert!(
        text.contains("ipmi-to-metal: booting virtual media CD"),
        "{text}"
    );
    assert!(text.contains("Booting from SAN device"), "{text}");
    let ranged = net
        .requests()
        .iter()
        .filter(|r| r.path == "/files/ipxe.iso" && r.range.is_some() && r.status == 206)
        .count();
    assert!(
        ranged > 0,
        "sanboot read the ISO with Range requests: {:?}",
        net.requests()
    );
    // Next boot only: used by that fetch.
    assert!(eventually(10, || admin(&s.bmc, "chassis bootparam get 5")
        .contains("Boot Flag Invalid")));

    // Eject, and bootdev cdrom again: the next boot does not sanboot, it boots the disk.
    let (status, body) = s.media("vm1", "Cd", "eject", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(net.custom_ipxe("vm1"), None);
    admin(&s.bmc, "chassis bootdev cdrom");
    let from = vm.serial_text().len();
    assert!(admin(&s.bmc, "chassis power reset").contains("Reset"));
    let (seen, text) = vm.wait_serial(from, DISK_MARKER, 120);
    assert!(seen, "the disk did not boot after the eject:\n{text}");
    assert!(!text.contains("Booting from SAN device"), "{text}");

    assert!(admin(&s.bmc, "chassis power off").contains("Down/Off"));
    assert!(eventually(10, || !vm.running()));
}
