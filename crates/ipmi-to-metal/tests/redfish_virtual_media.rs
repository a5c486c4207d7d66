//! The Redfish front-end of virtual media with Ironic's `sushy`: the redfish-virtual-media
//! sequence as Ironic runs it (eject, insert with `inserted=True, write_protected=True`, boot
//! `Cd` Once, reset) against the simulator, whose console names the image it booted; the
//! resources under the Manager and the System alike, ETags, the audit as Redfish, the SEL; and a
//! backend without media offering no member.

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

const IMAGE: &str = "http://192.0.2.10/images/ironic-agent.iso";

fn console(s: &Served) -> String {
    s.http("GET", "/bmcs/node1/console", Some(ADMIN_TOKEN), "")
        .1
}

fn get(port: u16, path: &str) -> (u16, String, Value) {
    let (status, head, body) = curl(&format!("{}{path}", base(port)), &["-u", ADMIN_BASIC]);
    (
        status,
        head,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    )
}

#[test]
fn sushy_inserts_the_cd_boots_it_once_and_the_sim_console_shows_the_image() {
    let (s, port) = start(true, "");
    for _ in 0..2 {
        // Twice: the second run finds the CD inserted and ejects it first, as Ironic does.
        let out = s.sushy_vmedia(&base(port), "/redfish/v1/Systems/node1", IMAGE);
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                "inserted /redfish/v1/Systems/node1/VirtualMedia/Cd",
                "booting cd"
            ],
            "{out}"
        );
    }
    let booted = format!("Booting from virtual media CD {IMAGE}");
    assert!(
        eventually(10, || console(&s).matches(&booted).count() == 2),
        "{}",
        console(&s)
    );
    // Once: the boot override is gone after that boot.
    let (_, _, system) = get(port, "/redfish/v1/Systems/node1");
    assert_eq!(
        system["Boot"]["BootSourceOverrideEnabled"], "Disabled",
        "{system}"
    );

    // The same slot under the Manager.
    let (status, _, cd) = get(port, "/redfish/v1/Managers/node1/VirtualMedia/Cd");
    assert_eq!(status, 200, "{cd}");
    assert_eq!(cd["Image"], IMAGE);
    assert_eq!(cd["Inserted"], true);
    assert_eq!(cd["WriteProtected"], true);
    assert_eq!(cd["ConnectedVia"], "URI");
    assert_eq!(cd["TransferProtocolType"], "HTTP");
    let (_, _, members) = get(port, "/redfish/v1/Managers/node1/VirtualMedia");
    assert_eq!(members["Members@odata.count"], 2, "{members}");

    // Audited as Redfish requests of the user admin; in the SEL.
    let audit = s.audit();
    let inserts: Vec<&Value> = audit
        .iter()
        .filter(|r| r["command"] == "InsertMedia")
        .collect();
    assert_eq!(inserts.len(), 2, "{audit:?}");
    assert_eq!(inserts[0]["user"], "admin", "{}", inserts[0]);
    assert!(
        inserts[0].to_string().to_lowercase().contains("redfish"),
        "{}",
        inserts[0]
    );
    assert!(audit.iter().any(|r| r["command"] == "EjectMedia"));
    assert!(admin(&s.bmc, "sel elist").contains("Virtual Media"));
}

#[test]
fn patch_with_a_stale_etag_is_refused_and_image_null_ejects() {
    let (s, port) = start(true, "");
    let uri = format!("{}/redfish/v1/Systems/node1/VirtualMedia/Cd", base(port));
    let (_, head, cd) = get(port, "/redfish/v1/Systems/node1/VirtualMedia/Cd");
    assert!(head.contains("etag: "), "{head}");
    let etag = cd["@odata.etag"].as_str().expect("an ETag").to_string();
    let patch = |body: &str, tag: &str| {
        curl(
            &uri,
            &[
                "-u",
                ADMIN_BASIC,
                "-X",
                "PATCH",
                "-H",
                "Content-Type: application/json",
                "-H",
                &format!("If-Match: {tag}"),
                "-d",
                body,
            ],
        )
    };
    let (status, _, body) = patch(&format!("{{\"Image\": \"{IMAGE}\"}}"), &etag);
    assert_eq!(status, 200, "{body}\n{}", s.bmc.server_log());
    assert!(body.contains("\"Inserted\":true"), "{body}");
    // The old ETag is stale now.
    let (status, _, body) = patch("{\"Image\": null}", &etag);
    assert_eq!(status, 412, "{body}");
    let (status, _, body) = patch("{\"Image\": null}", "*");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"Inserted\":false"), "{body}");
    // A non-HTTP image is refused.
    let (status, _, body) = curl(
        &format!("{uri}/Actions/VirtualMedia.InsertMedia"),
        &[
            "-u",
            ADMIN_BASIC,
            "-H",
            "Content-Type: application/json",
            "-d",
            "{\"Image\": \"nfs://192.0.2.1/a.iso\"}",
        ],
    );
    assert_eq!(status, 400, "{body}");
    // A viewer may read but not eject.
    let (status, _, _) = curl(
        &format!("{uri}/Actions/VirtualMedia.EjectMedia"),
        &[
            "-u",
            &format!("viewer:{VIEWER_PASSWORD}"),
            "-X",
            "POST",
            "-d",
            "{}",
        ],
    );
    assert!(status == 401 || status == 403, "{status}");
}

#[test]
fn a_backend_without_media_has_no_member_and_no_link() {
    use common::metal::*;
    let fake = FakeMetal::start(vec![device(1, "active", &[])]);
    let port = free_port();
    let rf = test_support::free_tcp_port();
    // Metal without the iPXE endpoint configured: it cannot boot an image.
    let metal = format!(
        "[bmc.metal]\napi_url = \"{}\"\nallow_http = true\ndevice_id = \"{}\"\ntoken_env = \"TEST_METAL_TOKEN\"\n",
        fake.url(),
        device_id(1)
    );
    let config = format!(
        "{}\n[redfish]\nlisten = \"127.0.0.1:{rf}\"\nallow_http = true\n",
        config_with_backend(port, "metal", &metal)
    );
    let s = Served::start_bmcs(port, &config);
    wait_listening(&s.bmc, rf);
    let (status, _, members) = get(rf, "/redfish/v1/Managers/node1/VirtualMedia");
    assert_eq!(status, 200, "{members}");
    assert_eq!(members["Members"], serde_json::json!([]));
    let (_, _, system) = get(rf, "/redfish/v1/Systems/node1");
    assert!(system.get("VirtualMedia").is_none(), "{system}");
    assert!(
        !system["Boot"]["BootSourceOverrideTarget@Redfish.AllowableValues"]
            .to_string()
            .contains("UefiHttp"),
        "{system}"
    );
    let (status, _, _) = get(rf, "/redfish/v1/Managers/node1/VirtualMedia/Cd");
    assert_eq!(status, 404);
    let (status, _, body) = curl(
        &format!(
            "{}/redfish/v1/Systems/node1/VirtualMedia/Cd/Actions/VirtualMedia.InsertMedia",
            base(rf)
        ),
        &[
            "-u",
            ADMIN_BASIC,
            "-d",
            &format!("{{\"Image\": \"{IMAGE}\"}}"),
        ],
    );
    assert_eq!(status, 404, "{body}");
    assert!(fake.device(1).ipxe_script_url.is_none());
}

#[test]
fn uefi_http_boot_points_a_netbooting_machine_at_the_endpoint_which_chains_the_uri() {
    use common::metal::*;
    let fake = FakeMetal::start(vec![device(1, "active", &[])]);
    let (port, rf, ipxe) = (
        free_port(),
        test_support::free_tcp_port(),
        test_support::free_tcp_port(),
    );
    let metal = format!(
        "[bmc.metal]\napi_url = \"{}\"\nallow_http = true\ndevice_id = \"{}\"\ntoken_env = \"TEST_METAL_TOKEN\"\n",
        fake.url(),
        device_id(1)
    );
    let config = format!(
        "{}\n[ipxe]\nlisten = \"127.0.0.1:{ipxe}\"\npublic_url = \"http://127.0.0.1:{ipxe}\"\n[redfish]\nlisten = \"127.0.0.1:{rf}\"\nallow_http = true\n",
        config_with_backend(port, "metal", &metal)
    );
    let s = Served::start_bmcs(port, &config);
    wait_listening(&s.bmc, rf);
    let (_, _, system) = get(rf, "/redfish/v1/Systems/node1");
    assert!(
        system["Boot"]["BootSourceOverrideTarget@Redfish.AllowableValues"]
            .to_string()
            .contains("UefiHttp"),
        "{system}"
    );
    assert!(system["VirtualMedia"]["@odata.id"].is_string(), "{system}");
    let shim = "http://10.0.2.2:9000/shim.efi";
    let (status, _, body) = curl(
        &format!("{}/redfish/v1/Systems/node1", base(rf)),
        &[
            "-u",
            ADMIN_BASIC,
            "-X",
            "PATCH",
            "-H",
            "Content-Type: application/json",
            "-d",
            &format!("{{\"Boot\": {{\"BootSourceOverrideTarget\": \"UefiHttp\", \"BootSourceOverrideEnabled\": \"Once\", \"HttpBootUri\": \"{shim}\"}}}}"),
        ],
    );
    assert_eq!(status, 200, "{body}\n{}", s.bmc.server_log());
    let (_, _, system) = get(rf, "/redfish/v1/Systems/node1");
    assert_eq!(
        system["Boot"]["BootSourceOverrideTarget"], "UefiHttp",
        "{system}"
    );
    assert_eq!(system["Boot"]["HttpBootUri"], shim, "{system}");
    // The machine netboots the endpoint, whose script chains the URI.
    let url = fake
        .device(1)
        .ipxe_script_url
        .clone()
        .expect("pointed at the endpoint");
    let path = url
        .strip_prefix(&format!("http://127.0.0.1:{ipxe}"))
        .unwrap_or_else(|| panic!("{url}"))
        .to_string();
    let (status, script) = http(ipxe, "GET", &path, None, "");
    assert_eq!(status, 200);
    assert!(script.contains(shim), "{script}");
}
