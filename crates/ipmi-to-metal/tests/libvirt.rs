//! The libvirt backend end to end: the real binary drives throwaway QEMU (TCG) domains of the
//! system libvirtd (test-support's harness starts it), with ipmitool (lanplus and lan) and
//! FreeIPMI. One domain boots several times (each boot costs CPU on a small CI machine): a
//! netboot that runs an iPXE script from a loopback HTTP server, reverting to the marker disk
//! after that one boot, seen on its serial log and through Serial over LAN (ipmitool, then
//! ipmiconsole), keys typed into the iPXE shell, an NMI seen by the disk's boot code. The other
//! tests use domains that never start.

mod common;

use common::tty::{admin_console, Tty};
use common::*;
use std::time::Duration;
use test_support::libvirt::{BootScript, Domain, DomainConfig, NMI_MARKER};

const BOOT: Duration = Duration::from_secs(180);

fn libvirt_bmc(port: u16, domain: &Domain) -> Bmc {
    let section = format!("[bmc.libvirt]\ndomain = \"{}\"\n", domain.name());
    Bmc::start_config(port, &config_with_backend(port, "libvirt", &section))
}

/// Types `line` into SOL a few keys at a time, each group once the guest echoed the one before,
/// then Enter. The guest's firmware reads the serial port into SeaBIOS's keyboard buffer
/// (`<bios useserial='yes'>`), which holds 15 keys: a whole line typed at once into a machine
/// that TCG slows down lost the keys after the 15th (seen: `set typed TYPED typed}-END`), the
/// shim having written all of them to the console in one write.
fn type_as_a_person(tty: &Tty, line: &str) {
    let mut echoed = String::new();
    for group in line.as_bytes().chunks(8) {
        let group = std::str::from_utf8(group).expect("ASCII");
        tty.type_text(group);
        echoed.push_str(group);
        tty.wait_for(&echoed, 30);
    }
    tty.line("");
}

/// ipmitool over lanplus as the administrator; its output, or a panic with the server's log.
fn ok(bmc: &Bmc, args: &str) -> String {
    let r = admin_run(bmc, args);
    if !r.ok {
        // What the server says of it may come once its backend call ends.
        std::thread::sleep(std::time::Duration::from_secs(10));
    }
    assert!(r.ok, "{args}: {}\n{}", r.all(), bmc.server_log());
    r.stdout
}

/// Waits for `text` on the domain's serial log after byte `from`; on failure the server's log
/// is printed too.
fn serial(domain: &Domain, bmc: &Bmc, text: &str, from: usize) -> usize {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        domain.wait_serial(text, from, BOOT)
    }));
    r.unwrap_or_else(|e| {
        eprintln!("server log:\n{}", bmc.server_log());
        std::panic::resume_unwind(e)
    })
}

/// The first `<boot dev>` of the domain's persistent definition.
fn first_boot_dev(domain: &Domain) -> String {
    let xml = domain.inactive_xml();
    let at = xml.find("<boot dev='").expect("a boot order") + "<boot dev='".len();
    xml[at..].split('\'').next().unwrap().to_string()
}

#[test]
fn power_boot_device_and_console_of_a_booting_domain() {
    let script = BootScript::serve("#!ipxe\necho NETBOOT-SCRIPT-RAN\nshell\n");
    let domain = Domain::define(&DomainConfig {
        name: "power".into(),
        disk_marker: Some("DISK-BOOTED".into()),
        boot_file: Some(script.url()),
        ..DomainConfig::default()
    });
    // Below 32768: ipmiconsole refuses higher ports.
    let port = low_free_port();
    let bmc = libvirt_bmc(port, &domain);
    assert_eq!(
        ok(&bmc, "chassis power status").trim(),
        "Chassis Power is off"
    );
    let status = freeipmi(
        &bmc,
        "ipmi-chassis",
        "admin",
        ADMIN_PASSWORD,
        &["--get-status"],
    );
    assert!(
        status
            .all()
            .contains("System Power                        : off"),
        "{}",
        status.all()
    );

    // Next boot from the network, over IPMI 1.5: the definition's boot order says so.
    let lan = ipmitool(
        &bmc,
        "lan",
        &[],
        "admin",
        ADMIN_PASSWORD,
        "chassis bootdev pxe",
    );
    assert!(lan.ok, "{}\n{}", lan.all(), bmc.server_log());
    assert_eq!(first_boot_dev(&domain), "network");
    let param = ok(&bmc, "chassis bootparam get 5");
    assert!(param.contains("Force PXE"), "{param}");
    assert!(param.contains("Options apply to only next boot"), "{param}");

    // Serial over LAN attached before the power-on sees the firmware from the start.
    let tty = admin_console(&bmc, "sol");
    let from = domain.serial_len();
    ok(&bmc, "chassis power on");
    domain.wait_state("running", Duration::from_secs(30));
    let after_script = serial(&domain, &bmc, "NETBOOT-SCRIPT-RAN", from);
    assert!(script.fetches() >= 1);
    tty.wait_for("NETBOOT-SCRIPT-RAN", BOOT.as_secs());
    // The override was for one boot: the order is back to the disk.
    assert_eq!(first_boot_dev(&domain), "hd");
    let param = ok(&bmc, "chassis bootparam get 5");
    assert!(
        param.contains("Force Boot from default Hard-Drive"),
        "{param}"
    );
    assert!(
        param.contains("Options apply to all future boots"),
        "{param}"
    );

    // Keys typed into SOL reach the iPXE shell, which answers.
    serial(&domain, &bmc, "iPXE>", after_script);
    type_as_a_person(&tty, "set typed TYPED && echo VALUE-${typed}-END");
    tty.wait_for("VALUE-TYPED-END", 30);
    assert!(domain.serial_text().contains("VALUE-TYPED-END"));

    // A reset boots the disk now (the boot order changed since the domain started: it is
    // started again so that the new order applies).
    let from = domain.serial_len();
    ok(&bmc, "chassis power reset");
    let booted = serial(&domain, &bmc, "DISK-BOOTED", from);
    assert!(
        !test_support::console_text::plain(&domain.serial_text()[from..])
            .contains("NETBOOT-SCRIPT-RAN")
    );

    // Diagnostic interrupt: the disk's boot code prints it. The SOL session follows the
    // domain across its restart, checked by what the machine prints after it: text printed
    // while the console stream reattaches to the new QEMU process is missed (the reset's
    // destroy ends the stream; seen for the disk's boot marker, and for an NMI's marker sent
    // 0.5 s after the restart), so the interrupt is sent again until SOL shows its marker.
    let mut sent = 0;
    while !tty.screen().contains(NMI_MARKER) {
        assert!(sent < 10, "no {NMI_MARKER} on SOL after {sent} NMIs");
        ok(&bmc, "chassis power diag");
        sent += 1;
        serial(&domain, &bmc, NMI_MARKER, booted);
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while !tty.screen().contains(NMI_MARKER) && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    tty.line("");
    tty.type_text("~.");
    tty.wait_for("[exited", 10);

    // ipmiconsole, over the same console: an NMI from FreeIPMI's ipmipower shows in it.
    let tool = require("ipmiconsole", "freeipmi-tools");
    let conf = bmc.freeipmi_conf("admin", ADMIN_PASSWORD);
    let console = Tty::start(
        bmc.dir.path(),
        "ipmiconsole",
        &format!(
            "timeout --foreground 600 {} --config-file {} -h 127.0.0.1:{}",
            tool.display(),
            conf.display(),
            bmc.port
        ),
        &[],
    );
    console.wait_for("[SOL established]", 20);
    let diag = freeipmi(&bmc, "ipmipower", "admin", ADMIN_PASSWORD, &["--pulse"]);
    assert!(diag.all().contains("ok"), "{}", diag.all());
    console.wait_for(NMI_MARKER, BOOT.as_secs());
    console.type_text("&.");
    console.wait_for("[exited 0]", 10);

    // Soft off asks the guest (ACPI power button): this one has no OS to honour it, so it keeps
    // running, as a real machine would; off is immediate; cycle from off powers on.
    ok(&bmc, "chassis power soft");
    assert_eq!(domain.state(), "running");
    let off = ipmitool(
        &bmc,
        "lan",
        &[],
        "admin",
        ADMIN_PASSWORD,
        "chassis power off",
    );
    assert!(off.ok, "{}", off.all());
    domain.wait_state("shut off", Duration::from_secs(30));
    assert_eq!(
        ok(&bmc, "chassis power status").trim(),
        "Chassis Power is off"
    );
    let reset = admin_run(&bmc, "chassis power reset");
    assert!(!reset.ok, "reset of a shut-off domain must be refused");
    let from = domain.serial_len();
    ok(&bmc, "chassis power cycle");
    serial(&domain, &bmc, "DISK-BOOTED", from);
    assert_eq!(domain.state(), "running");

    // Persistent: kept across boots, and read back as such.
    ok(&bmc, "chassis bootdev pxe options=persistent");
    assert_eq!(first_boot_dev(&domain), "network");
    ok(&bmc, "chassis power off");
    domain.wait_state("shut off", Duration::from_secs(30));
    ok(&bmc, "chassis power on");
    domain.wait_state("running", Duration::from_secs(30));
    assert_eq!(first_boot_dev(&domain), "network");
    let param = ok(&bmc, "chassis bootparam get 5");
    assert!(param.contains("Force PXE"), "{param}");
    assert!(
        param.contains("Options apply to all future boots"),
        "{param}"
    );
    ok(&bmc, "chassis power off");
    domain.wait_state("shut off", Duration::from_secs(30));
    let log = bmc.server_log();
    assert!(log.contains("power action through libvirt"), "{log}");
}

/// Whether the process `pid` has libvirt's client library mapped.
fn maps_libvirt(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .expect("the server's memory map")
        .contains("/libvirt.so.0")
}

/// libvirt (and its ~50 libraries: 10.7 MB resident) is loaded by the first libvirt call, not
/// at start: a fleet without a libvirt BMC never maps it.
#[test]
fn libvirt_is_loaded_by_the_first_libvirt_call_only() {
    let sim = Bmc::start();
    assert!(ok(&sim, "chassis power status").contains("Chassis Power is"));
    assert!(!maps_libvirt(sim.pid()), "a sim-only server mapped libvirt");

    let domain = Domain::define(&DomainConfig {
        name: "lazy".into(),
        ..DomainConfig::default()
    });
    let port = free_port();
    let bmc = libvirt_bmc(port, &domain);
    assert!(ok(&bmc, "chassis power status").contains("Chassis Power is off"));
    assert!(
        maps_libvirt(bmc.pid()),
        "the libvirt call did not load libvirt"
    );
}

#[test]
fn fru_and_guid_come_from_the_domain() {
    let domain = Domain::define(&DomainConfig {
        name: "fru".into(),
        sysinfo: Some(
            "<system><entry name='manufacturer'>Acme Virtual</entry><entry name='serial'>SER-77</entry></system>".into(),
        ),
        ..DomainConfig::default()
    });
    let port = free_port();
    let bmc = libvirt_bmc(port, &domain);
    let fru = admin(&bmc, "fru print 0");
    assert!(fru.contains("Acme Virtual"), "{fru}");
    assert!(fru.contains("SER-77"), "{fru}");
    assert!(fru.contains(domain.name()), "{fru}");
    let guid = admin(&bmc, "mc guid");
    assert!(guid.to_lowercase().contains(domain.uuid()), "{guid}");
}

#[test]
fn libvirtd_restarted_under_a_running_shim() {
    let domain = Domain::define(&DomainConfig {
        name: "restart".into(),
        ..DomainConfig::default()
    });
    let port = free_port();
    let bmc = libvirt_bmc(port, &domain);
    assert_eq!(
        admin(&bmc, "chassis power status").trim(),
        "Chassis Power is off"
    );
    {
        let _stopped = domain.stop_libvirtd();
        // While libvirtd is away the request ends with an error completion code, in time.
        let r = admin_run(&bmc, "chassis power status");
        assert!(!r.ok, "{}", r.all());
        assert!(
            r.all().contains("Unspecified error") || r.all().contains("Timeout"),
            "{}",
            r.all()
        );
        let r = admin_run(&bmc, "chassis power on");
        assert!(!r.ok, "{}", r.all());
    }
    // Back: the backend connects again on its own.
    assert!(
        eventually(20, || admin_run(&bmc, "chassis power status")
            .stdout
            .contains("Chassis Power is off")),
        "{}",
        bmc.server_log()
    );
    assert!(
        bmc.server_log().contains("connecting again")
            || bmc.server_log().contains("connected to libvirt")
    );
}
