//! DMTF's own validators (PyPI) and tools against the shim's Redfish service, offline: the
//! service validator with the CSDL schemas the service itself serves, the protocol validator
//! over TLS (a test CA), the interoperability validator with OpenStack Ironic's profile, the
//! use-case checkers for power control and boot override, redfishtool; and the loop: ipmitool ->
//! shim A (redfish backend) -> Redfish -> shim B (sim).

mod common;
#[allow(dead_code)]
#[path = "redfish_service/serve.rs"]
mod serve;
#[allow(dead_code)]
#[path = "redfish/services.rs"]
mod services;

use common::*;
use serve::*;
use services::TestCa;
use std::path::Path;
use std::process::Command;

/// The (pass, warn, fail) of a DMTF tool's summary table (`| PASS | WARN | FAIL | NOT TESTED |`
/// then the counts) or line (`Summary - PASS: n, WARN: n, FAIL: n`).
fn summary(out: &str) -> (u32, u32, u32) {
    if let Some(line) = out.lines().find(|l| l.starts_with("Summary - PASS:")) {
        let n: Vec<u32> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|t| t.parse().ok())
            .collect();
        return (n[0], n[1], n[2]);
    }
    let mut lines = out
        .lines()
        .skip_while(|l| !l.contains("PASS") || !l.contains("FAIL"));
    let counts = lines
        .nth(2)
        .unwrap_or_else(|| panic!("no summary in:\n{out}"));
    let n: Vec<u32> = counts
        .split('|')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    (n[0], n[1], n[2])
}

/// The CSDL files the service serves (those `$metadata` references, and those they reference
/// in turn), downloaded into `dir`: the validators' schema directory, with no Internet.
fn download_schemas(port: u16, ca: &Path, dir: &Path) {
    let url = |p: &str| format!("https://127.0.0.1:{port}{p}");
    let cacert = ca.display().to_string();
    let (_, _, metadata) = curl(&url("/redfish/v1/$metadata"), &["--cacert", &cacert]);
    let mut todo: Vec<String> = metadata
        .split("Uri=\"/redfish/v1/Schemas/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(file) = todo.pop() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let (st, _, body) = curl(
            &url(&format!("/redfish/v1/Schemas/{file}")),
            &["--cacert", &cacert],
        );
        if st != 200 {
            continue;
        }
        for r in body
            .split("Uri=\"http://redfish.dmtf.org/schemas/v1/")
            .skip(1)
        {
            todo.push(r.split('"').next().unwrap().to_string());
        }
        std::fs::write(dir.join(&file), body).unwrap();
    }
    assert!(seen.len() > 25, "schemas: {seen:?}");
}

fn tool(name: &str) -> Command {
    let mut c = Command::new(require(
        name,
        "the DMTF tools from PyPI (.ci/run installs them)",
    ));
    c.args(["-u", "admin", "-p", ADMIN_PASSWORD]);
    c
}

#[test]
fn dmtf_service_validator_finds_no_failure() {
    let ca = TestCa::new();
    let (s, port) = start_tls(&ca);
    let schemas = tempfile::tempdir().unwrap();
    download_schemas(port, &ca.ca(), schemas.path());
    let logs = tempfile::tempdir().unwrap();
    let out = run(tool("rf_service_validator")
        .env("REQUESTS_CA_BUNDLE", ca.ca())
        .args([
            "-r",
            &format!("https://127.0.0.1:{port}"),
            "--authtype",
            "Session",
        ])
        .arg("--schema_directory")
        .arg(schemas.path())
        .arg("--logdir")
        .arg(logs.path()));
    let (pass, _warn, fail) = summary(&out.stdout);
    assert!(
        pass > 400 && fail == 0,
        "{}\n{}\nlog:\n{}",
        out.stdout,
        out.stderr,
        s.bmc.server_log()
    );
}

#[test]
fn dmtf_protocol_validator_passes_every_assertion_over_tls() {
    let ca = TestCa::new();
    let (s, port) = start_tls(&ca);
    let reports = tempfile::tempdir().unwrap();
    let out = run(tool("rf_protocol_validator")
        .env("REQUESTS_CA_BUNDLE", ca.ca())
        .args([
            "-r",
            &format!("https://127.0.0.1:{port}"),
            "--report-type",
            "tsv",
        ])
        .arg("--ca-bundle")
        .arg(ca.ca())
        .arg("--report-dir")
        .arg(reports.path()));
    let (pass, _, fail) = summary(&out.stdout);
    let tsv: Vec<String> = std::fs::read_dir(reports.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "tsv"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    // The root advertises `$expand`, so the query assertions run: a parameter without `$`
    // ignored, an unknown `$` one refused with 501.
    let query_passed = tsv
        .iter()
        .flat_map(|t| t.lines())
        .filter(|l| l.contains("Query parameter overview") && l.contains("\tPASS\t"))
        .count();
    eprintln!("protocol validator: {pass} pass, {fail} fail, {query_passed} query assertions pass");
    assert!(query_passed >= 2, "{}", tsv.join("\n"));
    let failed: String = tsv
        .iter()
        .flat_map(|t| {
            t.lines()
                .filter(|l| l.contains("\tFAIL\t"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        pass > 250 && fail == 0,
        "{}\nfailed:\n{failed}\nlog:\n{}",
        out.stdout,
        s.bmc.server_log()
    );
}

#[test]
fn ironic_interop_profile_passes_in_full() {
    let ca = TestCa::new();
    let (_s, port) = start_tls(&ca);
    let logs = tempfile::tempdir().unwrap();
    let profile = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/redfish_service/fixtures/OpenStackIronicProfile.v1_2_0.json"
    );
    let out = run(tool("rf_interop_validator")
        .env("REQUESTS_CA_BUNDLE", ca.ca())
        .args(["-r", &format!("https://127.0.0.1:{port}")])
        .arg("--logdir")
        .arg(logs.path())
        .arg(profile));
    let (pass, _, fail) = summary(&out.stdout);
    // Every requirement, VirtualMedia (the sim's CD and USB stick) included.
    let report: String = walk(logs.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let text = strip_tags(&report);
    assert!(
        pass > 40 && fail == 0 && !text.contains("VirtualMedia Required Resource Error"),
        "{}\n{}",
        out.stdout,
        text.split("FAIL").next().unwrap_or_default()
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// HTML as words separated by single spaces.
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn dmtf_use_case_checkers_power_control_and_boot_override_pass() {
    let ca = TestCa::new();
    let (s, port) = start_tls(&ca);
    let reports = tempfile::tempdir().unwrap();
    let out = run(tool("rf_use_case_checkers")
        .env("REQUESTS_CA_BUNDLE", ca.ca())
        .args(["-r", &format!("https://127.0.0.1:{port}")])
        .arg("--report-dir")
        .arg(reports.path())
        .args(["--test-list", "PowerControl", "BootOverride"]));
    let (pass, _, fail) = summary(&out.stdout);
    assert!(
        pass >= 20 && fail == 0,
        "{}\n{}\nlog:\n{}",
        out.stdout,
        out.stderr,
        s.bmc.server_log()
    );
}

#[test]
fn redfishtool_lists_resets_and_sets_the_boot_override() {
    let (s, port) = start(true, "");
    let rt = |args: &[&str]| {
        run(Command::new(require("redfishtool", "redfishtool (pip)"))
            .args([
                "-r",
                &format!("127.0.0.1:{port}"),
                "-S",
                "Never",
                "-u",
                "admin",
                "-p",
                ADMIN_PASSWORD,
            ])
            .args(args))
    };
    let list = rt(&["Systems", "list"]);
    assert!(
        list.ok && list.stdout.contains("/redfish/v1/Systems/node1"),
        "{}{}",
        list.stdout,
        list.stderr
    );
    let off = rt(&["Systems", "-I", "node1", "reset", "ForceOff"]);
    assert!(off.ok, "{}{}", off.stdout, off.stderr);
    assert!(admin(&s.bmc, "chassis power status").contains("is off"));
    let boot = rt(&["Systems", "-I", "node1", "setBootOverride", "Once", "Pxe"]);
    assert!(boot.ok, "{}{}", boot.stdout, boot.stderr);
    assert!(admin(&s.bmc, "chassis bootparam get 5").contains("PXE"));
    let got = rt(&["Systems", "-I", "node1", "get", "PowerState"]);
    assert!(got.stdout.contains("\"Off\""), "{}", got.stdout);
}

#[test]
fn loop_ipmitool_to_shim_a_redfish_backend_to_shim_b_redfish_service() {
    let ca = TestCa::new();
    let (b, port) = start_tls(&ca);
    let a_port = free_port();
    let section = format!(
        "[bmc.redfish]\nurl = \"https://127.0.0.1:{port}\"\nuser = \"admin\"\npassword_file = \"admin.pass\"\nca_file = {:?}\n",
        ca.ca().display().to_string()
    );
    let a = Bmc::start_config(a_port, &config_with_backend(a_port, "redfish", &section));
    // Power and boot through A land on B's machine, as B's own IPMI shows them.
    admin(&a, "chassis power off");
    assert!(eventually(10, || admin(&b.bmc, "chassis power status")
        .contains("is off")));
    assert!(admin(&a, "chassis power status").contains("is off"));
    admin(&a, "chassis bootdev pxe");
    assert!(admin(&b.bmc, "chassis bootparam get 5").contains("PXE"));
    admin(&a, "chassis power on");
    assert!(eventually(10, || admin(&b.bmc, "chassis power status")
        .contains("is on")));
    // A's GUID is B's: B's UUID read back through A.
    assert_eq!(
        admin(&a, "mc guid")
            .lines()
            .find(|l| l.contains("GUID"))
            .map(str::to_string),
        admin(&b.bmc, "mc guid")
            .lines()
            .find(|l| l.contains("GUID"))
            .map(str::to_string),
        "A: {}",
        a.server_log()
    );
    // B audited A's actions as Redfish requests of the user A logs in as.
    let audit = b.audit();
    let power: Vec<_> = audit
        .iter()
        .filter(|r| r["command"] == "Chassis Control" && r["outcome"] != "asked")
        .collect();
    assert_eq!(power.len(), 2, "{audit:?}");
    assert!(
        power
            .iter()
            .all(|r| r["protocol"] == "redfish" && r["user"] == "admin"),
        "{audit:?}"
    );
}
