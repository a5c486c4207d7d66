//! The admin server with the real binary: the token is required (401 without it or with a
//! wrong one; `/healthz` open when configured), `GET /bmcs` shows what ipmitool did,
//! `POST /bmcs/{name}/power` is carried out and audited like an IPMI request, the console tail;
//! and the status page in Debian's headless chromium.

mod common;
use common::admin::*;
use common::*;

#[test]
fn the_admin_api_needs_the_token() {
    let s = Served::start("", "");
    for path in ["/bmcs", "/bmcs/node1/console"] {
        let (status, head, body) = http_full(s.admin_port, "GET", path, None, "");
        assert_eq!(status, 401, "GET {path}: {body}");
        assert!(head.contains("www-authenticate: bearer"), "{head}");
        let (status, _) = s.http("GET", path, Some("test-admin-token-5f2a9c1e78"), "");
        assert_eq!(status, 401, "GET {path} with a wrong token");
    }
    let (status, _) = s.http("POST", "/bmcs/node1/power", None, r#"{"action":"off"}"#);
    assert_eq!(status, 401);
    // Refused before anything is done: the machine is still on, nothing audited.
    assert!(admin(&s.bmc, "chassis power status").contains("Chassis Power is on"));
    assert!(s.audit().is_empty(), "{:?}", s.audit());
    // Open as configured.
    let (status, body) = s.http("GET", "/healthz", None, "");
    assert_eq!((status, body.as_str()), (200, "ok: 1 BMCs served\n"));
    // The page's static files hold no data and are open; its data is not.
    let (status, page) = s.http("GET", "/", None, "");
    assert_eq!(status, 200);
    assert!(page.contains("/page.js"), "{page}");
    assert!(!page.contains("node1"), "no data in the page itself");
    // The token is no part of any log.
    assert!(!s.bmc.server_log().contains(ADMIN_TOKEN));
}

#[test]
fn bmcs_show_ipmitool_actions_and_power_is_audited_like_ipmi() {
    let s = Served::start("", "");
    let b = s.bmc_json("node1");
    assert_eq!(b["address"], format!("127.0.0.1:{}", s.bmc.port));
    assert_eq!(b["backends"][0]["kind"], "sim");
    assert_eq!(b["sessions"], 0);
    assert!(b["last_action"].is_null(), "{b}");

    admin(&s.bmc, "chassis power off");
    admin(&s.bmc, "chassis power on");
    let b = s.bmc_json("node1");
    assert_eq!(b["power"]["state"], "on", "{b}");
    let last = &b["last_action"];
    assert_eq!(last["call"], "power on", "{b}");
    assert_eq!(last["user"], "admin");
    assert_eq!(last["privilege"], "administrator");
    assert_eq!(last["outcome"], "done");
    assert!(last["client"].as_str().unwrap().starts_with("127.0.0.1:"));

    // A power action through the API: carried out, and audited with the API's client.
    let (status, body) = s.http(
        "POST",
        "/bmcs/node1/power",
        Some(ADMIN_TOKEN),
        r#"{"action":"off"}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(admin(&s.bmc, "chassis power status").contains("Chassis Power is off"));
    let b = s.bmc_json("node1");
    assert_eq!(b["power"]["state"], "off");
    assert_eq!(b["last_action"]["user"], "admin-api");
    // Refused by the machine (a cycle needs it on): the failure is shown and audited.
    let (status, v) = s.power("node1", "cycle");
    assert_eq!(status, 409, "{v}");
    assert_eq!(
        (v["outcome"].as_str(), v["ccode"].as_str()),
        (Some("failed"), Some("0xd5"))
    );
    let b = s.bmc_json("node1");
    assert!(
        b["last_error"]["error"]
            .as_str()
            .unwrap()
            .contains("needs the machine on"),
        "{b}"
    );
    // Bad requests.
    let token = Some(ADMIN_TOKEN);
    let (status, _) = s.http("POST", "/bmcs/node9/power", token, r#"{"action":"on"}"#);
    assert_eq!(status, 404);
    let (status, body) = s.http(
        "POST",
        "/bmcs/node1/power",
        token,
        r#"{"action":"explode"}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unknown action"), "{body}");

    let records = s.audit();
    let summary: Vec<(String, String, String)> = records
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (s("user"), s("call"), s("outcome"))
        })
        .collect();
    let expect = |u: &str, c: &str, o: &str| (u.to_string(), c.to_string(), o.to_string());
    assert_eq!(
        summary,
        [
            expect("admin", "power off", "asked"),
            expect("admin", "power off", "done"),
            expect("admin", "power on", "asked"),
            expect("admin", "power on", "done"),
            expect("admin-api", "power off", "asked"),
            expect("admin-api", "power off", "done"),
            expect("admin-api", "power cycle", "asked"),
            expect("admin-api", "power cycle", "failed"),
        ]
    );
    let api = &records[5];
    assert_eq!(api["command"], "admin API power");
    assert!(api["privilege"].is_null());
    assert!(api["client"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(api["bmc"], "node1");
}

#[test]
fn the_console_tail() {
    let s = Served::start("", "");
    // The sim prints its boot text after a reset; the console log keeps it.
    admin(&s.bmc, "chassis power reset");
    let found = eventually(20, || {
        let (status, body) = s.http("GET", "/bmcs/node1/console?kib=4", Some(ADMIN_TOKEN), "");
        status == 200 && body.contains("Linux version 6.1.0-sim")
    });
    assert!(
        found,
        "{:?}",
        s.http("GET", "/bmcs/node1/console", Some(ADMIN_TOKEN), "")
    );
    let (_, body) = s.http("GET", "/bmcs/node1/console?kib=1", Some(ADMIN_TOKEN), "");
    assert!(body.len() <= 1024 + 3 * 8, "at most 1 KiB: {}", body.len());
    let (status, _) = s.http("GET", "/bmcs/node9/console", Some(ADMIN_TOKEN), "");
    assert_eq!(status, 404);
}

/// The status page in Debian's chromium, headless: it loads, shows every BMC, and a power
/// action done with ipmitool appears in it.
#[test]
fn the_status_page_in_headless_chromium() {
    let port2 = free_port();
    let second = standard_config(port2, "")
        .split("[[bmc]]")
        .nth(1)
        .unwrap()
        .replace("name = \"node1\"", "name = \"node2\"");
    let s = Served::start("", &format!("[[bmc]]{second}"));
    admin(&s.bmc, "chassis power off");
    let url = format!("http://127.0.0.1:{}/#token={ADMIN_TOKEN}", s.admin_port);
    let dom = chromium_dom(&url, 8000, s.bmc.dir.path());
    let row = |dom: &str, name: &str| -> String {
        let at = dom
            .find(&format!("data-bmc=\"{name}\""))
            .unwrap_or_else(|| panic!("no row of {name} in:\n{dom}"));
        let end = dom[at..].find("</tr>").unwrap();
        dom[at..at + end].to_string()
    };
    let node1 = row(&dom, "node1");
    assert!(node1.contains(">power off<"), "{node1}");
    assert!(node1.contains(">admin from 127.0.0.1:"), "{node1}");
    assert!(node1.contains("power-off"), "{node1}");
    let node2 = row(&dom, "node2");
    assert!(!node2.contains("power off"), "{node2}");
    assert!(dom.contains("2 BMCs"), "{dom}");
    // The token went from the address into the tab's storage: it is not in the page.
    assert!(!dom.contains(ADMIN_TOKEN));

    // An action done with ipmitool appears in the page.
    // The sim takes 500 ms to power on, and the page's background refresh shows what it reads
    // (off until then): the page is looked at again until the machine is on, a few seconds at
    // most.
    admin(&s.bmc, "chassis power on");
    let mut node1 = String::new();
    for _ in 0..5 {
        let dom = chromium_dom(&url, 8000, s.bmc.dir.path());
        node1 = row(&dom, "node1");
        if node1.contains("power-on") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    assert!(node1.contains(">power on<"), "{node1}");
    assert!(node1.contains("power-on"), "{node1}");

    // The filter and the order from the address (as a bookmark would give them): node2's row
    // only, then both in reverse name order.
    let dom = chromium_dom(&format!("{url}&filter=NODE2"), 8000, s.bmc.dir.path());
    assert!(row(&dom, "node1").contains("hidden"), "{dom}");
    assert!(!row(&dom, "node2").contains("hidden"), "{dom}");
    assert!(dom.contains("2 BMCs, 1 shown"), "{dom}");
    let dom = chromium_dom(&format!("{url}&sort=-name"), 8000, s.bmc.dir.path());
    let (at1, at2) = (
        dom.find("data-bmc=\"node1\""),
        dom.find("data-bmc=\"node2\""),
    );
    assert!(at2.unwrap() < at1.unwrap(), "{dom}");
    assert!(
        dom.contains("<th data-key=\"name\" class=\"name desc\">"),
        "{dom}"
    );

    // Without the token the page shows the login form and no BMC.
    let bare = format!("http://127.0.0.1:{}/", s.admin_port);
    let dom = chromium_dom(&bare, 3000, s.bmc.dir.path());
    assert!(!dom.contains("data-bmc="), "{dom}");
    assert!(dom.contains("<form id=\"login\">"), "{dom}");
}
