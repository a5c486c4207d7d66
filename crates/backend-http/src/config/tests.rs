use super::*;
use crate::client::Body;
use crate::template::Op;

#[derive(Deserialize)]
struct File {
    http: Spanned<HttpToml>,
}

const SECRET_ENV: &str = "BACKEND_HTTP_TEST_SECRET";

/// `body` as a `[bmc.http]` table, configured.
fn load(body: &str) -> Result<HttpSettings, String> {
    std::env::set_var(SECRET_ENV, "s3cret-value");
    let text = format!("[http]\n{body}");
    let f: File = toml::from_str(&text).map_err(|e| e.to_string())?;
    let src = Source::new("t.toml", &text, std::path::Path::new("/nonexistent"));
    configure(&src, f.http.span(), f.http.get_ref()).map_err(|e| e.0)
}

fn request(s: &HttpSettings, op: Op) -> (String, String, Body) {
    let r = s.config.ops[&op].request(&s.config.vars).unwrap();
    (r.method.to_string(), r.path, r.body)
}

fn form(pairs: &[(&str, &str)]) -> Body {
    Body::Form(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[test]
fn every_preset_parses_and_configures_with_what_the_user_gives() {
    for (name, text) in presets::PRESETS {
        toml::from_str::<HttpToml>(text).unwrap_or_else(|e| panic!("preset {name}: {e}"));
    }
    let hz = load(&format!("preset = \"hetzner-robot\"\nserver_id = \"321\"\nuser = \"#ws+abc\"\nsecret_env = \"{SECRET_ENV}\"\nassumed_power = \"last\"\n")).unwrap();
    assert_eq!(hz.base_url, "https://robot-ws.your-server.de");
    assert_eq!(
        request(&hz, Op::On),
        ("POST".into(), "/wol/321".into(), Body::Empty)
    );
    assert_eq!(request(&hz, Op::Off).2, form(&[("type", "power_long")]));
    assert_eq!(
        request(&hz, Op::Cycle),
        ("POST".into(), "/reset/321".into(), form(&[("type", "hw")]))
    );
    assert_eq!(request(&hz, Op::Soft).2, form(&[("type", "power")]));
    assert!(!hz.config.ops.contains_key(&Op::PowerStatus));
    assert_eq!(hz.config.ops[&Op::Reset].codes.of(403), crate::codes::BUSY);
    assert!(hz.auth.describe().contains("basic auth as #ws+abc"));

    let lat = load(&format!(
        "preset = \"latitude-sh\"\nserver_id = \"sv_1\"\nsecret_env = \"{SECRET_ENV}\"\n"
    ))
    .unwrap();
    assert_eq!(
        request(&lat, Op::PowerStatus),
        ("GET".into(), "/servers/sv_1".into(), Body::Empty)
    );
    assert_eq!(
        request(&lat, Op::Cycle).2,
        Body::Json(
            serde_json::json!({"data": {"type": "actions", "attributes": {"action": "reboot"}}})
        )
    );
    assert_eq!(
        lat.headers,
        [("Accept".to_string(), "application/vnd.api+json".to_string())]
    );
    assert!(lat.supports(Operation::PowerStatus).is_ok());

    let scw = load(&format!("preset = \"scaleway-elastic-metal\"\nserver_id = \"u-1\"\nvars = {{ zone = \"fr-par-2\" }}\nsecret_env = \"{SECRET_ENV}\"\n")).unwrap();
    assert_eq!(
        request(&scw, Op::On),
        (
            "POST".into(),
            "/baremetal/v1/zones/fr-par-2/servers/u-1/start".into(),
            Body::Json(serde_json::json!({}))
        )
    );
    assert_eq!(
        scw.config.ops[&Op::On].codes.of(412),
        crate::codes::INVALID_STATE
    );
    assert!(
        scw.describe()
            .contains("X-Auth-Token header; absent: soft, diag, boot"),
        "{}",
        scw.describe()
    );
}

#[test]
fn the_users_keys_go_over_the_presets() {
    let s = load(&format!(
        "preset = \"hetzner-robot\"\nserver_id = \"321\"\nuser = \"u\"\nsecret_env = \"{SECRET_ENV}\"\nbase_url = \"http://127.0.0.1:9\"\nallow_http = true\nabsent = [\"soft\"]\n[http.power_status]\nmethod = \"GET\"\npath = \"/server/{{server_id}}\"\npointer = \"/server/status\"\non = [\"ready\"]\noff = [\"off\"]\n[http.cycle]\nform = {{ type = \"sw\" }}\n"
    ))
    .unwrap();
    assert_eq!(s.base_url, "http://127.0.0.1:9");
    assert_eq!(
        request(&s, Op::Cycle),
        ("POST".into(), "/reset/321".into(), form(&[("type", "sw")]))
    );
    assert!(!s.config.ops.contains_key(&Op::Soft));
    assert_eq!(request(&s, Op::PowerStatus).1, "/server/321");
    assert!(s.describe().contains("PLAIN HTTP"), "{}", s.describe());
    // Without a way to read the power status, the route must send it elsewhere.
    let hz = load(&format!("preset = \"hetzner-robot\"\nserver_id = \"321\"\nuser = \"u\"\nsecret_env = \"{SECRET_ENV}\"\n")).unwrap();
    let why = hz.supports(Operation::PowerStatus).unwrap_err();
    assert!(
        why.contains("preset hetzner-robot has no power_status request"),
        "{why}"
    );
    assert!(hz.supports(Operation::On).is_ok());
}

#[test]
fn a_custom_api_with_boot_and_query() {
    let s = load(&format!(
        r#"base_url = "https://power.example.net/api/"
auth = "header"
header = "X-Api-Key"
secret_env = "{SECRET_ENV}"
server_id = "m 7"
vars = {{ site = "ams" }}
codes = {{ 404 = 0xCB }}
[http.power_status]
path = "/machines/{{server_id}}"
query = {{ site = "{{site}}" }}
pointer = "/machine/power"
on = ["running"]
off = ["stopped"]
[http.boot]
method = "PUT"
path = "/machines/{{server_id}}/boot"
json = {{ device = "{{boot_device}}", once = "{{persistent}}", uefi = "{{efi}}" }}
devices = {{ pxe = "network", disk = "local", none = "local" }}
"#
    ))
    .unwrap();
    assert_eq!(s.base_url, "https://power.example.net/api");
    let r = s.config.ops[&Op::PowerStatus]
        .request(&s.config.vars)
        .unwrap();
    assert_eq!(r.path, "/machines/m%207");
    assert_eq!(r.query, [("site".to_string(), "ams".to_string())]);
    assert_eq!(s.config.ops[&Op::PowerStatus].codes.of(404), 0xCB);
    assert_eq!(s.device(), Some("m 7"));
}

#[test]
fn mistakes_are_refused_with_what_to_do() {
    let secret = format!("secret_env = \"{SECRET_ENV}\"\n");
    let cases = [
        ("base_url = \"http://x\"\nauth = \"none\"\n[http.on]\npath = \"/on\"\n", "use https, or set allow_http = true"),
        ("preset = \"hetzner-robot\"\nserver_id = \"1\"\nuser = \"u\"\nsecret = \"x\"\n", "never put the secret in the file"),
        ("preset = \"nope\"\n", "unknown preset \"nope\" (available: hetzner-robot, latitude-sh, scaleway-elastic-metal)"),
        ("preset = \"scaleway-elastic-metal\"\nserver_id = \"1\"\n", "needs secret_env or secret_file"),
        (&format!("preset = \"scaleway-elastic-metal\"\nserver_id = \"1\"\n{secret}"), "(from preset scaleway-elastic-metal): the placeholder {zone} has no value: set it in vars"),
        (&format!("preset = \"latitude-sh\"\n{secret}"), "the placeholder {server_id} has no value: set server_id"),
        (&format!("preset = \"hetzner-robot\"\nserver_id = \"1\"\n{secret}"), "auth = \"basic\" needs user"),
        (&format!("base_url = \"https://x\"\nauth = \"magic\"\n{secret}"), "auth \"magic\": bearer, basic, header or none"),
        ("base_url = \"https://x\"\n[http.on]\npath = \"/on\"\njson = {}\nform = {}\n", "give json or form, not both"),
        ("base_url = \"https://x\"\n[http.on]\npath = \"/on\"\npointer = \"/a\"\n", "pointer, on, off and other is only for [bmc.http.power_status]"),
        ("base_url = \"https://x\"\n[http.power_status]\npath = \"/s\"\n", "on and off (the values that read as on and as off) are required"),
        ("base_url = \"https://x\"\n[http.on]\npath = \"on\"\n", "must start with /"),
        ("base_url = \"https://x\"\n[http.on]\npath = \"/{x\"\n", "unclosed {"),
        ("base_url = \"https://x\"\n[http.on]\npath = \"/on\"\nmethod = \"TRACE\"\n", "method \"TRACE\""),
        ("base_url = \"https://x\"\ncodes = { 700 = 1 }\n[http.on]\npath = \"/on\"\n", "bad status \"700\""),
        ("base_url = \"https://x\"\ncodes = { 500 = 300 }\n[http.on]\npath = \"/on\"\n", "is not a completion code"),
        ("base_url = \"https://x\"\n[http.boot]\npath = \"/b\"\ndevices = { usb = \"x\" }\n", "unknown boot device \"usb\""),
        ("base_url = \"https://x\"\nheaders = { Authorization = \"x\" }\n[http.on]\npath = \"/on\"\n", "carries the credentials"),
        ("base_url = \"https://x\"\nabsent = [\"jump\"]\n[http.on]\npath = \"/on\"\n", "absent: unknown operation \"jump\""),
        ("base_url = \"https://x\"\n", "describes no operation"),
        ("base_url = \"https://x\"\nassumed_power = \"last\"\n[http.power_status]\npath = \"/s\"\non = [\"on\"]\n", "this one has one"),
        ("base_url = \"https://x\"\nassumed_power = \"on\"\n[http.on]\npath = \"/on\"\n", "the only choice is \"last\""),
        ("base_url = \"https://user:pw@x\"\n[http.on]\npath = \"/on\"\n", "must not hold credentials"),
    ];
    for (body, want) in cases {
        let e = load(body)
            .err()
            .unwrap_or_else(|| panic!("accepted:\n{body}"));
        assert!(e.contains(want), "{body}\n=> {e}\n(wanted {want:?})");
        assert!(e.starts_with("t.toml:"), "{e}");
        assert!(!e.contains("s3cret-value"), "{e}");
    }
}

/// Issue 19, defect 8: a value `.` or `..` (plain or percent-encoded) that goes into a path
/// would take the request to another resource (`/servers/../reboot` is `/reboot`): refused
/// when the configuration is loaded, and again when the request is made from values that did
/// not come from the file.
#[test]
fn dot_segments_in_paths_are_refused_at_load_and_at_run_time() {
    let api = |server_id: &str, path: &str| {
        format!("base_url = \"https://x\"\nauth = \"none\"\nserver_id = \"{server_id}\"\n[http.cycle]\nmethod = \"POST\"\npath = \"{path}\"\n")
    };
    for bad in ["..", ".", "%2e%2E", "%2E", ".%2e", "%252e%252e"] {
        let e = load(&api(bad, "/servers/{server_id}/reboot"))
            .err()
            .unwrap_or_else(|| panic!("server_id {bad:?} accepted"));
        assert!(e.contains("has a . or .. segment"), "{bad}: {e}");
    }
    let e = load(&api("1", "/servers/../{server_id}")).err().unwrap();
    assert!(e.contains("has a . or .. segment"), "{e}");
    // Dots inside a segment are a name like any other.
    let ok = load(&api("a..b", "/servers/{server_id}/reboot")).unwrap();
    assert_eq!(request(&ok, Op::Cycle).1, "/servers/a..b/reboot");
    // A value from elsewhere than the file (discovery) goes through the same check.
    let mut s = load(&api("7", "/servers/{server_id}/reboot")).unwrap();
    for bad in ["..", "%2e%2e"] {
        s.config.vars.insert(
            "server_id".into(),
            crate::placeholder::Value::Text(bad.into()),
        );
        let e = s.config.ops[&Op::Cycle]
            .request(&s.config.vars)
            .unwrap_err();
        assert!(e.contains("has a . or .. segment"), "{e}");
    }
}

#[test]
fn media_templates_take_the_image_and_script_urls_and_only_they() {
    let s = load(
        r#"base_url = "https://x"
server_id = "7"
[http.on]
path = "/on"
[http.insert_media]
method = "PUT"
path = "/servers/{server_id}/ipxe"
json = { url = "{ipxe_url}", iso = "{image_url}" }
[http.eject_media]
method = "DELETE"
path = "/servers/{server_id}/ipxe"
"#,
    )
    .unwrap();
    let mut vars = s.config.vars.clone();
    vars.insert("image_url".into(), Value::Text("http://i/a.iso".into()));
    vars.insert("ipxe_url".into(), Value::Text("http://e/ipxe/n/s".into()));
    let r = s.config.ops[&Op::InsertMedia].request(&vars).unwrap();
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("PUT", "/servers/7/ipxe")
    );
    assert_eq!(
        r.body,
        Body::Json(serde_json::json!({"url": "http://e/ipxe/n/s", "iso": "http://i/a.iso"}))
    );
    // Media operations are optional: their absence is no gap.
    assert!(!s.describe().contains("insert_media"), "{}", s.describe());
    for (body, want) in [
        (
            "base_url = \"https://x\"\n[http.on]\npath = \"/on/{image_url}\"\n",
            "the placeholder {image_url} has no value",
        ),
        (
            "base_url = \"https://x\"\nvars = { ipxe_url = \"x\" }\n[http.on]\npath = \"/on\"\n",
            "cannot be a variable's name",
        ),
    ] {
        let e = load(body)
            .err()
            .unwrap_or_else(|| panic!("accepted:\n{body}"));
        assert!(e.contains(want), "{body}\n=> {e}");
    }
}
