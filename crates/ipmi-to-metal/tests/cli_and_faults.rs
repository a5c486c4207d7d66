//! The command line, configuration errors, several BMCs in one process, and malformed datagrams.

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
}

fn check_config(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, text).unwrap();
    let out = bin()
        .arg("check-config")
        .arg(&path)
        .env("TEST_VIEWER_PASSWORD", "v")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).replace(&path.display().to_string(), "FILE");
    (out.status.code().unwrap_or(-1), err)
}

#[test]
fn config_errors_name_file_line_and_problem() {
    let good =
        standard_config(6999, "").replace("password_file = \"admin.pass\"", "password = \"x\"");
    let cases = [
        (
            good.replace("backend = \"sim\"", "backend = \"sim\"\nbogus = 1"),
            "FILE:5:1: unknown field `bogus`",
        ),
        (
            good.replace("privilege = \"operator\"", "privilege = \"god\""),
            "FILE:20:13: bad privilege \"god\"",
        ),
        (
            good.replace("password = \"x\"\n", ""),
            "FILE:12:1: user \"admin\" has no password",
        ),
        (
            format!("{good}{}", good.replace("node1", "node2")),
            "FILE:28:10: duplicate listen address 127.0.0.1:6999 (already used by bmc \"node1\")",
        ),
    ];
    for (text, want) in cases {
        let (code, err) = check_config(&text);
        assert_eq!(code, 2, "{err}");
        assert!(err.starts_with(want), "want {want:?}, got {err:?}");
    }
    let (code, err) = check_config(&good);
    assert_eq!(code, 0, "{err}");
}

/// The standard users, every password at least 12 characters long.
fn long_passwords(port: u16, extra: &str) -> String {
    standard_config(port, extra).replace(
        "password_env = \"TEST_VIEWER_PASSWORD\"",
        "password = \"viewer-long-pass\"",
    )
}

#[test]
fn weakened_settings_are_warned_about_at_start_and_the_defaults_are_not() {
    let port = free_port();
    let bmc = Bmc::start_config(port, &long_passwords(port, ""));
    assert!(
        !bmc.server_log().contains("weakened setting"),
        "{}",
        bmc.server_log()
    );
    drop(bmc);
    let weak = "cipher_suites = [3, 17, 1, 15]\nauth_types = [\"md5\", \"straight\"]";
    let port = free_port();
    let config = long_passwords(port, weak).replace("viewer-long-pass", "short");
    let bmc = Bmc::start_config(port, &config);
    let log = bmc.server_log();
    for want in [
        "config=bmc \"node1\"",
        "weakened setting: cipher suites 1, 15 enabled: no integrity protection",
        "weakened setting: auth_types straight: IPMI 1.5 carries the password in clear",
        "weakened setting: IPMI 1.5 with MD5 is on",
        "weakened setting: user \"viewer\": password shorter than 12 characters",
    ] {
        assert!(log.contains(want), "{want:?} not in:\n{log}");
    }
    assert!(!log.contains("\"short\""), "{log}");
    // check-config says the same, on stderr, and still accepts the file.
    let (code, err) = check_config(&config.replace(
        "password_file = \"admin.pass\"",
        "password = \"s3cret-admin\"",
    ));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: bmc \"node1\": weakened setting: cipher suites 1, 15 enabled"),
        "{err}"
    );
}

#[test]
fn serve_with_a_bad_config_starts_nothing() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        standard_config(port, "").replace("\"administrator\"", "\"root\""),
    )
    .unwrap();
    let out = bin()
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad privilege \"root\""));
    UdpSocket::bind(("127.0.0.1", port)).expect("nothing listens");
}

/// Starts `serve` without a config, its state in `state_home` (as `$XDG_STATE_HOME`), and
/// reads its banner up to the ipmitool line.
fn default_serve(
    port: u16,
    password: Option<&str>,
    state_home: &std::path::Path,
) -> (std::process::Child, Vec<String>) {
    let mut cmd = bin();
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("XDG_STATE_HOME", state_home)
        .env_remove("STATE_DIRECTORY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match password {
        Some(p) => cmd.env("IPMI_PASSWORD", p),
        None => cmd.env_remove("IPMI_PASSWORD"),
    };
    let mut child = cmd.spawn().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.starts_with("Try:");
        lines.push(line);
        if done {
            break;
        }
    }
    (child, lines)
}

#[test]
fn serve_without_config_prints_a_ready_ipmitool_line() {
    let port = free_port();
    let state = tempfile::tempdir().unwrap();
    let (mut child, lines) = default_serve(port, None, state.path());
    let generated = lines
        .iter()
        .find_map(|l| l.strip_prefix("Generated password (set IPMI_PASSWORD to choose one): "))
        .expect("a generated password")
        .to_string();
    assert_eq!(generated.len(), 16);
    let try_line = lines
        .last()
        .unwrap()
        .trim_start_matches("Try:")
        .trim()
        .to_string();
    assert!(
        try_line.contains(&format!("-p {port} -U admin -E")),
        "{try_line}"
    );
    // Run the printed command line as it is.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let r = run(Command::new("timeout").args(["30", "sh", "-c", &try_line]));
    assert!(r.out().contains("System Power         : on"));
    child.kill().unwrap();
    child.wait().unwrap();
    let sel = state
        .path()
        .join(format!("ipmi-to-metal/sel-127.0.0.1_{port}.redb"));
    assert!(
        sel.exists(),
        "the built-in BMC keeps its SEL in {}",
        sel.display()
    );

    // The same port: the SEL the first run kept is reopened.
    let (mut child, lines) = default_serve(port, Some("chosen-pass"), state.path());
    assert!(
        !lines.iter().any(|l| l.contains("chosen-pass")),
        "{lines:?}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let tool = require("ipmitool", "ipmitool");
    let r = run(Command::new(tool)
        .args([
            "-I",
            "lanplus",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "admin",
            "-E",
            "chassis",
            "power",
            "status",
        ])
        .env("IPMI_PASSWORD", "chosen-pass"));
    assert_eq!(r.out().trim(), "Chassis Power is on");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn several_bmcs_in_one_process_are_independent() {
    let (p1, p2) = (free_port(), free_port());
    let config = format!(
        "{}{}",
        standard_config(p1, ""),
        standard_config(p2, "").replace("node1", "node2")
    );
    let bmc = Bmc::start_config(p1, &config);
    let status = |port: u16| {
        let r = ipmitool_at(
            port,
            "lanplus",
            &[],
            "admin",
            ADMIN_PASSWORD,
            "chassis power status",
        );
        r.out().trim().to_string()
    };
    assert_eq!(status(p1), "Chassis Power is on");
    assert_eq!(status(p2), "Chassis Power is on");
    admin(&bmc, "chassis power off");
    assert_eq!(status(p1), "Chassis Power is off");
    assert_eq!(status(p2), "Chassis Power is on");
}

#[test]
fn malformed_datagrams_are_survived() {
    let bmc = Bmc::start();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_millis(20)))
        .unwrap();
    let target = ("127.0.0.1", bmc.port);
    let mut junk: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x06],
        vec![0x06, 0x00, 0xff],
        vec![0x06, 0x00, 0xff, 0x07],
        vec![0x06, 0x00, 0xff, 0x07, 0x06],
        vec![
            0x06, 0x00, 0xff, 0x07, 0x06, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
        ],
        vec![
            0x06, 0x00, 0xff, 0x07, 0x06, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0x00,
        ],
        vec![0x06, 0x00, 0xff, 0x07, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0xff],
        vec![0x06, 0x00, 0xff, 0x07, 0x02, 0, 0, 0, 0, 1, 0, 0, 0],
        vec![0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe, 0x80],
        vec![0xff; 1400],
    ];
    // Deterministic pseudo-random datagrams with a valid RMCP header.
    let mut x: u32 = 0x1234_5678;
    for len in 5..300 {
        let mut d = vec![0x06, 0x00, 0xff, 0x07];
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            d.push(x as u8);
        }
        d[4] = [0x00, 0x02, 0x06, 0x06][len % 4];
        junk.push(d);
    }
    for d in &junk {
        sock.send_to(d, target).unwrap();
    }
    let mut buf = [0u8; 2048];
    while sock.recv_from(&mut buf).is_ok() {}
    assert_eq!(
        admin(&bmc, "chassis power status").trim(),
        "Chassis Power is on",
        "log:\n{}",
        bmc.server_log()
    );
    assert!(!bmc.server_log().contains("panicked"));
}

/// The README and every page of the guide (`docs/**/*.md`), each with its path.
fn guide_pages() -> Vec<(std::path::PathBuf, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read docs/") {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "md") {
                out.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut paths = vec![root.join("README.md")];
    walk(&root.join("docs"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            (p, text)
        })
        .collect()
}

#[test]
fn every_toml_example_in_the_readme_and_the_guide_passes_check_config() {
    let pages = guide_pages();
    assert!(pages.len() >= 10, "the README and the guide's pages");
    let blocks: Vec<(&std::path::Path, &str)> = pages
        .iter()
        .flat_map(|(path, text)| {
            text.split("```toml\n")
                .skip(1)
                .map(move |b| (path.as_path(), b.split("```").next().unwrap_or_default()))
        })
        .collect();
    assert!(blocks.len() >= 2, "the guide has its TOML examples");
    let mut ipmi_examples = 0;
    let mut http_examples = 0;
    let mut redfish_examples = 0;
    let mut admin_examples = 0;
    let mut checked = 0;
    for (page, block) in blocks {
        // Fragments (a single table, to show its keys) are not whole files.
        if !block.contains("[[bmc]]") && !block.contains("[[metal_discovery]]") {
            continue;
        }
        checked += 1;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("example.toml");
        std::fs::write(&path, block).unwrap();
        // The files the examples name, relative to the configuration.
        std::fs::write(dir.path().join("node-b.key"), "key").unwrap();
        std::fs::write(dir.path().join("known_hosts"), "").unwrap();
        // Every secret the example names by `*_env = "VAR"` (a password takes at most 20 bytes,
        // an admin token is warned about below 16).
        let mut check = bin();
        check.arg("check-config").arg(&path);
        for var in block.split("_env = \"").skip(1) {
            check.env(var.split('"').next().unwrap(), "secret-from-env-0123");
        }
        let out = check.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}:\n{block}\n{}",
            page.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        if block.contains("backend = \"metal\"") && block.contains("[bmc.routes]") {
            assert!(
                stdout.contains(
                    "route soft          ssh -> metal (hard off by the next if not off within 90s)"
                ),
                "{stdout}"
            );
        }
        // The pages' own examples say what check-config prints for them (other pages' examples
        // need only load).
        let on = |name: &str| page.ends_with(name);
        if on("docs/operations.md") && block.contains("\n[admin]\n") {
            admin_examples += 1;
            assert!(
                stdout.contains(
                    "admin: listen 127.0.0.1:9623 (open without the token: healthz, metrics)"
                ),
                "{stdout}"
            );
            assert!(
                stdout.contains("audit: /var/log/ipmi-to-metal/audit.jsonl"),
                "{stdout}"
            );
        }
        if on("docs/backend-redfish.md") && block.contains("\nbackend = \"redfish\"") {
            redfish_examples += 1;
            assert!(
                stdout.contains("backend redfish shim@https://10.1.0.17 users 1"),
                "{stdout}"
            );
        }
        if on("docs/redfish.md") && block.contains("\nredfish_listen = ") {
            assert!(
                stdout.contains("  redfish 10.0.7.7:443 (this BMC's own Redfish service)")
                    && stdout.contains("redfish: no aggregate service (TLS, self-signed"),
                "{stdout}"
            );
        } else if on("docs/redfish.md") && block.contains("\n[redfish]\n") {
            assert!(
                stdout.contains("redfish: https://127.0.0.1:8443/redfish/v1 (TLS, self-signed certificate in the state directory; sessions: 64 at most, 1800 s idle)"),
                "{stdout}"
            );
        }
        if on("docs/backend-ipmi.md") && block.contains("\nbackend = \"ipmi\"") {
            ipmi_examples += 1;
            assert!(
                stdout.contains("backend ipmi 10.1.0.7:623 (Lanplus, user root"),
                "{stdout}"
            );
        }
        if on("docs/backend-http.md") && block.contains("\nbackend = \"http\"") {
            http_examples += 1;
            assert!(stdout.contains(" backend http "), "{stdout}");
            if block.contains("preset = \"hetzner-robot\"") {
                assert!(
                    stdout.contains("backend http hetzner-robot server 321 at https://robot-ws.your-server.de (basic auth as #ws+AbCdEfGh; absent: power_status, diag, boot)"),
                    "{stdout}"
                );
                assert!(stdout.contains("route power_status  ssh"), "{stdout}");
            }
        }
    }
    assert_eq!(
        http_examples, 4,
        "the http backend's examples (one per preset, one custom) were checked"
    );
    assert_eq!(ipmi_examples, 1, "the ipmi backend's example was checked");
    assert_eq!(admin_examples, 1, "the admin server's example was checked");
    assert_eq!(
        redfish_examples, 1,
        "the redfish backend's example was checked"
    );
    assert!(checked >= 11, "every whole example was checked ({checked})");
}
