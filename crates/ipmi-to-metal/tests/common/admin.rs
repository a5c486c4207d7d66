//! Helpers of the admin server's tests: a configuration with `[admin]` and `[audit]`, a small
//! HTTP/1.1 client, the audit log read back, and Debian's chromium, headless.

use super::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

/// The admin token of the test configurations (in the file `admin.token`).
pub const ADMIN_TOKEN: &str = "test-admin-token-5f2a9c1e77";

/// The read-only token of [`Served::start_admin`]'s configurations (in the file `viewer.token`).
pub const VIEWER_TOKEN: &str = "test-viewer-token-0b7d33aa41";

/// The `[audit]` table's body of [`Served::start`].
pub const DEFAULT_AUDIT: &str = "log = \"audit.jsonl\"";

/// A served BMC with the admin server on `admin_port` and the audit log in `audit.jsonl`.
pub struct Served {
    pub bmc: Bmc,
    pub admin_port: u16,
}

impl Served {
    /// Ironic's virtual media sequence through sushy (`tests/sushy_vmedia.py`) as admin, against
    /// the Redfish service at `url` for `system` (its path), inserting `image`: its standard
    /// output, or a panic with its output and the server's log.
    pub fn sushy_vmedia(&self, url: &str, system: &str, image: &str) -> String {
        let python = require_python_module("sushy");
        let pw = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(pw.path(), ADMIN_PASSWORD).unwrap();
        let out = run(Command::new(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/sushy_vmedia.py"
            ))
            .arg(url)
            .arg("admin")
            .arg(pw.path())
            .arg(system)
            .arg(image));
        assert!(
            out.ok,
            "sushy failed:\n{}\n{}\nlog:\n{}",
            out.stdout,
            out.stderr,
            self.bmc.server_log()
        );
        out.stdout
    }

    /// The standard test BMC (`extra` in its `[[bmc]]` table, `more` after it: other BMCs)
    /// with the admin server (healthz left open) and the audit log in a file.
    pub fn start(extra: &str, more: &str) -> Served {
        Served::start_custom(extra, more, DEFAULT_AUDIT, Rlimits::default())
    }

    /// [`Served::start`] with more keys in `[admin]` (`admin_more`); the file `viewer.token`
    /// holds [`VIEWER_TOKEN`] for `viewer_token_file`.
    pub fn start_admin(extra: &str, more: &str, admin_more: &str) -> Served {
        let dir = tempfile::tempdir().unwrap();
        Served::start_admin_in(
            dir,
            extra,
            more,
            DEFAULT_AUDIT,
            Rlimits::default(),
            admin_more,
        )
    }

    /// [`Served::start`] with `audit` as the body of the `[audit]` table (the file `audit.jsonl`
    /// in [`DEFAULT_AUDIT`]), in a directory that may hold files already, and the server's soft
    /// resource limits set as `limits` says.
    pub fn start_custom(extra: &str, more: &str, audit: &str, limits: Rlimits) -> Served {
        Served::start_in(tempfile::tempdir().unwrap(), extra, more, audit, limits)
    }

    /// [`Served::start_custom`] in `dir`.
    pub fn start_in(
        dir: tempfile::TempDir,
        extra: &str,
        more: &str,
        audit: &str,
        limits: Rlimits,
    ) -> Served {
        Served::start_admin_in(dir, extra, more, audit, limits, "")
    }

    /// [`Served::start_in`] with more keys in `[admin]`.
    fn start_admin_in(
        dir: tempfile::TempDir,
        extra: &str,
        more: &str,
        audit: &str,
        limits: Rlimits,
        admin_more: &str,
    ) -> Served {
        let port = free_port();
        let admin_port = test_support::free_tcp_port();
        std::fs::write(dir.path().join("admin.token"), format!("{ADMIN_TOKEN}\n")).unwrap();
        std::fs::write(dir.path().join("viewer.token"), format!("{VIEWER_TOKEN}\n")).unwrap();
        let config = format!(
            "{}\n{more}\n[audit]\n{audit}\n\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken_file = \"admin.token\"\nopen = [\"healthz\"]\n{admin_more}\n",
            standard_config(port, extra)
        );
        let bmc = Bmc::start_in_limited(dir, port, &config, "info", limits);
        let served = Served { bmc, admin_port };
        if !eventually(20, || TcpStream::connect(("127.0.0.1", admin_port)).is_ok()) {
            panic!(
                "the admin server did not listen; log:\n{}",
                served.bmc.server_log()
            );
        }
        served
    }

    /// The BMCs of `bmcs` (`[[bmc]]` tables and top-level tables, the first listening on
    /// `port`) with the admin server (nothing left open) and the audit log in a file.
    pub fn start_bmcs(port: u16, bmcs: &str) -> Served {
        let admin_port = test_support::free_tcp_port();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("admin.token"), format!("{ADMIN_TOKEN}\n")).unwrap();
        let config = format!(
            "{bmcs}\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken_file = \"admin.token\"\n\n[audit]\nlog = \"audit.jsonl\"\n"
        );
        let bmc = Bmc::start_in(dir, port, &config);
        let served = Served { bmc, admin_port };
        served.wait_admin();
        served
    }

    /// Waits until the admin server listens.
    pub fn wait_admin(&self) {
        if !eventually(20, || {
            TcpStream::connect(("127.0.0.1", self.admin_port)).is_ok()
        }) {
            panic!(
                "the admin server did not listen; log:\n{}",
                self.bmc.server_log()
            );
        }
    }

    /// `POST /bmcs/NAME/media/SLOT/ACTION` (virtual media insert or eject): status and body.
    pub fn media(
        &self,
        name: &str,
        slot: &str,
        action: &str,
        body: &str,
    ) -> (u16, serde_json::Value) {
        let path = format!("/bmcs/{name}/media/{slot}/{action}");
        let (status, text) = self.http("POST", &path, Some(ADMIN_TOKEN), body);
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// A request to the admin server: status and body.
    pub fn http(&self, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
        http(self.admin_port, method, path, token, body)
    }

    /// `GET path` with the token, asserting 200; the body as JSON.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.http("GET", path, Some(ADMIN_TOKEN), "");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// The BMC `name` as `GET /bmcs` shows it.
    pub fn bmc_json(&self, name: &str) -> serde_json::Value {
        let all = self.get_json("/bmcs");
        all["bmcs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {all}"))
            .clone()
    }

    /// `POST /bmcs/NAME/power` with the token: the status and the answer as JSON.
    pub fn power(&self, name: &str, action: &str) -> (u16, serde_json::Value) {
        let path = format!("/bmcs/{name}/power");
        let body = format!(r#"{{"action":"{action}"}}"#);
        let (status, answer) = self.http("POST", &path, Some(ADMIN_TOKEN), &body);
        let v = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
        (status, v)
    }

    /// The standard test BMC keeping its console log at `log` (relative to `dir`, which may hold
    /// files already).
    pub fn start_with_console_log(dir: tempfile::TempDir, log: &str) -> Served {
        let extra = format!("[bmc.console]\nlog = {log:?}\n");
        Served::start_in(dir, &extra, "", DEFAULT_AUDIT, Rlimits::default())
    }

    /// Resets node1 (the sim prints its boot text) and waits until `GET /bmcs` says its console
    /// log fails: its `console_log_failing` (`since`, `error`).
    pub fn console_log_failing_after_reset(&self) -> serde_json::Value {
        super::admin(&self.bmc, "chassis power reset");
        assert!(
            eventually(20, || !self.bmc_json("node1")["console_log_failing"]
                .is_null()),
            "{}",
            self.get_json("/bmcs")
        );
        self.bmc_json("node1")["console_log_failing"].clone()
    }

    /// The audit log's records so far.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        audit_records(&self.bmc.dir.path().join("audit.jsonl"))
    }
}

/// The records of an audit log (every line must be a JSON object).
pub fn audit_records(path: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "a partial line:\n{text}"
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// One HTTP/1.1 request (`Connection: close`): status and body.
pub fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let (status, head, body) = http_full(port, method, path, token, body);
    let _ = head;
    (status, body)
}

/// One HTTP/1.1 request: status, headers (lower-cased) and body.
pub fn http_full(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let kind = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/json\r\n".to_string()
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}{kind}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    let (head, rest) = out.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head[9..12].parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, head.to_ascii_lowercase(), body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// The DOM of `url` as Debian's chromium renders it headless, after `budget_ms` of virtual time
/// (the page's script runs, its fetches are answered).
pub fn chromium_dom(url: &str, budget_ms: u32, dir: &std::path::Path) -> String {
    let chromium = require("chromium", "chromium");
    let profile = tempfile::tempdir_in(dir).unwrap();
    let out = run(Command::new("timeout")
        .arg("120")
        .arg(chromium)
        .args([
            "--headless=new",
            // As root (CI) chromium has no sandbox of its own to start.
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg("--dump-dom")
        .arg(url));
    assert!(out.ok, "chromium failed:\n{}", out.stderr);
    out.stdout
}
