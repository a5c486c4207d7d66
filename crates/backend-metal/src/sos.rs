//! The device's serial console through Equinix Metal's SOS (serial over SSH):
//! `ssh {device_id}@sos.{facility}.platformequinix.com`, the facility read from the device, with
//! key authentication and the host key checked against a known_hosts file. The host and user
//! are templates (`{device_id}`, `{facility}`), so that a stand-in can take the SOS host's place.

use ipmi_bmc::{BackendError, BackendResult, Console};
use std::path::PathBuf;

/// The SOS host, from the device's facility code.
pub const DEFAULT_HOST: &str = "sos.{facility}.platformequinix.com";
/// The SOS user: the device id.
pub const DEFAULT_USER: &str = "{device_id}";

/// How to reach a device's SOS console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SosConfig {
    /// The host template.
    pub host: String,
    /// The SSH port.
    pub port: u16,
    /// The user template.
    pub user: String,
    /// The private key registered with the Metal account.
    pub key_file: PathBuf,
    /// The known_hosts file the SOS host's key is checked against.
    pub known_hosts: PathBuf,
}

impl SosConfig {
    /// Opens the console of `device_id` in `facility`.
    pub fn open(&self, device_id: &str, facility: &str) -> BackendResult<Box<dyn Console>> {
        if facility.is_empty() && self.host.contains("{facility}") {
            return Err(BackendError::Failed(
                "the device has no facility: no SOS host".into(),
            ));
        }
        let fill = |t: &str| {
            t.replace("{device_id}", device_id)
                .replace("{facility}", facility)
        };
        let (host, user) = (fill(&self.host), fill(&self.user));
        let mut known_hosts = std::ffi::OsString::from("UserKnownHostsFile=");
        known_hosts.push(&self.known_hosts);
        let mut cmd = tokio::process::Command::new("ssh");
        cmd.args([
            "-F",
            "/dev/null",
            "-tt",
            "-e",
            "none",
            "-p",
            &self.port.to_string(),
        ])
        .arg("-i")
        .arg(&self.key_file)
        .args([
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
        ])
        .arg(known_hosts)
        .args([
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "LogLevel=ERROR",
            "-l",
            &user,
            &host,
        ]);
        tracing::info!(?host, ?user, port = self.port, "console over SOS");
        Ok(Box::new(backend_command::console::ProcessConsole::spawn(
            cmd,
            "ssh (SOS)",
        )?))
    }
}
