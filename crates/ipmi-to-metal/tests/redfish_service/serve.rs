//! The shim with a Redfish service, and curl, for the Redfish service's tests.

use crate::common::admin::*;
use crate::common::*;
use std::process::Command;

pub const ADMIN_BASIC: &str = "admin:s3cret-admin";

/// A served BMC (node1, the standard users) with a Redfish service; `http`: plain HTTP.
pub fn start(http: bool, more: &str) -> (Served, u16) {
    let port = test_support::free_tcp_port();
    serve(
        port,
        &format!("[redfish]\nlisten = \"127.0.0.1:{port}\"\nallow_http = {http}\n{more}\n"),
    )
}

/// The password of node2's user `other` ([`start_with_node2`]).
pub const OTHER_BASIC: &str = "other:other-password-77";

/// node1 (the standard users) and node2, whose one user `other` ([`OTHER_BASIC`]) has
/// `privilege`, under one plain-HTTP Redfish service.
pub fn start_with_node2(privilege: &str) -> (Served, u16) {
    let port = test_support::free_tcp_port();
    let other = free_port();
    serve(
        port,
        &format!(
            "[[bmc]]\nname = \"node2\"\nlisten = \"127.0.0.1:{other}\"\nbackend = \"sim\"\n\n[[bmc.users]]\nname = \"other\"\npassword = \"other-password-77\"\nprivilege = \"{privilege}\"\n\n[redfish]\nlisten = \"127.0.0.1:{port}\"\nallow_http = true\n"
        ),
    )
}

/// node1 served with `tail` after its tables, once its Redfish service listens on `port`.
fn serve(port: u16, tail: &str) -> (Served, u16) {
    let s = Served::start("", tail);
    wait_listening(&s.bmc, port);
    (s, port)
}

/// `ComputerSystem.Reset` of `system` (its URL) with `ResetType` `kind`, as `credentials`
/// (`user:password`, Basic): (status, body).
pub fn reset(system: &str, credentials: &str, kind: &str) -> (u16, String) {
    let body = format!(r#"{{"ResetType":"{kind}"}}"#);
    let (status, _, answer) = curl(
        &format!("{system}/Actions/ComputerSystem.Reset"),
        &[
            "-u",
            credentials,
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            &body,
        ],
    );
    (status, answer)
}

/// The `ETag` header of an answer's head as [`curl`] gives it (lower-cased).
pub fn etag(head: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .unwrap_or_else(|| panic!("no ETag in {head}"))
        .trim()
        .to_string()
}

/// MAAS's boot change: a PATCH of `system` (its URL) setting a next-boot PXE override, with
/// `If-Match: tag`, as admin: the status.
pub fn patch_pxe_once(system: &str, tag: &str) -> u16 {
    let if_match = format!("If-Match: {tag}");
    curl(
        system,
        &[
            "-u",
            ADMIN_BASIC,
            "-H",
            "Content-Type: application/json",
            "-X",
            "PATCH",
            "-H",
            &if_match,
            "-d",
            r#"{"Boot":{"BootSourceOverrideEnabled":"Once","BootSourceOverrideTarget":"Pxe"}}"#,
        ],
    )
    .0
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
