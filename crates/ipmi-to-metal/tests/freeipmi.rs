//! End to end with FreeIPMI 1.6 (ipmipower, bmc-info, ipmi-chassis, ipmi-chassis-config, ipmi-fru), over
//! IPMI 1.5 (FreeIPMI's default) and IPMI 2.0.

mod common;
use common::*;

fn ipmipower(bmc: &Bmc, args: &[&str]) -> String {
    freeipmi(bmc, "ipmipower", "admin", ADMIN_PASSWORD, args).out()
}

#[test]
fn ipmipower_lan_15_every_verb() {
    let bmc = Bmc::start();
    let host = "127.0.0.1";
    assert_eq!(ipmipower(&bmc, &["--stat"]).trim(), format!("{host}: on"));
    assert_eq!(ipmipower(&bmc, &["--off"]).trim(), format!("{host}: ok"));
    assert_eq!(ipmipower(&bmc, &["--stat"]).trim(), format!("{host}: off"));
    assert_eq!(ipmipower(&bmc, &["--on"]).trim(), format!("{host}: ok"));
    assert!(eventually(10, || ipmipower(&bmc, &["--stat"]).trim()
        == format!("{host}: on")));
    for verb in ["--cycle", "--reset", "--pulse", "--soft"] {
        assert_eq!(
            ipmipower(&bmc, &[verb]).trim(),
            format!("{host}: ok"),
            "{verb}"
        );
        if verb == "--cycle" {
            assert!(eventually(10, || ipmipower(&bmc, &["--stat"]).trim()
                == format!("{host}: on")));
        }
    }
    assert!(eventually(10, || ipmipower(&bmc, &["--stat"]).trim()
        == format!("{host}: off")));
}

#[test]
fn ipmipower_lan_20_as_maas_does() {
    let bmc = Bmc::start();
    let host = "127.0.0.1";
    // MAAS: FreeIPMI at OPERATOR level with -W opensesspriv, and power cycle.
    let r = freeipmi(
        &bmc,
        "ipmipower",
        "operator",
        OPERATOR_PASSWORD,
        &[
            "-D",
            "LAN_2_0",
            "-l",
            "OPERATOR",
            "-W",
            "opensesspriv",
            "--cycle",
        ],
    );
    assert_eq!(r.out().trim(), format!("{host}: ok"));
    for suite in ["3", "17"] {
        let r = freeipmi(
            &bmc,
            "ipmipower",
            "admin",
            ADMIN_PASSWORD,
            &["-D", "LAN_2_0", "-I", suite, "--stat"],
        );
        assert!(r.out().trim().starts_with(&format!("{host}: ")));
    }
    // A user-level account may read but not act.
    let r = freeipmi(
        &bmc,
        "ipmipower",
        "viewer",
        VIEWER_PASSWORD,
        &["-D", "LAN_2_0", "-l", "USER", "--off"],
    );
    assert!(r.all().contains("privilege"), "{}", r.all());
    assert!(eventually(10, || ipmipower(&bmc, &["--stat"]).trim()
        == format!("{host}: on")));
    // Wrong password.
    let r = freeipmi(
        &bmc,
        "ipmipower",
        "admin",
        "wrong",
        &["-D", "LAN_2_0", "--stat"],
    );
    assert!(r.all().contains("password invalid"), "{}", r.all());
    // IPMI 1.5 has no way to tell the client: the answer to an Activate Session with a bad
    // authentication code cannot carry a valid one, so FreeIPMI waits and blames the password.
    let r = freeipmi(
        &bmc,
        "ipmipower",
        "admin",
        "wrong",
        &["--stat", "--session-timeout", "2000"],
    );
    assert!(
        r.all().contains("password verification timeout"),
        "{}",
        r.all()
    );
}

#[test]
fn bmc_info_both_protocols() {
    let bmc = Bmc::start();
    for driver in [&[][..], &["-D", "LAN_2_0"]] {
        let out = freeipmi(&bmc, "bmc-info", "admin", ADMIN_PASSWORD, driver).out();
        assert!(out.contains("IPMI Version          : 2.0"), "{out}");
        assert!(out.contains("Chassis Device        : supported"), "{out}");
        assert!(out.contains("Medium Type          : 802.3 LAN"), "{out}");
    }
}

#[test]
fn ipmi_fru_reads_chassis_board_and_product_areas() {
    let bmc = Bmc::start();
    for driver in [
        &["--ignore-sdr-cache"][..],
        &["--ignore-sdr-cache", "-D", "LAN_2_0"],
    ] {
        let out = freeipmi(&bmc, "ipmi-fru", "admin", ADMIN_PASSWORD, driver).out();
        assert!(
            out.contains("FRU Chassis Type: Rack Mount Chassis"),
            "{out}"
        );
        assert!(
            out.contains("FRU Board Custom Info: simulated rack"),
            "{out}"
        );
        assert!(out.contains("FRU Product Asset Tag: node1"), "{out}");
    }
}

#[test]
fn ipmi_chassis_status_and_control() {
    let bmc = Bmc::start();
    let out = freeipmi(
        &bmc,
        "ipmi-chassis",
        "admin",
        ADMIN_PASSWORD,
        &["--get-chassis-status"],
    )
    .out();
    assert!(
        out.contains("System Power                        : on"),
        "{out}"
    );
    let r = freeipmi(
        &bmc,
        "ipmi-chassis",
        "admin",
        ADMIN_PASSWORD,
        &["-D", "LAN_2_0", "--chassis-control=POWER-DOWN"],
    );
    r.out();
    let out = freeipmi(
        &bmc,
        "ipmi-chassis",
        "admin",
        ADMIN_PASSWORD,
        &["-D", "LAN_2_0", "--get-chassis-status"],
    )
    .out();
    assert!(
        out.contains("System Power                        : off"),
        "{out}"
    );
    assert!(
        out.contains("Power restore policy                : Restore"),
        "{out}"
    );
    let r = freeipmi(
        &bmc,
        "ipmi-chassis",
        "admin",
        ADMIN_PASSWORD,
        &["--chassis-identify=FORCE"],
    );
    r.out();
    let out = freeipmi(
        &bmc,
        "ipmi-chassis",
        "admin",
        ADMIN_PASSWORD,
        &["--get-chassis-status"],
    )
    .out();
    assert!(
        out.contains("Chassis Identify state              : Indefinite on"),
        "{out}"
    );
}

#[test]
fn ipmi_chassis_config_checkout_and_commit() {
    let bmc = Bmc::start();
    let conf = ["-D", "LAN_2_0"];
    let out = freeipmi(
        &bmc,
        "ipmi-chassis-config",
        "admin",
        ADMIN_PASSWORD,
        &[&conf[..], &["--checkout", "-S", "Chassis_Boot_Flags"]].concat(),
    )
    .out();
    assert!(
        out.contains("Boot_Device                                   NO-OVERRIDE"),
        "{out}"
    );
    freeipmi(
        &bmc,
        "ipmi-chassis-config",
        "admin",
        ADMIN_PASSWORD,
        &[
            &conf[..],
            &[
                "--commit",
                "-e",
                "Chassis_Boot_Flags:Boot_Device=PXE",
                "-e",
                "Chassis_Boot_Flags:Boot_Flags_Persistent=Yes",
                "-e",
                "Chassis_Boot_Flags:BIOS_Boot_Type=EFI",
            ],
        ]
        .concat(),
    )
    .out();
    let out = freeipmi(
        &bmc,
        "ipmi-chassis-config",
        "admin",
        ADMIN_PASSWORD,
        &["--checkout", "-S", "Chassis_Boot_Flags"],
    )
    .out();
    assert!(
        out.contains("Boot_Device                                   PXE"),
        "{out}"
    );
    assert!(
        out.contains("Boot_Flags_Persistent                         Yes"),
        "{out}"
    );
    assert!(
        out.contains("BIOS_Boot_Type                                EFI"),
        "{out}"
    );
    // And ipmitool reads the same flags back.
    assert_eq!(
        admin(&bmc, "raw 0x00 0x09 0x05 0x00 0x00").trim(),
        "01 05 e0 04 00 00 00"
    );
}
