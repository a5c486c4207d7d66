//! The loader's own tests: the fixed format, errors with their places, each backend's table
//! through its kind, routes, discovery, and the backends' time limits.

use super::lan::derived_guid;
use super::*;
use backend_ipmi::IpmiBackendConfig;
use backend_metal::config::{MetalSettings, DEFAULT_API_URL};
use ipmi_proto::session::Interface;
use std::time::Duration;

fn check(text: &str) -> Result<Vec<BmcConfig>, String> {
    parse("t.toml", text, Path::new(".")).map_err(|e| e.0)
}

fn err(text: &str) -> String {
    match check(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

const GOOD: &str = r#"
[[bmc]]
name = "node1"
listen = "127.0.0.1:6230"
backend = "sim"

[[bmc.users]]
name = "admin"
password = "password"
privilege = "administrator"
"#;

#[test]
fn the_fixed_format_parses() {
    let c = check(GOOD).unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].listen, "127.0.0.1:6230".parse().unwrap());
    assert_eq!(c[0].server.users[0].id, 2);
    assert_eq!(c[0].server.cipher_suites, vec![3, 17]);
    assert!(!c[0].server.cipher_suites.contains(&0));
}

#[test]
fn errors_name_file_line_and_problem() {
    let e = err(&GOOD.replace("backend = \"sim\"", "backend = \"sim\"\ncolour = \"red\""));
    assert!(e.starts_with("t.toml:6:1: unknown field `colour`"), "{e}");
    let e = err(&GOOD.replace("\"administrator\"", "\"root\""));
    assert!(e.starts_with("t.toml:10:13: bad privilege \"root\""), "{e}");
    let e = err(&GOOD.replace("password = \"password\"\n", ""));
    assert!(
        e.starts_with("t.toml:7:1: user \"admin\" has no password"),
        "{e}"
    );
    let two = format!("{GOOD}{}", GOOD.replace("node1", "node2"));
    let e = err(&two);
    assert!(e.contains("duplicate listen address 127.0.0.1:6230"), "{e}");
    let e = err(&GOOD.replace("127.0.0.1:6230", "localhost"));
    assert!(e.starts_with("t.toml:4:10: invalid listen address"), "{e}");
    let e = err(&GOOD.replace(
        "password = \"password\"",
        "password_env = \"NO_SUCH_VAR_XYZ\"",
    ));
    assert!(e.contains("NO_SUCH_VAR_XYZ is not set"), "{e}");
}

#[test]
fn the_ipmi_backend_table() {
    std::env::set_var("TEST_CONFIG_BMC_PW", "downstream");
    let ipmi = GOOD.replace("backend = \"sim\"", "backend = \"ipmi\"")
        + "[bmc.ipmi]\nhost = \"127.0.0.1\"\nport = 6231\nuser = \"root\"\npassword_env = \"TEST_CONFIG_BMC_PW\"\n";
    let c = check(&ipmi).unwrap();
    let b: &IpmiBackendConfig = c[0].backend.settings().expect("ipmi");
    assert_eq!(b.address, "127.0.0.1:6231".parse().unwrap());
    assert_eq!(b.client.password.expose(), b"downstream");
    assert_eq!(b.client.cipher_suites, vec![17, 3]);
    assert_eq!(b.client.interface, Interface::Lanplus);
    assert_eq!(b.relay, backend_ipmi::default_relay());
    let narrow = check(&format!(
        "{ipmi}interface = \"lan\"\nrelay = [{{ netfn = 0x0a, cmds = [0x10, 0x11], privilege = \"operator\" }}, {{ netfn = 0x30, privilege = \"administrator\", force = true }}]\n"
    ))
    .unwrap();
    let b: &IpmiBackendConfig = narrow[0].backend.settings().expect("ipmi");
    assert_eq!(b.client.interface, Interface::Lan);
    assert_eq!(b.relay.len(), 3);
    assert_eq!(b.relay[2].cmd, None);

    let e = err(&GOOD.replace("backend = \"sim\"", "backend = \"ipmi\""));
    assert!(e.contains("needs a [bmc.ipmi] table"), "{e}");
    let e = err(&ipmi.replace("password_env = \"TEST_CONFIG_BMC_PW\"\n", ""));
    assert!(e.contains("needs password_env or password_file"), "{e}");
    let e = err(&format!("{ipmi}password = \"inline\"\n"));
    assert!(e.contains("unknown field `password`"), "{e}");
    let e = err(&format!("{ipmi}interface = \"serial\"\n"));
    assert!(e.contains("unknown interface \"serial\""), "{e}");
    let e = err(&format!(
        "{ipmi}relay = [{{ netfn = 0x0b, privilege = \"user\" }}]\n"
    ));
    assert!(e.contains("even request NetFn"), "{e}");
    let e = err(&(GOOD.to_string() + "[bmc.ipmi]\nhost = \"127.0.0.1\"\nuser = \"root\"\npassword_env = \"TEST_CONFIG_BMC_PW\"\n"));
    assert!(
        e.contains("[bmc.ipmi] is configured, but neither backend nor [bmc.routes] uses \"ipmi\""),
        "{e}"
    );
}

#[test]
fn relay_rules_that_could_take_over_the_bmc_behind_need_force() {
    std::env::set_var("TEST_CONFIG_BMC_PW", "downstream");
    let ipmi = GOOD.replace("backend = \"sim\"", "backend = \"ipmi\"")
        + "[bmc.ipmi]\nhost = \"127.0.0.1\"\nuser = \"root\"\npassword_env = \"TEST_CONFIG_BMC_PW\"\n";
    let with = |rule: &str| format!("{ipmi}relay = [{rule}]\n");
    // Send Message bridges anything; 0x40-0x47 manage the channel and users of the BMC behind;
    // a whole App rule covers both; a whole OEM or group extension NetFn is unknown commands.
    let cases = [
        (
            "{ netfn = 0x06, cmds = [0x34], privilege = \"administrator\" }",
            "relaying App 0x34 (Send Message)",
        ),
        (
            "{ netfn = 0x06, cmds = [0x01, 0x47], privilege = \"administrator\" }",
            "relaying App 0x47 (channel and user management)",
        ),
        (
            "{ netfn = 0x06, privilege = \"user\" }",
            "relaying every App command",
        ),
        (
            "{ netfn = 0x30, privilege = \"administrator\" }",
            "relaying every command of NetFn 0x30",
        ),
        (
            "{ netfn = 0x2c, privilege = \"administrator\" }",
            "relaying every command of NetFn 0x2c",
        ),
    ];
    for (rule, want) in cases {
        let e = err(&with(rule));
        assert!(e.starts_with("t.toml:15:10: "), "{e}");
        assert!(
            e.contains(want) && e.contains("force = true"),
            "{rule}: {e}"
        );
        // Forced, it is accepted, and said at start.
        let forced = rule.replace(" }", ", force = true }");
        let c = check(&with(&forced)).unwrap();
        let w = &c[0].warnings;
        assert!(
            w.iter().any(|w| w.contains("forced (force = true)")),
            "{forced}: {w:?}"
        );
    }
    // Specific commands of OEM NetFns, and whole standard NetFns, need no force.
    let c = check(&with(
        "{ netfn = 0x30, cmds = [0x01], privilege = \"administrator\" }, { netfn = 0x0a, privilege = \"user\" }",
    ))
    .unwrap();
    assert!(!c[0].warnings.iter().any(|w| w.contains("forced")));
}

#[test]
fn the_metal_backend_and_discovery_tables() {
    std::env::set_var("TEST_CONFIG_METAL_TOKEN", "tok-123");
    let metal = GOOD.replace("backend = \"sim\"", "backend = \"metal\"")
        + "[bmc.metal]\ndevice_id = \"6E2B7F4C-3C1A-4A5E-9D7E-000000000001\"\ntoken_env = \"TEST_CONFIG_METAL_TOKEN\"\n";
    let c = check(&metal).unwrap();
    let m: &MetalSettings = c[0].backend.settings().expect("metal");
    assert_eq!(m.api_url, DEFAULT_API_URL);
    assert_eq!(m.device.device_id, "6e2b7f4c-3c1a-4a5e-9d7e-000000000001");
    assert_eq!(m.token.as_str(), "tok-123");
    let e = err(&format!("{metal}token = \"secret\"\n"));
    assert!(e.contains("never put the API token in the file"), "{e}");
    assert!(!e.contains("secret"), "{e}");
    let e = err(&metal.replace("6E2B7F4C-3C1A-4A5E-9D7E-000000000001", "node-1"));
    assert!(e.contains("device_id must be the device's UUID"), "{e}");
    // Plain http would carry the token in clear: only when allowed, and then warned about.
    let http = metal.replace(
        "[bmc.metal]\n",
        "[bmc.metal]\napi_url = \"http://127.0.0.1:8080/metal/v1\"\n",
    );
    let e = err(&http);
    assert!(
        e.starts_with("t.toml:12:11: api_url is plain http, which would send the API token in clear: use https://, or allow_http = true"),
        "{e}"
    );
    let c = check(&http.replace("[bmc.metal]\n", "[bmc.metal]\nallow_http = true\n")).unwrap();
    let plain = "api_url http://127.0.0.1:8080/metal/v1 is plain http (allow_http = true): the API token travels in clear";
    assert!(
        c[0].warnings.iter().any(|w| w == plain),
        "{:?}",
        c[0].warnings
    );
    let https = check(&metal).unwrap();
    assert!(!https[0].warnings.iter().any(|w| w.contains("http")));
    let e = err(&metal.replace("token_env = \"TEST_CONFIG_METAL_TOKEN\"\n", ""));
    assert!(
        e.contains("[bmc.metal] needs token_env or token_file"),
        "{e}"
    );

    let disc = "[[metal_discovery]]\nproject_id = \"0f0c3a4e-1111-4a5e-9d7e-000000000000\"\ntag = \"ipmi\"\ntoken_env = \"TEST_CONFIG_METAL_TOKEN\"\nlisten = \"10.0.0.1:7000-7009\"\n[[metal_discovery.users]]\nname = \"admin\"\npassword = \"pw\"\nprivilege = \"operator\"\n";
    let all = parse_all("t.toml", disc, Path::new("/etc/itm")).unwrap();
    assert!(all.bmcs.is_empty());
    let d = &all.discovery[0];
    assert_eq!(d.pool.len(), 10);
    assert_eq!(d.pool[9], "10.0.0.1:7009".parse().unwrap());
    assert_eq!(
        d.state_file,
        Path::new("/etc/itm/t.toml.discovery-1.devices.json")
    );
    let b = d.bmc("node-a", "6e2b7f4c-3c1a-4a5e-9d7e-000000000001", d.pool[0]);
    assert_eq!(b.settings.name, "node-a");
    assert_eq!(b.server.users[0].name, "admin");
    let http = disc.replace("tag = ", "api_url = \"http://10.0.0.9/metal/v1\"\ntag = ");
    let e = parse_all("t.toml", &http, Path::new(".")).err().unwrap().0;
    assert!(e.contains("api_url is plain http"), "{e}");
    let allowed = http.replace("tag = ", "allow_http = true\ntag = ");
    let all = parse_all("t.toml", &allowed, Path::new(".")).unwrap();
    assert!(all.discovery[0]
        .warnings
        .iter()
        .any(|w| w.contains("is plain http")));
    let e = parse_all(
        "t.toml",
        &disc.replace("7000-7009", "7009-7000"),
        Path::new("."),
    )
    .err()
    .unwrap()
    .0;
    assert!(e.contains("port range"), "{e}");
    let clash = format!(
        "{GOOD}{}",
        disc.replace("10.0.0.1:7000-7009", "127.0.0.1:6229-6231")
    );
    let e = parse_all("t.toml", &clash, Path::new(".")).err().unwrap().0;
    assert!(e.contains("already used by bmc \"node1\""), "{e}");
    let named = disc.replace("tag = ", "name = \"x\"\ntag = ");
    let two = format!("{named}{}", named.replace("7000-7009", "7100-7109"));
    let e = parse_all("t.toml", &two, Path::new(".")).err().unwrap().0;
    assert!(e.contains("duplicate metal_discovery name \"x\""), "{e}");
    let two = format!(
        "{disc}{}",
        disc.replace("7000-7009", "7009-7020")
            .replace("tag = ", "name = \"b\"\ntag = ")
    );
    let e = parse_all("t.toml", &two, Path::new(".")).err().unwrap().0;
    assert!(
        e.contains("10.0.0.1:7009, already used by metal_discovery \"discovery-1\""),
        "{e}"
    );
}

#[test]
fn discovery_shard_and_state_file_in_the_state_directory() {
    std::env::set_var("TEST_CONFIG_SHARD_TOKEN", "tok-123");
    let disc = "[[metal_discovery]]\nproject_id = \"0f0c3a4e-1111-4a5e-9d7e-000000000000\"\ntag = \"ipmi\"\ntoken_env = \"TEST_CONFIG_SHARD_TOKEN\"\nlisten = \"10.0.0.1:7000-7009\"\n[[metal_discovery.users]]\nname = \"admin\"\npassword = \"pw\"\nprivilege = \"operator\"\n";
    let d = &parse_all("t.toml", disc, Path::new("/etc/itm"))
        .unwrap()
        .discovery[0];
    assert_eq!(d.shard, crate::shard::Shard::default());
    // A chosen state directory holds the state file (the configuration may be read-only).
    let in_state = format!("state_dir = \"/var/lib/itm\"\n{disc}");
    let d = &parse_all("t.toml", &in_state, Path::new("/etc/itm"))
        .unwrap()
        .discovery[0];
    assert_eq!(
        d.state_file,
        Path::new("/var/lib/itm/discovery-1.devices.json")
    );
    // Unless one exists beside the configuration from before (and none in the directory).
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("t.toml.discovery-1.devices.json");
    std::fs::write(&old, "{}").unwrap();
    let state = dir.path().join("state");
    let in_state = format!("state_dir = \"state\"\n{disc}");
    let d = &parse_all("t.toml", &in_state, dir.path())
        .unwrap()
        .discovery[0];
    assert_eq!(d.state_file, old);
    std::fs::create_dir(&state).unwrap();
    std::fs::write(state.join("discovery-1.devices.json"), "{}").unwrap();
    let d = &parse_all("t.toml", &in_state, dir.path())
        .unwrap()
        .discovery[0];
    assert_eq!(d.state_file, state.join("discovery-1.devices.json"));

    let sharded = disc.replace("tag = ", "shard = \"1/4\"\ntag = ");
    let d = &parse_all("t.toml", &sharded, Path::new("."))
        .unwrap()
        .discovery[0];
    assert_eq!(d.shard, crate::shard::Shard::new(1, 4).unwrap());
    let e = parse_all("t.toml", &sharded.replace("1/4", "4/4"), Path::new("."))
        .err()
        .unwrap()
        .0;
    assert!(
        e.starts_with("t.toml:3:9: ") && e.contains("out of range"),
        "{e}"
    );
    let e = parse_all("t.toml", &sharded.replace("1/4", "half"), Path::new("."))
        .err()
        .unwrap()
        .0;
    assert!(e.contains("expected \"INDEX/COUNT\""), "{e}");
}

#[test]
fn routes_name_configured_backends_only() {
    let dir = std::env::temp_dir().join(format!("itm-routes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("id_ed25519"), "key").unwrap();
    std::fs::write(dir.join("known_hosts"), "").unwrap();
    let ssh = "[bmc.ssh]\nhost = \"10.0.0.5\"\nkey_file = \"id_ed25519\"\nknown_hosts = \"known_hosts\"\n";
    let cmd = "[bmc.command]\nrun = [\"/usr/local/bin/pdu\"]\n";
    let text = format!("{GOOD}{ssh}{cmd}[bmc.routes]\nsoft = [\"ssh\", \"sim\"]\npower = \"command\"\nsoft_deadline_s = 30\n");
    let c = parse("t.toml", &text, &dir).unwrap();
    let t = c[0].routes.as_ref().unwrap();
    use ipmi_bmc::routing::Operation;
    assert_eq!(t.chain(Operation::Soft), ["ssh", "sim"]);
    assert_eq!(t.chain(Operation::Off), ["command"]);
    assert_eq!(t.chain(Operation::Boot), ["sim"], "the default backend");
    assert_eq!(t.soft_deadline, Duration::from_secs(30));
    assert_eq!(c[0].backend.kind(), "sim");
    let kinds: Vec<_> = c[0].extra.iter().map(|b| b.kind()).collect();
    assert_eq!(kinds, ["command", "ssh"]);

    let e = parse(
        "t.toml",
        &format!("{GOOD}[bmc.routes]\nsoft = \"ssh\"\n"),
        &dir,
    )
    .err()
    .unwrap()
    .0;
    assert!(e.contains("backend \"ssh\" needs a [bmc.ssh] table"), "{e}");
    let e = parse(
        "t.toml",
        &format!("{GOOD}[bmc.routes]\ndiag = \"telnet\"\n"),
        &dir,
    )
    .err()
    .unwrap()
    .0;
    assert!(e.contains("unknown backend \"telnet\" in a route"), "{e}");
    let e = parse("t.toml", &format!("{GOOD}{ssh}"), &dir)
        .err()
        .unwrap()
        .0;
    assert!(
        e.contains("[bmc.ssh] is configured, but neither backend nor [bmc.routes] uses \"ssh\""),
        "{e}"
    );
    let e = parse(
        "t.toml",
        &format!(
            "{GOOD}{}[bmc.routes]\nsoft = \"ssh\"\n",
            ssh.replace("id_ed25519", "missing_key")
        ),
        &dir,
    )
    .err()
    .unwrap()
    .0;
    assert!(
        e.contains("cannot read") && e.contains("missing_key"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn derived_guid_is_stable_and_distinct() {
    assert_eq!(derived_guid("a"), derived_guid("a"));
    assert_ne!(derived_guid("a"), derived_guid("b"));
}

#[test]
fn every_backends_own_time_limits_stay_below_the_request_deadline() {
    let dir = std::env::temp_dir().join(format!("itm-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("id_ed25519"), "key").unwrap();
    std::fs::write(dir.join("known_hosts"), "").unwrap();
    std::env::set_var("TEST_LIMITS_PW", "behind");
    std::env::set_var("TEST_LIMITS_TOKEN", "tok-123");
    let with = |backend: &str, table: &str| {
        GOOD.replace("backend = \"sim\"", &format!("backend = \"{backend}\"")) + table
    };
    let parse_in = |text: &str| parse("t.toml", text, &dir).map_err(|e| e.0);
    let ipmi =
        "[bmc.ipmi]\nhost = \"127.0.0.1\"\nuser = \"root\"\npassword_env = \"TEST_LIMITS_PW\"\n";
    let metal = "[bmc.metal]\ndevice_id = \"6e2b7f4c-3c1a-4a5e-9d7e-000000000001\"\ntoken_env = \"TEST_LIMITS_TOKEN\"\n";
    let ssh = "[bmc.ssh]\nhost = \"10.0.0.5\"\nkey_file = \"id_ed25519\"\nknown_hosts = \"known_hosts\"\n";
    let command = "[bmc.command]\nrun = [\"/bin/true\"]\n";
    // The defaults keep every backend's longest call below the deadline.
    for (backend, table) in [
        ("ipmi", ipmi),
        ("metal", metal),
        ("ssh", ssh),
        ("command", command),
    ] {
        parse_in(&with(backend, table)).unwrap();
    }
    let c = parse_in(&with("command", command)).unwrap();
    let cmd: &backend_command::CommandConfig = c[0].backend.settings().unwrap();
    assert_eq!(cmd.timeout, Duration::from_secs(8), "lowered from 10 s");
    let s: backend_ssh::SshConfig = parse_in(&with("ssh", ssh)).unwrap()[0]
        .backend
        .settings::<backend_ssh::SshConfig>()
        .unwrap()
        .clone();
    assert_eq!(
        (s.connect_timeout, s.command_timeout),
        (Duration::from_secs(3), Duration::from_secs(4)),
        "lowered from 5 s and 30 s"
    );
    // Just below is fine; at or above, the setting is named where it is.
    parse_in(&with("ipmi", &format!("{ipmi}deadline_ms = 9999\n"))).unwrap();
    let deadline = "which must stay below the request deadline of 10s (then the client gets 0xC3)";
    let cases = [
        (
            with("ipmi", &format!("{ipmi}deadline_ms = 10000\n")),
            format!("t.toml:15:15: [bmc.ipmi] deadline_ms: one call may take 10s, {deadline}"),
        ),
        (
            with("metal", &format!("{metal}deadline_ms = 12000\n")),
            format!("t.toml:14:15: [bmc.metal] deadline_ms: one call may take 12s, {deadline}"),
        ),
        (
            with("command", &format!("{command}timeout_ms = 10000\n")),
            format!("t.toml:13:14: [bmc.command] timeout_ms: one call may take 10s, {deadline}"),
        ),
        (
            with("ssh", &format!("{ssh}command_timeout_ms = 6000\n")),
            format!("t.toml:15:22: [bmc.ssh] connect_timeout_ms + command_timeout_ms (+ 2 s to log in): one call may take 11s, {deadline}"),
        ),
        (
            with("ssh", &format!("{ssh}connect_timeout_ms = 6000\n")),
            format!("t.toml:15:22: [bmc.ssh] connect_timeout_ms + command_timeout_ms (+ 2 s to log in): one call may take 12s, {deadline}"),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            parse_in(&text).err().as_deref(),
            Some(want.as_str()),
            "{text}"
        );
    }
    // A backend named only by a route is held to it too.
    let routed = format!("{GOOD}{command}timeout_ms = 10000\n[bmc.routes]\npower = \"command\"\n");
    let e = parse_in(&routed).err().unwrap();
    assert!(
        e.starts_with("t.toml:13:14: [bmc.command] timeout_ms"),
        "{e}"
    );
    // And so is a discovery's metal backend.
    let disc = "[[metal_discovery]]\nproject_id = \"0f0c3a4e-1111-4a5e-9d7e-000000000000\"\ntag = \"ipmi\"\ntoken_env = \"TEST_LIMITS_TOKEN\"\nlisten = \"10.0.0.1:7000-7009\"\ndeadline_ms = 10000\n[[metal_discovery.users]]\nname = \"admin\"\npassword = \"pw\"\nprivilege = \"operator\"\n";
    let e = parse_all("t.toml", disc, &dir).err().unwrap().0;
    assert_eq!(
        e,
        format!("t.toml:6:15: [[metal_discovery]] deadline_ms: one call may take 10s, {deadline}")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_backend_kind_is_named_like_a_bmc_field() {
    for kind in crate::kinds::names() {
        let text = GOOD.replace("backend = \"sim\"", &format!("backend = \"{kind}\""));
        let e = check(&text).err().unwrap_or_default();
        assert!(!e.contains("unknown"), "{kind}: {e}");
    }
    let clash: Vec<_> = crate::kinds::names()
        .into_iter()
        .filter(|k| bmc::fields().contains(k))
        .collect();
    assert!(clash.is_empty(), "{clash:?}");
}

#[test]
fn a_toml_error_is_the_first_in_the_text_whichever_pass_finds_it() {
    // The first [[bmc]]'s ssh table (read by the ssh kind) before the second's own field.
    let ssh = "[bmc.ssh]\nhost = \"h\"\nknown_hosts = \"k\"\nbogus = 1\n";
    let two = format!(
        "{}{ssh}{}",
        GOOD.replace("backend = \"sim\"", "backend = \"ssh\""),
        GOOD.replace("node1", "node2")
            .replace("6230", "6231")
            .replace("backend = \"sim\"", "colour = 2")
    );
    let e = err(&two);
    assert!(e.starts_with("t.toml:14:1: unknown field `bogus`"), "{e}");
    let swapped = format!(
        "{}{}{ssh}",
        GOOD.replace("backend = \"sim\"", "colour = 2"),
        GOOD.replace("node1", "node2")
            .replace("6230", "6231")
            .replace("backend = \"sim\"", "backend = \"ssh\"")
    );
    let e = err(&swapped);
    assert!(e.starts_with("t.toml:5:1: unknown field `colour`"), "{e}");
}

#[test]
fn the_redfish_backend_table() {
    use backend_redfish::config::{RedfishSettings, Tls};
    let dir = std::env::temp_dir().join(format!("itm-redfish-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("not-a-cert.pem"), "hello").unwrap();
    std::env::set_var("TEST_CONFIG_REDFISH_PW", "pw");
    let parse_in = |text: &str| parse("t.toml", text, &dir).map_err(|e| e.0);
    let err_in = |text: &str| parse_in(text).err().expect("refused");
    let redfish = GOOD.replace("backend = \"sim\"", "backend = \"redfish\"")
        + "[bmc.redfish]\nurl = \"https://10.1.0.17/redfish/v1/\"\nuser = \"shim\"\npassword_env = \"TEST_CONFIG_REDFISH_PW\"\n";
    let c = parse_in(&redfish).unwrap();
    let r: &RedfishSettings = c[0].backend.settings().expect("redfish");
    assert_eq!(r.origin, "https://10.1.0.17");
    assert_eq!(r.tls, Tls::PublicRoots);
    assert_eq!(r.system.deadline, Duration::from_secs(8));
    assert_eq!(c[0].backend.describe(), "redfish shim@https://10.1.0.17");
    let e = err_in(&format!("{redfish}password = \"secret\"\n"));
    assert!(e.contains("never put the password in the file"), "{e}");
    let http = redfish.replace("https://", "http://");
    let e = err_in(&http);
    assert!(
        e.starts_with("t.toml:12:7: plain http sends the password unencrypted"),
        "{e}"
    );
    let c = parse_in(&format!("{http}allow_http = true\n")).unwrap();
    assert!(c[0].backend.describe().ends_with("(plain http)"));
    let c = parse_in(&format!("{redfish}insecure = true\n")).unwrap();
    assert!(c[0].backend.describe().ends_with("(TLS NOT VERIFIED)"));
    let e = err_in(&format!("{redfish}insecure = true\nca_file = \"x.pem\"\n"));
    assert!(
        e.contains("give ca_file or insecure = true, not both"),
        "{e}"
    );
    let e = err_in(&format!("{redfish}ca_file = \"not-a-cert.pem\"\n"));
    assert!(e.contains("holds no PEM certificate"), "{e}");
    let e = err_in(&redfish.replace("https://10.1.0.17/redfish/v1/", "https://10.1.0.17/other"));
    assert!(e.contains("without a path"), "{e}");
    let e = err_in(&format!("{redfish}deadline_ms = 10000\n"));
    assert!(
        e.contains("[bmc.redfish] deadline_ms: one call may take 10s, which must stay below"),
        "{e}"
    );
    let e = err_in(&redfish.replace("password_env = \"TEST_CONFIG_REDFISH_PW\"\n", ""));
    assert!(
        e.contains("[bmc.redfish] needs password_env or password_file"),
        "{e}"
    );
}

#[test]
fn console_table_sets_sol_and_the_log() {
    let c = check(GOOD).unwrap();
    assert_eq!(c[0].console, ConsoleSettings::default());
    assert_eq!(c[0].server.sol.port, 6230, "SOL runs on the BMC's own port");
    assert!(c[0].server.sol.enabled);
    let text = format!(
        "{GOOD}\n[bmc.console]\nbit_rate = 19200\nlog = \"logs/n1.log\"\nlog_max_kib = 64\nlog_keep = 5\ntimestamps = true\nreplay_kib = 8\nenabled = false\n"
    );
    let c = check(&text).unwrap();
    let s = &c[0].console;
    assert_eq!(s.log.as_deref(), Some(Path::new("./logs/n1.log")));
    assert_eq!(
        (s.log_max_bytes, s.log_keep, s.timestamps, s.replay_bytes),
        (65536, 5, true, 8192)
    );
    assert_eq!(c[0].server.sol.volatile_bit_rate, 7);
    assert!(!c[0].server.sol.enabled);
    let e = err(&format!("{GOOD}\n[bmc.console]\nbit_rate = 300\n"));
    assert!(
        e.contains("bit_rate must be 9600, 19200, 38400, 57600 or 115200"),
        "{e}"
    );
    let e = err(&format!("{GOOD}\n[bmc.console]\nreplay_kib = 65\n"));
    assert!(e.contains("replay_kib must be 0 to 64"), "{e}");
    // In bytes, 2^54 KiB would wrap to 0: refused, as anything beyond 16 GiB.
    for huge in ["18014398509481984", "16777217"] {
        let e = err(&format!("{GOOD}\n[bmc.console]\nlog_max_kib = {huge}\n"));
        assert!(e.contains("log_max_kib must be 4 to 16777216"), "{e}");
    }
    let e = err(&format!("{GOOD}\n[bmc.console]\nlogfile = \"x\"\n"));
    assert!(e.contains("unknown field `logfile`"), "{e}");
}
