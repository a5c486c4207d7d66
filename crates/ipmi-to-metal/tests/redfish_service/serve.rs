//! The shim with a Redfish service, and curl, for the Redfish service's tests.

use crate::common::admin::*;
use crate::common::*;
use std::process::Command;

pub const ADMIN_BASIC: &str = "admin:s3cret-admin";

/// A served BMC (node1, the standard users) with a Redfish service; `http`: plain HTTP.
pub fn start(http: bool, more: &str) -> (Served, u16) {
    let port = test_support::free_tcp_port();
    let redfish =
        format!("[redfish]\nlisten = \"127.0.0.1:{port}\"\nallow_http = {http}\n{more}\n");
    let s = Served::start("", &redfish);
    assert!(
        eventually(20, || std::net::TcpStream::connect(("127.0.0.1", port))
            .is_ok()),
        "the Redfish service did not listen; log:\n{}",
        s.bmc.server_log()
    );
    (s, port)
}

/// A request with curl: (status, headers lower-cased, body).
pub fn curl(url: &str, args: &[&str]) -> (u16, String, String) {
    let curl = require("curl", "curl");
    let out = run(Command::new(curl)
        .args(["-sk", "-i", "--max-time", "30"])
        .args(args)
        .arg(url));
    let text = out.stdout.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// Runs `tests/redfish_service/SCRIPT` (a sushy driver) against the service at `url` as
/// `user`; its standard output, or a panic with its output and the server's log.
pub fn sushy(s: &Served, script: &str, url: &str, user: &str, password: &str) -> String {
    let python = require_python_module("sushy");
    let path = format!(
        "{}/tests/redfish_service/{script}",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = run(Command::new(python)
        .arg(path)
        .arg(url)
        .args([user, password, "node1"]));
    assert!(
        out.ok,
        "sushy failed:\n{}\nlog:\n{}",
        out.all(),
        s.bmc.server_log()
    );
    out.stdout
}

pub fn base(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// A served BMC with a Redfish service over TLS with a certificate of `ca` (for 127.0.0.1).
pub fn start_tls(ca: &crate::services::TestCa) -> (Served, u16) {
    let d = ca.dir.path();
    start(
        false,
        &format!(
            "tls_cert = {:?}\ntls_key = {:?}",
            d.join("server.pem").display().to_string(),
            d.join("server.key").display().to_string()
        ),
    )
}
