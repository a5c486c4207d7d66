//! The libvirt harness itself: a domain defined, started and booted from its marker disk; a
//! netboot fetching the loopback boot script; gone from libvirt once dropped.

use std::time::Duration;
use test_support::libvirt::{virsh, BootScript, Domain, DomainConfig};

#[test]
fn a_domain_boots_its_marker_disk_then_netboots_and_is_undefined_when_dropped() {
    let script = BootScript::serve("#!ipxe\necho HARNESS-SCRIPT-RAN\nshell\n");
    let domain = Domain::define(&DomainConfig {
        name: "harness".into(),
        disk_marker: Some("HARNESS-DISK".into()),
        boot_file: Some(script.url()),
        start: true,
        ..DomainConfig::default()
    });
    domain.wait_serial("HARNESS-DISK", 0, Duration::from_secs(120));
    assert_eq!(domain.state(), "running");
    assert_eq!(script.fetches(), 0, "a disk boot fetched the boot script");
    domain.virsh(&["destroy"]).expect("destroy");
    let xml = domain
        .inactive_xml()
        .replace("<boot dev='hd'/>", "<boot dev='network'/>");
    let path = std::env::temp_dir().join(format!("{}.xml", domain.name()));
    std::fs::write(&path, xml).expect("xml");
    virsh(&["define", path.to_str().expect("path")]).expect("redefine");
    let _ = std::fs::remove_file(&path);
    let from = domain.serial_len();
    domain.virsh(&["start"]).expect("start");
    domain.wait_serial("HARNESS-SCRIPT-RAN", from, Duration::from_secs(120));
    assert!(script.fetches() >= 1);
    let name = domain.name().to_string();
    drop(domain);
    let all = virsh(&["list", "--all", "--name"]).expect("list");
    assert!(!all.lines().any(|l| l == name), "{name} still defined");
}
