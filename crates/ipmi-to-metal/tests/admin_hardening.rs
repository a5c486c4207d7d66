//! The admin server against a careless operator and a hostile web page (issue 19): a reload
//! swaps the token (defect 10), every answer says `Cache-Control: no-store` and
//! `X-Content-Type-Options: nosniff`, and a request for a host name the server does not answer
//! to (DNS rebinding, here curl told that `evil.example` is 127.0.0.1) is refused.

mod common;

use common::admin::*;
use common::*;
use std::process::Command;

/// Rewrites the `[admin]` table of the served configuration with `extra` keys.
fn add_to_admin_table(s: &Served, extra: &str) {
    let path = s.bmc.dir.path().join("bmc.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace("[admin]\n", &format!("[admin]\n{extra}\n"));
    std::fs::write(&path, text).unwrap();
}

#[test]
fn a_reload_swaps_the_admin_token() {
    let s = Served::start("", "");
    let new_token = "rotated-admin-token-0b7e41d2c9";
    std::fs::write(
        s.bmc.dir.path().join("admin.token"),
        format!("{new_token}\n"),
    )
    .unwrap();
    let (status, body) = s.http("POST", "/reload", Some(ADMIN_TOKEN), "");
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["outcome"], "applied", "{answer}");
    assert_eq!(answer["admin_updated"], true, "{answer}");
    assert_eq!(answer["needs_restart"], serde_json::json!([]), "{answer}");
    // The old token is refused at once, the new one taken.
    let (status, _) = s.http("GET", "/bmcs", Some(ADMIN_TOKEN), "");
    assert_eq!(status, 401);
    let (status, body) = s.http("GET", "/bmcs", Some(new_token), "");
    assert_eq!(status, 200, "{body}");
    // The same again through SIGHUP: back to the first token.
    std::fs::write(
        s.bmc.dir.path().join("admin.token"),
        format!("{ADMIN_TOKEN}\n"),
    )
    .unwrap();
    s.bmc.signal("HUP");
    assert!(
        eventually(20, || s.http("GET", "/bmcs", Some(ADMIN_TOKEN), "").0
            == 200),
        "{}",
        s.bmc.server_log()
    );
    assert_eq!(s.http("GET", "/bmcs", Some(new_token), "").0, 401);
    // (A server that would have to move needs a restart: tests/reload.rs.)
}

#[test]
fn every_admin_answer_says_no_store_and_nosniff() {
    let s = Served::start("", "");
    admin(&s.bmc, "chassis power reset");
    let asks: [(&str, &str, Option<&str>); 7] = [
        ("GET", "/bmcs", Some(ADMIN_TOKEN)),
        ("GET", "/bmcs/node1/console?kib=1", Some(ADMIN_TOKEN)),
        ("POST", "/reload", Some(ADMIN_TOKEN)),
        ("GET", "/healthz", None),
        ("GET", "/metrics", Some(ADMIN_TOKEN)),
        // Errors too: a refusal, a BMC that is not there.
        ("GET", "/bmcs", None),
        ("GET", "/bmcs/node9/console", Some(ADMIN_TOKEN)),
    ];
    for (method, path, token) in asks {
        let (status, head, body) = http_full(s.admin_port, method, path, token, "");
        assert!(status < 500, "{method} {path}: {status} {body}");
        assert!(
            head.contains("\r\ncache-control: no-store"),
            "{method} {path}:\n{head}"
        );
        assert!(
            head.contains("\r\nx-content-type-options: nosniff"),
            "{method} {path}:\n{head}"
        );
    }
}

/// curl's status code for `url`, with `name:port` resolved to 127.0.0.1 as a rebinding DNS
/// server would answer.
fn curl_status(name: &str, port: u16, path: &str, token: Option<&str>) -> String {
    let curl = require("curl", "curl");
    let mut cmd = Command::new(curl);
    cmd.args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "20"])
        .arg("--resolve")
        .arg(format!("{name}:{port}:127.0.0.1"));
    if let Some(t) = token {
        cmd.arg("-H").arg(format!("Authorization: Bearer {t}"));
    }
    cmd.arg(format!("http://{name}:{port}{path}"));
    run(&mut cmd).stdout
}

#[test]
fn a_rebound_host_name_is_refused() {
    let s = Served::start("", "");
    let port = s.admin_port;
    // The open path and one with the token: neither answers for a name not this server's.
    assert_eq!(curl_status("evil.example", port, "/healthz", None), "421");
    assert_eq!(
        curl_status("evil.example", port, "/bmcs", Some(ADMIN_TOKEN)),
        "421"
    );
    assert_eq!(curl_status("evil.example", port, "/", None), "421");
    // Addresses and localhost names are this server's.
    assert_eq!(curl_status("127.0.0.1", port, "/healthz", None), "200");
    assert_eq!(curl_status("localhost", port, "/healthz", None), "200");
    assert_eq!(curl_status("shim.test", port, "/healthz", None), "421");
    // A name the operator adds (reloaded, without a restart).
    add_to_admin_table(&s, "hosts = [\"shim.test\"]");
    let (status, body) = s.http("POST", "/reload", Some(ADMIN_TOKEN), "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(curl_status("shim.test", port, "/healthz", None), "200");
    assert_eq!(curl_status("evil.example", port, "/healthz", None), "421");
}
