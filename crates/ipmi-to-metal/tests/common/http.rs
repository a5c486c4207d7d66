//! Helpers of the http backend's end-to-end tests: the configurations they run, the checks they
//! repeat.

use super::*;
use std::process::Command;
use test_support::providers::ProviderFake;
use test_support::Sshd;

pub const ROBOT_USER: &str = "#ws+Test123";
pub const ROBOT_PASSWORD: &str = "robot-pass-0c9e2b";

pub fn patient(bmc: &Bmc, args: &str) -> Run {
    ipmitool(bmc, "lanplus", &["-N", "4"], "admin", ADMIN_PASSWORD, args)
}

pub fn status(bmc: &Bmc) -> String {
    patient(bmc, "chassis power status")
        .out()
        .trim()
        .to_string()
}

pub fn check_config(bmc: &Bmc) -> Run {
    super::run(
        Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
            .arg("check-config")
            .arg(bmc.dir.path().join("bmc.toml"))
            .env("TEST_VIEWER_PASSWORD", VIEWER_PASSWORD)
            .env("TEST_HTTP_SECRET", HTTP_SECRET),
    )
}

/// The paths and bodies of the fake's requests with `method`, as `PATH BODY`.
pub fn sent(fake: &ProviderFake, method: &str) -> Vec<String> {
    fake.requests(method)
        .iter()
        .map(|e| format!("{} {}", e.path, e.body).trim().to_string())
        .collect()
}

pub fn no_secret_in(bmc: &Bmc, secrets: &[&str]) {
    let log = bmc.server_log();
    for s in secrets {
        assert!(!log.contains(s), "a secret in the log:\n{log}");
        assert!(!bmc.cmdline().contains(s));
    }
}

/// A `[bmc.ssh]` table for `sshd` whose commands are stand-ins leaving markers.
pub fn ssh_section(sshd: &Sshd) -> String {
    let m = sshd.markers().display().to_string();
    format!(
        "[bmc.ssh]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\nkey_file = \"{}\"\nknown_hosts = \"{}\"\nconnect_timeout_ms = 2000\ncommand_timeout_ms = 5000\nsoft_off = \"touch {m}/soft_off\"\n",
        sshd.port,
        sshd.key_file().display(),
        sshd.known_hosts().display()
    )
}

pub fn robot_section(fake: &ProviderFake, secret_file: &std::path::Path, extra: &str) -> String {
    format!(
        "[bmc.http]\npreset = \"hetzner-robot\"\nbase_url = \"{}\"\nallow_http = true\nserver_id = \"321\"\nuser = \"{ROBOT_USER}\"\nsecret_file = \"{}\"\n{extra}\n",
        fake.url(),
        secret_file.display()
    )
}

/// A configuration for the made-up API of test-support's `Generic`, without a preset.
pub fn custom_section(fake: &ProviderFake, extra: &str) -> String {
    format!(
        r#"[bmc.http]
base_url = "{}/api"
allow_http = true
auth = "header"
header = "X-Api-Key"
secret_env = "TEST_HTTP_SECRET"
server_id = "m7"
vars = {{ site = "ams" }}
cache_ms = 0
{extra}

[bmc.http.power_status]
path = "/machines/{{server_id}}"
query = {{ site = "{{site}}" }}
pointer = "/machine/power/state"
on = ["running", "booting"]
off = ["stopped"]

[bmc.http.on]
path = "/machines/{{server_id}}/power"
query = {{ site = "{{site}}" }}
json = {{ action = "on" }}

[bmc.http.off]
path = "/machines/{{server_id}}/power"
query = {{ site = "{{site}}" }}
json = {{ action = "off" }}

[bmc.http.cycle]
path = "/machines/{{server_id}}/power"
query = {{ site = "{{site}}" }}
json = {{ action = "reboot" }}

[bmc.http.reset]
path = "/machines/{{server_id}}/power"
query = {{ site = "{{site}}" }}
json = {{ action = "reset" }}

[bmc.http.soft]
path = "/machines/{{server_id}}/power"
query = {{ site = "{{site}}" }}
json = {{ action = "shutdown" }}

[bmc.http.diag]
path = "/machines/{{server_id}}/power"
query = {{ site = "{{site}}" }}
json = {{ action = "nmi" }}

[bmc.http.boot]
method = "PUT"
path = "/machines/{{server_id}}/boot"
query = {{ site = "{{site}}" }}
json = {{ device = "{{boot_device}}", persistent = "{{persistent}}", uefi = "{{efi}}" }}
devices = {{ pxe = "network", disk = "local", cdrom = "cdrom" }}

[bmc.http.boot_clear]
method = "DELETE"
path = "/machines/{{server_id}}/boot"
query = {{ site = "{{site}}" }}
"#,
        fake.url()
    )
}

/// The guide's override (docs/backend-http.md) that maps a next-boot-only PXE to Robot's rescue
/// system.
pub fn readme_rescue_override() -> String {
    let readme = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/backend-http.md"
    ))
    .expect("docs/backend-http.md");
    let block = readme
        .split("```toml\n# added to a hetzner-robot [bmc.http]\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("docs/backend-http.md has the rescue override");
    block.to_string()
}
