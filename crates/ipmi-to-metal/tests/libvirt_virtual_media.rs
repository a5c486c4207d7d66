//! Virtual media of the libvirt backend end to end: a throwaway QEMU (TCG) domain of the shared
//! libvirtd (test-support's harness) boots Debian's `ipxe.iso`, served over HTTP on loopback,
//! from its CD-ROM drive. The backend downloads the image, uploads it into a storage pool of
//! the test's own and puts that volume into the domain's CD-ROM (a drive the domain did not
//! have: added to its definition). Ironic's redfish-virtual-media sequence with `sushy`
//! (eject, insert, boot `Cd` once, reset) boots it, as SeaBIOS and the ISO's own text on the
//! serial console (logged by libvirt) show; after an eject the next boot does not, even with
//! `bootdev cdrom`; an insert through the admin API with `ipmitool chassis bootdev cdrom` and a
//! reset boots it again, for one boot only: the reset after that boots the disk.

mod common;

use common::admin::*;
use common::*;
use std::time::Duration;
use test_support::libvirt::{Domain, DomainConfig, StoragePool};
use test_support::netboot::NetbootServer;

const BOOT: Duration = Duration::from_secs(180);
const DISK: &str = "LIBVIRT-MEDIA-DISK-BOOTED";
/// What the ISO's loader prints when it runs.
const ISO: &str = "iPXE ISO boot image";

/// Waits for `text` on the domain's serial log after byte `from`; the text from `from` to just
/// after it, terminal controls left out (as `text` was looked for). On failure the server's log is printed too.
fn serial(domain: &Domain, s: &Served, text: &str, from: usize) -> String {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        domain.wait_serial(text, from, BOOT)
    }));
    let end = r.unwrap_or_else(|e| {
        eprintln!("server log:\n{}", s.bmc.server_log());
        std::panic::resume_unwind(e)
    });
    test_support::console_text::plain(&domain.serial_text()[from..end])
}

/// The sources of the CD-ROM drives of the domain's persistent definition.
fn cdrom_sources(domain: &Domain) -> Vec<Option<String>> {
    backend_libvirt::cdrom_xml::cdroms(&domain.inactive_xml())
        .expect("the definition")
        .into_iter()
        .map(|c| c.source)
        .collect()
}

#[test]
fn a_libvirt_domain_boots_the_inserted_iso_from_its_cdrom_once() {
    // A missing client fails the test before a domain is defined.
    require_python_module("sushy");
    let iso = test_support::netboot::ipxe_iso();
    let net = NetbootServer::start(vec![("ipxe.iso".into(), iso.clone())]);
    let domain = Domain::define(&DomainConfig {
        name: "media".into(),
        disk_marker: Some(DISK.into()),
        ..DomainConfig::default()
    });
    let pool = StoragePool::create(&domain);
    let (port, rf) = (free_port(), test_support::free_tcp_port());
    let section = format!(
        "[bmc.libvirt]\ndomain = \"{}\"\nmedia_pool = \"{}\"\n",
        domain.name(),
        pool.name()
    );
    let config = format!(
        "{}\n[redfish]\nlisten = \"127.0.0.1:{rf}\"\nallow_http = true\n",
        config_with_backend(port, "libvirt", &section)
    );
    let s = Served::start_bmcs(port, &config);
    wait_listening(&s.bmc, rf);
    assert!(
        cdrom_sources(&domain).is_empty(),
        "no CD-ROM drive to begin with"
    );

    // Powered on, it boots its disk.
    assert!(admin(&s.bmc, "chassis power on").contains("Up/On"));
    serial(&domain, &s, DISK, 0);

    // Ironic's sequence through the Redfish service; the image is fetched by the shim.
    let image = net.url("/files/ipxe.iso");
    let from = domain.serial_len();
    s.sushy_vmedia(
        &format!("http://127.0.0.1:{rf}"),
        "/redfish/v1/Systems/node1",
        &image,
    );
    // The volume in the pool is the image, byte for byte, and the domain's new drive has it.
    let files = pool.files();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].starts_with(&format!("ipmi-to-metal-cd-{}-", domain.uuid())),
        "{files:?}"
    );
    let volume = pool.dir().join(&files[0]);
    assert!(
        std::fs::read(&volume).unwrap() == iso,
        "the volume is not the image"
    );
    assert_eq!(
        cdrom_sources(&domain),
        [Some(volume.to_string_lossy().into_owned())]
    );
    // The download was spooled in the state directory, in a file unlinked from the start.
    let spool = s.bmc.dir.path().join("bmc.toml.state/libvirt-media");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&spool).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        0,
        "nothing left in the spool"
    );
    let text = serial(&domain, &s, ISO, from);
    assert!(text.contains("Booting from DVD/CD"), "{text}");
    assert!(!text.contains(DISK), "{text}");
    // Once: the boot order is back to the disk after that boot.
    assert!(
        eventually(20, || admin(&s.bmc, "chassis bootparam get 5")
            .contains("Force Boot from default Hard-Drive")),
        "{}",
        s.bmc.server_log()
    );

    // Eject: the drive is empty and the volume gone; even asked to, the next boot cannot boot
    // the CD: it boots the disk.
    let (status, body) = s.media("node1", "Cd", "eject", "");
    assert_eq!(status, 200, "{body}\n{}", s.bmc.server_log());
    assert_eq!(cdrom_sources(&domain), [None]);
    assert!(pool.files().is_empty(), "{:?}", pool.files());
    assert!(admin(&s.bmc, "chassis bootdev cdrom").contains("cdrom"));
    let from = domain.serial_len();
    assert!(admin(&s.bmc, "chassis power reset").contains("Reset"));
    let text = serial(&domain, &s, DISK, from);
    assert!(!text.contains(ISO), "{text}");

    // The admin API's insert and ipmitool's bootdev cdrom (next boot only) and reset: the CD
    // boots, through the drive QEMU now has (changed live), then the disk again.
    let (status, body) = s.media(
        "node1",
        "Cd",
        "insert",
        &format!("{{\"image\": \"{image}\"}}"),
    );
    assert_eq!(status, 200, "{body}\n{}", s.bmc.server_log());
    let live = domain.virsh(&["dumpxml"]).expect("dumpxml");
    assert!(
        live.contains(&format!("{}/ipmi-to-metal-cd-", pool.dir().display())),
        "the running domain's CD-ROM has the medium:\n{live}"
    );
    assert!(admin(&s.bmc, "chassis bootdev cdrom").contains("cdrom"));
    let from = domain.serial_len();
    assert!(admin(&s.bmc, "chassis power reset").contains("Reset"));
    let text = serial(&domain, &s, ISO, from);
    assert!(!text.contains(DISK), "{text}");
    let from = domain.serial_len();
    assert!(admin(&s.bmc, "chassis power reset").contains("Reset"));
    let text = serial(&domain, &s, DISK, from);
    assert!(!text.contains(ISO), "booted the CD twice: {text}");

    // An image that is not there: refused, nothing left in the pool but the medium in.
    let missing = net.url("/files/nothing.iso");
    let (status, body) = s.media(
        "node1",
        "Cd",
        "insert",
        &format!("{{\"image\": \"{missing}\"}}"),
    );
    assert_ne!(status, 200, "{body}");
    assert!(body.to_string().contains("404"), "{body}");
    assert_eq!(pool.files().len(), 1, "{:?}", pool.files());

    assert!(admin(&s.bmc, "chassis power off").contains("Down/Off"));
    let (status, body) = s.media("node1", "Cd", "eject", "");
    assert_eq!(status, 200, "{body}");
    assert!(pool.files().is_empty(), "{:?}", pool.files());
}
