//! End to end with ipmitool 1.8.19 (`-I lanplus` and `-I lan`) against the real binary on the sim.

mod common;
use common::*;

fn power_status(bmc: &Bmc) -> String {
    admin(bmc, "chassis power status").trim().to_string()
}

#[test]
fn lanplus_cipher_suites_and_ironic_power_status() {
    let bmc = Bmc::start();
    // Default negotiation (ipmitool picks 17, else 3), then forced suites; Ironic matches this line.
    for extra in [&[][..], &["-C", "3"], &["-C", "17"]] {
        let out = ipmitool(
            &bmc,
            "lanplus",
            extra,
            "admin",
            ADMIN_PASSWORD,
            "chassis power status",
        )
        .out();
        assert_eq!(out.trim(), "Chassis Power is on", "with {extra:?}");
    }
    let status = admin(&bmc, "chassis status");
    assert!(status.contains("System Power         : on"), "{status}");
}

#[test]
fn ipmi15_lan_interface_md5() {
    let bmc = Bmc::start();
    let out = ipmitool(
        &bmc,
        "lan",
        &[],
        "admin",
        ADMIN_PASSWORD,
        "chassis power status",
    )
    .out();
    assert_eq!(out.trim(), "Chassis Power is on");
    let out = ipmitool(
        &bmc,
        "lan",
        &[],
        "admin",
        ADMIN_PASSWORD,
        "chassis power off",
    )
    .out();
    assert!(out.contains("Down/Off"), "{out}");
    assert_eq!(power_status(&bmc), "Chassis Power is off");
}

#[test]
fn every_power_verb() {
    let bmc = Bmc::start();
    assert!(admin(&bmc, "chassis power off").contains("Down/Off"));
    assert_eq!(power_status(&bmc), "Chassis Power is off");
    // Cycle, reset, diag and soft need the machine on: 0xD5, as a real BMC answers.
    let r = admin_run(&bmc, "chassis power cycle");
    assert!(
        !r.ok && r.all().contains("Command not supported in present state"),
        "{}",
        r.all()
    );
    assert!(admin(&bmc, "chassis power on").contains("Up/On"));
    assert!(eventually(10, || power_status(&bmc) == "Chassis Power is on"));
    assert!(admin(&bmc, "chassis power cycle").contains("Cycle"));
    assert!(eventually(10, || power_status(&bmc) == "Chassis Power is on"));
    assert!(admin(&bmc, "chassis power reset").contains("Reset"));
    assert!(admin(&bmc, "chassis power diag").contains("Diag"));
    assert!(admin(&bmc, "chassis power soft").contains("Soft"));
    assert!(eventually(10, || power_status(&bmc) == "Chassis Power is off"));
    let log = bmc.server_log();
    for verb in ["off", "on", "cycle", "reset", "diag", "soft"] {
        assert!(
            log.contains(&format!("action={verb}")) && log.contains("user=\"admin\""),
            "no log line for {verb} with its user:\n{log}"
        );
    }
}

#[test]
fn boot_device_with_options_reads_back() {
    let bmc = Bmc::start();
    let out = admin(&bmc, "chassis bootdev pxe options=persistent,efiboot");
    assert!(out.contains("Set Boot Device to pxe"), "{out}");
    let get = admin(&bmc, "chassis bootparam get 5");
    assert!(get.contains("Boot parameter data: e004000000"), "{get}");
    assert!(get.contains("Options apply to all future boots"), "{get}");
    assert!(get.contains("BIOS EFI boot"), "{get}");
    assert!(get.contains("Force PXE"), "{get}");

    // Next boot only: the valid bit is gone once the machine has booted.
    admin(&bmc, "chassis bootdev disk");
    let get = admin(&bmc, "chassis bootparam get 5");
    assert!(
        get.contains("Boot Flag Valid") && get.contains("Force Boot from default Hard-Drive"),
        "{get}"
    );
    admin(&bmc, "chassis power reset");
    let get = admin(&bmc, "chassis bootparam get 5");
    assert!(get.contains("Boot Flag Invalid"), "{get}");
}

#[test]
fn ironic_raw_boot_commands() {
    let bmc = Bmc::start();
    assert_eq!(admin(&bmc, "raw 0x00 0x08 0x03 0x08").trim(), "");
    assert_eq!(admin(&bmc, "raw 0x00 0x08 0x05 0xe0 0x04 0 0 0").trim(), "");
    assert_eq!(
        admin(&bmc, "raw 0x00 0x09 0x05 0x00 0x00").trim(),
        "01 05 e0 04 00 00 00"
    );
    assert_eq!(
        admin(&bmc, "raw 0x00 0x09 0x03 0x00 0x00").trim(),
        "01 03 08"
    );
}

#[test]
fn mc_channel_user_and_lan_information() {
    let bmc = Bmc::start_with("guid = \"01234567-89ab-4def-8123-456789abcdef\"");
    let info = admin(&bmc, "mc info");
    assert!(info.contains("IPMI Version              : 2.0"), "{info}");
    assert!(info.contains("Chassis Device"), "{info}");
    let guid = admin(&bmc, "mc guid");
    assert!(
        guid.contains("System GUID   : 01234567-89ab-4def-8123-456789abcdef"),
        "{guid}"
    );
    assert!(guid.contains("GUID Encoding : IPMI"), "{guid}");
    assert!(admin(&bmc, "mc selftest").contains("Selftest: passed"));
    let ch = admin(&bmc, "channel info");
    assert!(
        ch.contains("802.3 LAN") && ch.contains("multi-session"),
        "{ch}"
    );
    let ciphers = admin(&bmc, "channel getciphers ipmi");
    for line in [
        "3    N/A     hmac_sha1       hmac_sha1_96    aes_cbc_128",
        "17   N/A     hmac_sha256     sha256_128      aes_cbc_128",
    ] {
        assert!(ciphers.contains(line), "{ciphers}");
    }
    assert!(!ciphers.lines().any(|l| l.starts_with("0 ")), "{ciphers}");
    let users = admin(&bmc, "user list 1");
    assert!(
        users
            .lines()
            .any(|l| l.starts_with("2   admin") && l.contains("ADMINISTRATOR")),
        "{users}"
    );
    assert!(
        users
            .lines()
            .any(|l| l.starts_with("3   operator") && l.contains("OPERATOR")),
        "{users}"
    );
    assert!(
        users
            .lines()
            .any(|l| l.starts_with("4   viewer") && l.contains("USER")),
        "{users}"
    );
    let lan = admin(&bmc, "lan print 1");
    for want in [
        "IP Address              : 127.0.0.1",
        "IP Address Source       : Static Address",
        "Subnet Mask             : 255.255.255.0",
        "MAC Address             : 02:",
        "RMCP+ Cipher Suites     : 3,17\n",
    ] {
        assert!(lan.contains(want), "missing {want:?} in\n{lan}");
    }
    let fru = admin(&bmc, "fru print 0");
    assert!(fru.contains("Product Serial        : node1"), "{fru}");
    assert!(
        fru.contains("Chassis Type          : Rack Mount Chassis"),
        "{fru}"
    );
    assert!(
        fru.contains("Board Extra           : simulated rack"),
        "{fru}"
    );
}

#[test]
fn user_level_account_reads_but_cannot_act() {
    let bmc = Bmc::start();
    let r = ipmitool(
        &bmc,
        "lanplus",
        &["-L", "USER"],
        "viewer",
        VIEWER_PASSWORD,
        "chassis power status",
    );
    assert_eq!(r.out().trim(), "Chassis Power is on");
    let r = ipmitool(
        &bmc,
        "lanplus",
        &["-L", "USER"],
        "viewer",
        VIEWER_PASSWORD,
        "chassis power off",
    );
    assert!(
        !r.ok && r.all().contains("Insufficient privilege level"),
        "{}",
        r.all()
    );
    // Asking for more than the account allows is refused at login.
    let r = ipmitool(
        &bmc,
        "lanplus",
        &[],
        "viewer",
        VIEWER_PASSWORD,
        "chassis power off",
    );
    assert!(!r.ok, "{}", r.all());
    assert_eq!(power_status(&bmc), "Chassis Power is on");
    // The operator may act.
    let r = ipmitool(
        &bmc,
        "lanplus",
        &["-L", "OPERATOR"],
        "operator",
        OPERATOR_PASSWORD,
        "chassis power off",
    );
    assert!(r.out().contains("Down/Off"));
}

#[test]
fn wrong_password_and_unknown_user_fail_at_once() {
    let bmc = Bmc::start();
    let r = ipmitool(
        &bmc,
        "lanplus",
        &["-v"],
        "admin",
        "wrong-password",
        "chassis power status",
    );
    assert!(!r.ok);
    // The RAKP 2 code does not match the client's key: it gives up without waiting for timeouts.
    assert!(r.all().contains("RAKP 2 HMAC is invalid"), "{}", r.all());
    let r = ipmitool(
        &bmc,
        "lanplus",
        &["-v"],
        "nobody",
        "whatever",
        "chassis power status",
    );
    assert!(!r.ok);
    assert!(
        r.all()
            .contains("RAKP 2 message indicates an error : unauthorized name"),
        "{}",
        r.all()
    );
    // A status code, not silence: ipmitool (-N 1 -R 2) would need 3 s to time out.
    assert!(r.elapsed.as_secs_f64() < 2.5, "took {:?}", r.elapsed);
    let r = ipmitool(
        &bmc,
        "lan",
        &[],
        "admin",
        "wrong-password",
        "chassis power status",
    );
    assert!(!r.ok, "{}", r.all());
    // Still serving the right password.
    assert_eq!(power_status(&bmc), "Chassis Power is on");
}

#[test]
fn cipher_suite_zero_is_refused_unless_configured() {
    let bmc = Bmc::start();
    let r = ipmitool(
        &bmc,
        "lanplus",
        &["-C", "0"],
        "admin",
        ADMIN_PASSWORD,
        "chassis power status",
    );
    assert!(!r.ok, "{}", r.all());
    assert!(
        r.all().contains("no matching cipher suite") || r.all().contains("Unable to establish"),
        "{}",
        r.all()
    );
    let bmc = Bmc::start_with("cipher_suites = [0, 3, 17]");
    let r = ipmitool(
        &bmc,
        "lanplus",
        &["-C", "0"],
        "admin",
        "anything",
        "chassis power status",
    );
    assert_eq!(r.out().trim(), "Chassis Power is on");
}

#[test]
fn suites_without_integrity_or_encryption_are_refused_unless_configured() {
    // By default only 3 and 17: suites 1 and 15 would let anyone who sees a session ID inject
    // commands, 2 and 16 send everything in clear.
    let bmc = Bmc::start();
    for suite in ["1", "2", "15", "16"] {
        let r = ipmitool(
            &bmc,
            "lanplus",
            &["-C", suite],
            "admin",
            ADMIN_PASSWORD,
            "chassis power status",
        );
        assert!(!r.ok, "-C {suite}: {}", r.all());
    }
    let listed = admin(&bmc, "channel getciphers ipmi");
    assert!(
        !listed.contains("\n1 ") && !listed.contains("\n15 "),
        "{listed}"
    );
    // A configuration that lists them gets them.
    let bmc = Bmc::start_with("cipher_suites = [3, 17, 1, 2, 15, 16]");
    for suite in ["1", "2", "15", "16"] {
        let r = ipmitool(
            &bmc,
            "lanplus",
            &["-C", suite],
            "admin",
            ADMIN_PASSWORD,
            "chassis power status",
        );
        assert_eq!(r.out().trim(), "Chassis Power is on", "-C {suite}");
    }
}

#[test]
fn unknown_commands_get_c1() {
    let bmc = Bmc::start();
    // NetFn 0x2C: ipmitool's PICMG probe, and a DCMI command the BMC does not model (Get Power
    // Limit). (Get DCMI Capabilities Info, 0x01, is answered since DCMI power is modelled:
    // tests/sensors.rs.)
    for raw in ["raw 0x2c 0x00 0x00", "raw 0x2c 0x03 0xdc 0x00 0x00"] {
        let r = admin_run(&bmc, raw);
        assert!(!r.ok && r.all().contains("rsp=0xc1"), "{raw}: {}", r.all());
    }
    let r = admin_run(&bmc, "raw 0x30 0x99");
    assert!(!r.ok && r.all().contains("rsp=0xc1"), "{}", r.all());
}
