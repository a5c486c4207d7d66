//! `$expand` on the Redfish service with the real binary and real clients: sushy reading a
//! chassis's sensors the way Ironic does (one expanded GET, no `Thermal` or `Power` read of its
//! own), and curl for the rest: the user's authorization in every expanded resource, the bound
//! (507 past 64 resources), the ETag of an expanded answer, the levels, and 501 for the other `$`
//! parameters.

mod common;
#[allow(dead_code)]
#[path = "redfish_service/serve.rs"]
mod serve;
#[allow(dead_code)]
#[path = "redfish/services.rs"]
mod services;
use common::admin::*;
use common::*;
use serde_json::Value;
use serve::*;

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn sushy_reads_chassis_sensors_in_one_expanded_get() {
    let (s, port) = start(false, "");
    let out = sushy(
        &s,
        "sushy_sensors.py",
        &format!("https://127.0.0.1:{port}"),
        "viewer",
        VIEWER_PASSWORD,
    );
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('|').collect()).collect();
    let of = |kind: &str| -> Vec<&Vec<&str>> { rows.iter().filter(|r| r[0] == kind).collect() };
    // The sim's fans spin (a reading in RPM), its temperatures read, its supplies are present.
    let fans = of("fan");
    assert!(!fans.is_empty(), "{}", out);
    for f in &fans {
        assert!(f[1].starts_with("Fan "), "{}", out);
        assert!(f[2].parse::<i64>().is_ok_and(|rpm| rpm > 0), "{}", out);
        assert_eq!(f[3], "RPM");
        assert_eq!(f[4], "Enabled");
    }
    let temps = of("temperature");
    assert!(temps.iter().any(|t| t[1] == "Inlet Temp"), "{}", out);
    for t in &temps {
        assert!(t[2].parse::<f64>().is_ok_and(|c| c > 0.0), "{}", out);
    }
    let supplies = of("power_supply");
    assert!(!supplies.is_empty(), "{}", out);
    assert!(
        supplies.iter().all(|p| p[2] == "Enabled" && p[3] == "OK"),
        "{}",
        out
    );
    // One request, answered at once: no retry, no Thermal or Power read of sushy's own.
    let requests: Vec<&str> = of("request").iter().map(|r| r[1]).collect();
    assert_eq!(
        requests,
        ["GET /redfish/v1/Chassis/node1?$expand=.($levels=1) 200"],
        "{}",
        out
    );
}

#[test]
fn expansion_levels_etag_and_other_queries() {
    let (s, port) = start(true, "");
    let chassis = format!("{}/redfish/v1/Chassis/node1", base(port));
    let viewer = format!("viewer:{VIEWER_PASSWORD}");
    let get = |q: &str, more: &[&str]| {
        let mut args = vec!["-u", viewer.as_str(), "-g"];
        args.extend_from_slice(more);
        curl(&format!("{chassis}{q}"), &args)
    };
    let (st, plain_head, plain) = get("", &[]);
    assert_eq!(st, 200, "{plain}");
    let plain = json(&plain);
    assert_eq!(
        plain["Thermal"],
        json(r#"{"@odata.id":"/redfish/v1/Chassis/node1/Thermal"}"#)
    );

    // `.`: Thermal and Power in place, each with its own @odata.etag; Links stay references.
    let (st, head, body) = get("?$expand=.($levels=1)", &[]);
    assert_eq!(st, 200, "{body}\n{}", s.bmc.server_log());
    let v = json(&body);
    assert_eq!(
        v["Thermal"]["@odata.id"],
        "/redfish/v1/Chassis/node1/Thermal"
    );
    assert!(
        v["Thermal"]["Fans"]
            .as_array()
            .is_some_and(|f| !f.is_empty()),
        "{body}"
    );
    assert!(v["Thermal"]["@odata.etag"].is_string(), "{body}");
    assert!(v["Power"]["PowerSupplies"].is_array(), "{body}");
    assert_eq!(
        v["Links"]["ManagedBy"],
        json(r#"[{"@odata.id":"/redfish/v1/Managers/node1"}]"#)
    );
    // Percent-encoded as some clients send it: the same.
    let (st, _, enc) = get("?%24expand=.%28%24levels%3D1%29", &[]);
    assert_eq!(st, 200);
    assert_eq!(json(&enc)["Thermal"]["Name"], "Thermal");

    // The ETag is that of the expanded answer (the body's @odata.etag): If-None-Match with it
    // is 304, with the plain resource's it is not. (`~`: the sensor readings of `.` move.)
    let expanded_tag = etag(&head);
    assert_ne!(expanded_tag, etag(&plain_head));
    assert_eq!(
        v["@odata.etag"].as_str().map(str::to_ascii_lowercase),
        Some(expanded_tag)
    );
    let (_, links_head, links) = get("?$expand=~", &[]);
    let links_tag = json(&links)["@odata.etag"].as_str().unwrap().to_string();
    assert_eq!(etag(&links_head), links_tag.to_ascii_lowercase());
    let inm = format!("If-None-Match: {links_tag}");
    assert_eq!(get("?$expand=~", &["-H", &inm]).0, 304);
    let inm_plain = format!("If-None-Match: {}", plain["@odata.etag"].as_str().unwrap());
    assert_eq!(get("?$expand=~", &["-H", &inm_plain]).0, 200);
    assert_eq!(get("", &["-H", &inm_plain]).0, 304);

    // `~`: only Links; `*`: both; levels: the manager's own references expanded too.
    let (_, _, body) = get("?$expand=~", &[]);
    let v = json(&body);
    assert_eq!(v["Links"]["ManagedBy"][0]["ManagerType"], "BMC", "{body}");
    assert_eq!(v["Thermal"].as_object().map(|o| o.len()), Some(1), "{body}");
    let (_, _, body) = get("?$expand=*", &[]);
    let v = json(&body);
    assert_eq!(v["Links"]["ManagedBy"][0]["ManagerType"], "BMC", "{body}");
    assert_eq!(v["Links"]["ComputerSystems"][0]["Id"], "node1", "{body}");
    assert_eq!(v["Thermal"]["Name"], "Thermal", "{body}");
    let (_, _, body) = get("?$expand=*($levels=2)", &[]);
    let v = json(&body);
    let manager = &v["Links"]["ManagedBy"][0];
    assert_eq!(
        manager["Links"]["ManagerForChassis"][0]["@odata.id"], "/redfish/v1/Chassis/node1",
        "{body}"
    );
    assert!(
        manager["Links"]["ManagerForChassis"][0]["Name"].is_string(),
        "level 2 expanded: {body}"
    );

    // Errors: a level out of range, a value not understood, the other `$` parameters (501);
    // a parameter without `$` is ignored.
    let (st, _, body) = get("?$expand=.($levels=4)", &[]);
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("QueryParameterOutOfRange"), "{body}");
    let (st, _, body) = get("?$expand=Thermal", &[]);
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("QueryParameterValueFormatError"), "{body}");
    for q in [
        "$select=Id",
        "$top=1",
        "$filter=Id%20eq%20node1",
        "$rpvunknown",
    ] {
        let (st, _, body) = get(&format!("?{q}"), &[]);
        assert_eq!(st, 501, "{q}: {body}");
        assert!(body.contains("QueryNotSupported"), "{body}");
    }
    assert_eq!(get("?rpvunknown", &[]).0, 200);

    // The root says what it supports.
    let (_, _, root) = curl(&format!("{}/redfish/v1/", base(port)), &[]);
    assert_eq!(
        json(&root)["ProtocolFeaturesSupported"]["ExpandQuery"],
        json(r#"{"ExpandAll":true,"Levels":true,"Links":true,"NoLinks":true,"MaxLevels":3}"#)
    );
}

#[test]
fn expansion_shows_only_what_the_user_may_get() {
    let (_s, port) = start_with_node2("user");
    let url = |p: &str| format!("{}/redfish/v1{p}", base(port));
    let systems = |user: &str| {
        let (st, _, body) = curl(&url("/Systems?$expand=."), &["-u", user, "-g"]);
        assert_eq!(st, 200, "{body}");
        let v = json(&body);
        v["Members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                assert!(m["PowerState"].is_string(), "not expanded: {body}");
                m["Id"].as_str().unwrap().to_string()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(systems(ADMIN_BASIC), ["node1"]);
    assert_eq!(systems(OTHER_BASIC), ["node2"]);
    // Without credentials the root is served, and what needs them stays a reference.
    let (st, _, body) = curl(&url("/?$expand=*"), &["-g"]);
    assert_eq!(st, 200, "{body}");
    let v = json(&body);
    assert_eq!(v["Systems"], json(r#"{"@odata.id":"/redfish/v1/Systems"}"#));
    assert_eq!(
        v["Links"]["Sessions"],
        json(r#"{"@odata.id":"/redfish/v1/SessionService/Sessions"}"#)
    );
    // A non-public resource with $expand and no credentials: 401 as without it.
    assert_eq!(curl(&url("/Chassis/node1?$expand=."), &["-g"]).0, 401);
    // node1's administrator on node2's chassis: 401 as without $expand.
    let (st, _, _) = curl(&url("/Chassis/node2?$expand=."), &["-u", ADMIN_BASIC, "-g"]);
    assert_eq!(st, 401);
}

#[test]
fn expanding_more_than_64_resources_is_refused() {
    // 65 BMCs with the same administrator: their Systems collection expanded would be 65
    // backend reads in one request.
    let port = free_port();
    let redfish = test_support::free_tcp_port();
    let mut config = String::new();
    for i in 0..65 {
        let listen = if i == 0 { port } else { free_port() };
        config.push_str(&format!(
            "[[bmc]]\nname = \"n{i}\"\nlisten = \"127.0.0.1:{listen}\"\nbackend = \"sim\"\n\n[[bmc.users]]\nname = \"admin\"\npassword_file = \"admin.pass\"\nprivilege = \"administrator\"\n\n"
        ));
    }
    config.push_str(&format!(
        "[redfish]\nlisten = \"127.0.0.1:{redfish}\"\nallow_http = true\n"
    ));
    let s = Served::start_bmcs(port, &config);
    assert!(
        eventually(30, || std::net::TcpStream::connect(("127.0.0.1", redfish))
            .is_ok()),
        "{}",
        s.bmc.server_log()
    );
    let systems = format!("{}/redfish/v1/Systems", base(redfish));
    let (st, _, body) = curl(&systems, &["-u", ADMIN_BASIC]);
    assert_eq!(st, 200, "{body}");
    assert_eq!(json(&body)["Members@odata.count"], 65);
    let (st, _, body) = curl(&format!("{systems}?$expand=."), &["-u", ADMIN_BASIC, "-g"]);
    assert_eq!(st, 507, "{body}");
    assert!(body.contains("InsufficientStorage"), "{body}");
    // One system expanded is within the bound.
    let (st, _, body) = curl(
        &format!("{systems}/n7?$expand=.($levels=1)"),
        &["-u", ADMIN_BASIC, "-g"],
    );
    assert_eq!(st, 200, "{body}");
}
