//! MAAS's IPMI power driver (`src/provisioningserver/drivers/power/ipmi.py`, MAAS 3.x) as it
//! drives a BMC: the FreeIPMI command lines it builds from a machine's power parameters, run as
//! it runs them, and its reading of their output (the state from `HOST: on|off`, the errors it
//! looks for in the output). MAAS itself does not install here (a snap with PostgreSQL and region
//! and rack controllers); docs/howto-maas.md shows these command lines. Each step is checked on
//! the shim's side: the power state, the boot flags and the SEL.

mod common;
use common::*;
use std::process::Command;

/// MAAS's `IPMI_CONFIG_WITH_BOOT_TYPE` for an EFI machine: the next boot from the network.
const BOOT_PXE_EFI: &str = "Section Chassis_Boot_Flags
        Boot_Flags_Persistent                         No
        BIOS_Boot_Type                                EFI
        Boot_Device                                   PXE
EndSection
";

/// MAAS's `IPMI_CONFIG` (power boot type "Automatic").
const BOOT_PXE: &str = "Section Chassis_Boot_Flags
        Boot_Flags_Persistent                         No
        Boot_Device                                   PXE
EndSection
";

/// The power parameters of a machine in MAAS.
struct Power<'a> {
    bmc: &'a Bmc,
    user: &'a str,
    pass: &'a str,
    cipher_suite_id: &'a str,
}

impl Power<'_> {
    /// `TOOL -W opensesspriv` and the common arguments, in MAAS's order
    /// (`_issue_ipmi_command`): driver type, address, user, password, cipher suite, privilege.
    fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(require(tool, "freeipmi-tools"));
        let address = format!("127.0.0.1:{}", self.bmc.port);
        cmd.args([
            "-W",
            "opensesspriv",
            "--driver-type",
            "LAN_2_0",
            "-h",
            &address,
        ]);
        cmd.args(["-u", self.user, "-p", self.pass]);
        cmd.args(["-I", self.cipher_suite_id, "-l", "OPERATOR"]);
        cmd
    }

    /// `ipmipower ... ARG`: the state MAAS reads from it (`:\s*(on|off)`), or its whole output.
    fn ipmipower(&self, arg: &[&str]) -> Result<String, String> {
        let out = self.command("ipmipower").args(arg).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        // MAAS's IPMI_ERRORS, looked for in ipmipower's standard output.
        let errors = [
            "password invalid",
            "privilege level cannot be obtained",
            "connection timeout",
        ];
        if !out.status.success() || errors.iter().any(|e| stdout.contains(e)) {
            return Err(stdout);
        }
        let state = stdout
            .split_once(':')
            .map(|(_, s)| s.trim().to_string())
            .unwrap_or_default();
        Ok(state)
    }

    /// MAAS's power on: the next boot from the network with `ipmi-chassis-config --commit`,
    /// then `ipmipower --cycle --on-if-off`.
    fn power_on(&self, boot: &str) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("boot.conf");
        std::fs::write(&file, boot).unwrap();
        let out = self
            .command("ipmi-chassis-config")
            .arg("--commit")
            .arg("--filename")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(self.ipmipower(&["--cycle", "--on-if-off"]).unwrap(), "ok");
    }

    /// MAAS's query, until it reads `want` (MAAS polls after an action too).
    fn wait_state(&self, want: &str) {
        let mut last = Ok(String::new());
        let ok = eventually(10, || {
            last = self.ipmipower(&["--stat"]);
            last.as_deref() == Ok(want)
        });
        assert!(ok, "MAAS would read {last:?}, not {want}");
    }
}

fn maas<'a>(bmc: &'a Bmc, cipher_suite_id: &'a str) -> Power<'a> {
    Power {
        bmc,
        user: "operator",
        pass: OPERATOR_PASSWORD,
        cipher_suite_id,
    }
}

#[test]
fn maas_ipmi_power_driver_powers_on_from_the_network_queries_and_powers_off() {
    let bmc = Bmc::start();
    for suite in ["3", "17"] {
        let maas = maas(&bmc, suite);
        assert_eq!(maas.ipmipower(&["--stat"]).unwrap(), "on");
        assert_eq!(maas.ipmipower(&["--off"]).unwrap(), "ok");
        maas.wait_state("off");
        assert_eq!(
            admin(&bmc, "chassis power status").trim(),
            "Chassis Power is off"
        );

        // Power on of a machine that is off: the next boot from PXE (EFI), then on.
        maas.power_on(BOOT_PXE_EFI);
        maas.wait_state("on");
        let flags = admin(&bmc, "chassis bootparam get 5");
        assert!(
            flags.contains("Boot Device Selector : Force PXE"),
            "{flags}"
        );
        assert!(flags.contains("Options apply to only next boot"), "{flags}");
        assert!(flags.contains("BIOS EFI boot"), "{flags}");
        // The power on used the next-boot override: the machine booted from the network.
        assert!(flags.contains("Boot Flag Invalid"), "{flags}");
        let sel = admin(&bmc, "sel elist");
        let pxe = sel.rfind("User requested PXE boot").expect(&sel);
        let up = sel.rfind("Initiated by power up").expect(&sel);
        assert!(pxe < up, "{sel}");
    }
    assert!(
        bmc.server_log()
            .contains("power action requested action=on who=user=\"operator\""),
        "{}",
        bmc.server_log()
    );
}

#[test]
fn maas_power_on_of_a_running_machine_cycles_it_and_soft_off_shuts_it_down() {
    let bmc = Bmc::start();
    let maas = maas(&bmc, "3");
    maas.wait_state("on");
    maas.power_on(BOOT_PXE);
    maas.wait_state("on");
    let sel = admin(&bmc, "sel elist");
    assert!(sel.contains("Power cycle"), "{sel}");
    let flags = admin(&bmc, "chassis bootparam get 5");
    assert!(flags.contains("Force PXE"), "{flags}");

    // MAAS's soft power off mode: ACPI, and the OS shuts down.
    assert_eq!(maas.ipmipower(&["--soft"]).unwrap(), "ok");
    maas.wait_state("off");
    let sel = admin(&bmc, "sel elist");
    assert!(sel.contains("Power Button pressed"), "{sel}");
}

#[test]
fn maas_sees_the_errors_it_knows_for_a_wrong_password_and_a_privilege_too_high() {
    let bmc = Bmc::start();
    let wrong = Power {
        bmc: &bmc,
        user: "operator",
        pass: "not-the-password",
        cipher_suite_id: "3",
    };
    // MAAS: "Incorrect password.  Check BMC configuration and try again."
    let err = wrong.ipmipower(&["--stat"]).unwrap_err();
    assert!(err.contains("password invalid"), "{err}");
    // A user-level account, asked for at OPERATOR (MAAS's default privilege level): MAAS's
    // "Access denied while performing power action".
    let viewer = Power {
        bmc: &bmc,
        user: "viewer",
        pass: VIEWER_PASSWORD,
        cipher_suite_id: "3",
    };
    let err = viewer.ipmipower(&["--stat"]).unwrap_err();
    assert!(
        err.contains("privilege level cannot be obtained for this user"),
        "{err}"
    );
    assert_eq!(
        admin(&bmc, "chassis power status").trim(),
        "Chassis Power is on"
    );
}
