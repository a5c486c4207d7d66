//! # backend-ssh
//!
//! A [`Backend`] that acts on the host itself over SSH, with the system's OpenSSH client: a
//! graceful shutdown or reboot, an NMI, whether the host answers (power status), sensors from
//! `/sys/class/hwmon`; or, in host-local IPMI mode, the host's own `ipmitool` for everything.
//!
//! Host keys are always verified against the configured `known_hosts` file
//! (`StrictHostKeyChecking=yes`): an unknown or changed key is refused with a log line that says
//! so. One master connection per host is kept warm (`ControlMaster`, started detached, reused by
//! every command until it has been idle for `ControlPersist`), every command has a time limit and
//! bounded output, and at most a few commands run on a host at once. A master is shared only by
//! BMCs that would make the same connection (see [`private_control_dir`] for where the sockets
//! live).

#![warn(missing_docs)]

pub mod config;
mod control;
mod password;

pub use control::private_control_dir;
pub use password::SshPassword;
mod sensors;

pub use sensors::{parse_hwmon, parse_ipmitool_sdr};

use async_trait::async_trait;
use backend_command::process::{self, Finished, RunError};
use ipmi_bmc::{
    Backend, BackendError, BackendResult, BootDevice, BootOverride, PowerAction, PowerState,
    Requester, SensorReading,
};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The commands run on the host for each operation (through the remote user's shell).
#[derive(Clone, Debug)]
pub struct SshCommands {
    /// Soft off (ACPI-like graceful shutdown).
    pub soft_off: String,
    /// Power cycle: a graceful reboot.
    pub cycle: String,
    /// Hard off: power off now, without a clean shutdown.
    pub off: String,
    /// Hard reset: reboot now, without a clean shutdown.
    pub reset: String,
    /// Diagnostic interrupt.
    pub diag: String,
    /// Power status: exit 0 means on.
    pub status: String,
    /// Sensors: lines of `CHIP FILE VALUE` as /sys/class/hwmon gives them.
    pub sensors: String,
    /// The serial console: a command run on the host with a PTY (`screen /dev/ttyS1`, `virsh
    /// console vm`, a login shell), whose input and output Serial over LAN carries; none by
    /// default.
    pub console: Option<String>,
}

impl Default for SshCommands {
    fn default() -> Self {
        SshCommands {
            soft_off: "systemctl poweroff".into(),
            cycle: "systemctl reboot".into(),
            off: "systemctl poweroff --force --force".into(),
            reset: "systemctl reboot --force --force".into(),
            diag: "echo c > /proc/sysrq-trigger".into(),
            status: "true".into(),
            sensors: DEFAULT_SENSORS.into(),
            console: None,
        }
    }
}

/// Prints `CHIP FILE VALUE` for every temperature, fan, voltage, power and current input of every
/// hwmon chip, and for their limits (`_min`, `_max`, `_lcrit`, `_crit`, `_emergency`); a file
/// that cannot be read prints `-` as its value.
pub const DEFAULT_SENSORS: &str = "for d in /sys/class/hwmon/hwmon*; do n=$(cat \"$d/name\" 2>/dev/null || basename \"$d\"); for f in \"$d\"/*; do case \"${f##*/}\" in temp*_input|temp*_min|temp*_max|temp*_lcrit|temp*_crit|temp*_emergency|fan*_input|fan*_min|in*_input|in*_min|in*_max|in*_lcrit|in*_crit|power*_input|power*_max|power*_crit|curr*_input|curr*_min|curr*_max|curr*_lcrit|curr*_crit) echo \"$n ${f##*/} $(cat \"$f\" 2>/dev/null || echo -)\";; esac; done; done; true";

/// What power status says when the host does not answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreachable {
    /// The host is taken to be off.
    Off,
    /// The state is unknown: the client gets 0xC3.
    Unknown,
}

/// How to reach the host.
#[derive(Clone, Debug)]
pub struct SshConfig {
    /// Host name or address.
    pub host: String,
    /// SSH port.
    pub port: u16,
    /// Remote user.
    pub user: String,
    /// The private key.
    pub key_file: Option<PathBuf>,
    /// A password, for hosts without a key (given to ssh through `SSH_ASKPASS`); zeroized when
    /// dropped and never shown by `Debug`.
    pub password: Option<SshPassword>,
    /// The known_hosts file the host key is checked against.
    pub known_hosts: PathBuf,
    /// Time limit for connecting.
    pub connect_timeout: Duration,
    /// Time limit for a command.
    pub command_timeout: Duration,
    /// The commands.
    pub commands: SshCommands,
    /// Power status of a host that does not answer.
    pub unreachable: Unreachable,
    /// Host-local IPMI mode: run `ipmitool` with these arguments on the host for every
    /// operation (e.g. "" for the host's own BMC through /dev/ipmi0).
    pub local_ipmitool: Option<String>,
    /// A private directory for the master connections' sockets (see [`private_control_dir`]).
    pub control_dir: PathBuf,
    /// The program to give ssh as `SSH_ASKPASS` (this program, which answers with the password
    /// when `IPMI_TO_METAL_ASKPASS` is set).
    pub askpass: Option<PathBuf>,
}

/// The ssh backend.
pub struct SshBackend {
    config: SshConfig,
    /// The master connection's socket, in `config.control_dir`.
    control_path: PathBuf,
    slots: Semaphore,
    boot: Mutex<Option<BootOverride>>,
    master: tokio::sync::Mutex<()>,
}

/// Why a command on the host failed.
#[derive(Debug)]
enum SshError {
    /// The host did not answer (connection refused or timed out).
    Unreachable(String),
    /// The host key is unknown or has changed.
    HostKey,
    /// Authentication failed.
    Auth(String),
    /// The connection broke; `true` if the command had begun (a shutdown cuts it).
    Dropped(String, bool),
    /// The command ran out of time.
    Timeout,
    /// The command exited with this code.
    Exit(Option<i32>, String),
    /// ssh could not be started.
    Spawn(String),
}

/// The line every command prints first, so that a cut connection tells whether it ran.
const STARTED: &str = "__ipmi_to_metal_started__";

/// The master connection gets this long beyond `connect_timeout` to log in (ssh's own
/// `ConnectTimeout` covers only the connection).
pub const MASTER_START_SLACK: Duration = Duration::from_secs(2);

/// At most this many commands run on one host at once.
const PER_HOST: usize = 4;
/// Output kept from a command.
const MAX_OUTPUT: usize = 256 * 1024;

impl SshBackend {
    /// A backend for `config.host`.
    pub fn new(config: SshConfig) -> Self {
        let name = control::socket_name(
            &connection_options(&config),
            &config.host,
            config.password.as_ref().map(SshPassword::expose),
            config.askpass.as_deref(),
        );
        SshBackend {
            control_path: config.control_dir.join(name),
            config,
            slots: Semaphore::new(PER_HOST),
            boot: Mutex::new(None),
            master: tokio::sync::Mutex::new(()),
        }
    }

    fn target(&self) -> String {
        format!("{}:{}", self.config.host, self.config.port)
    }

    /// The ssh command line up to the host, without the remote command.
    fn ssh(&self, master: bool) -> tokio::process::Command {
        let c = &self.config;
        let mut cmd = tokio::process::Command::new("ssh");
        cmd.args(connection_options(c))
            .arg("-o")
            .arg(format!("ControlPath={}", self.control_path.display()));
        if master {
            cmd.args([
                "-o",
                "ControlMaster=yes",
                "-o",
                "ControlPersist=120",
                "-N",
                "-f",
            ]);
        } else {
            cmd.args(["-o", "ControlMaster=no"]);
        }
        if let (Some(pw), Some(askpass)) = (&c.password, &c.askpass) {
            cmd.env("SSH_ASKPASS", askpass)
                .env("SSH_ASKPASS_REQUIRE", "force")
                .env("IPMI_TO_METAL_ASKPASS", "1")
                .env("IPMI_TO_METAL_SSH_PASSWORD", pw.expose())
                .env("DISPLAY", ":0");
        }
        cmd.arg(&c.host);
        cmd
    }

    fn classify(&self, f: &Finished) -> Option<SshError> {
        if f.code != Some(255) {
            return None;
        }
        let e = f.stderr.to_ascii_lowercase();
        Some(
            if e.contains("host key verification failed") || e.contains("host key for") {
                SshError::HostKey
            } else if e.contains("permission denied") || e.contains("too many authentication") {
                SshError::Auth(f.stderr.trim().to_string())
            } else if e.contains("connection refused")
                || e.contains("timed out")
                || e.contains("no route to host")
                || e.contains("network is unreachable")
                || e.contains("could not resolve")
                || e.contains("connection closed")
                || e.contains("connection reset")
            {
                SshError::Unreachable(f.stderr.trim().to_string())
            } else {
                SshError::Exit(Some(255), f.stderr.trim().to_string())
            },
        )
    }

    /// Makes sure a master connection is up (started detached, its output discarded).
    async fn ensure_master(&self) -> Result<(), SshError> {
        let _one = self.master.lock().await;
        let mut check = self.ssh(false);
        check.args(["-O", "check"]);
        check
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let checked = tokio::time::timeout(Duration::from_secs(2), check.status()).await;
        if matches!(checked, Ok(Ok(s)) if s.success()) {
            return Ok(());
        }
        let mut m = self.ssh(true);
        // The detached master must not hold our pipes: its stdio goes nowhere. If it does not
        // connect in time, the process is killed when dropped.
        m.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = m.spawn().map_err(|e| SshError::Spawn(e.to_string()))?;
        let limit = self.config.connect_timeout + MASTER_START_SLACK;
        let started = tokio::time::timeout(limit, child.wait_with_output()).await;
        telemetry::ssh_master_started(matches!(&started, Ok(Ok(out)) if out.status.success()));
        match started {
            Err(_) => Err(SshError::Unreachable(format!(
                "no connection within {:?}",
                self.config.connect_timeout
            ))),
            Ok(Err(e)) => Err(SshError::Spawn(e.to_string())),
            Ok(Ok(out)) if out.status.success() => Ok(()),
            Ok(Ok(out)) => {
                let f = Finished {
                    code: out.status.code(),
                    stdout: String::new(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                    truncated: false,
                };
                Err(self
                    .classify(&f)
                    .unwrap_or(SshError::Exit(f.code, f.stderr.trim().to_string())))
            }
        }
    }

    /// Closes the master connection (best effort), so that the next command connects afresh.
    async fn drop_master(&self) {
        let mut exit = self.ssh(false);
        exit.args(["-O", "exit"]);
        exit.stdout(Stdio::null()).stderr(Stdio::null());
        let _ = tokio::time::timeout(Duration::from_secs(2), exit.status()).await;
    }

    /// Runs `command` on the host; its stdout on exit 0.
    async fn exec(&self, command: &str) -> Result<String, SshError> {
        let r = self.exec_once(command).await;
        if matches!(
            r,
            Err(SshError::Timeout) | Err(SshError::Unreachable(_)) | Err(SshError::Dropped(..))
        ) {
            // A master connection to a host that died may linger until its keep-alives fail.
            self.drop_master().await;
        }
        r
    }

    async fn exec_once(&self, command: &str) -> Result<String, SshError> {
        let _slot = self.slots.acquire().await.expect("never closed");
        self.ensure_master().await?;
        let mut cmd = self.ssh(false);
        // The marker says the remote shell got as far as the command.
        cmd.arg("--").arg(format!("echo {STARTED}; {command}"));
        match process::run(cmd, self.config.command_timeout, MAX_OUTPUT).await {
            Err(RunError::Timeout(_)) => Err(SshError::Timeout),
            Err(RunError::Spawn(e)) => Err(SshError::Spawn(e)),
            Ok(f) => match self.classify(&f) {
                // Connected, then cut: the command ran if the marker came back.
                Some(SshError::Unreachable(m)) | Some(SshError::Exit(Some(255), m)) => {
                    Err(SshError::Dropped(m, f.stdout.contains(STARTED)))
                }
                Some(e) => Err(e),
                None if f.code == Some(0) => Ok(f
                    .stdout
                    .strip_prefix(STARTED)
                    .map_or(f.stdout.as_str(), |r| r.trim_start_matches('\n'))
                    .to_string()),
                None => Err(SshError::Exit(f.code, f.stderr.trim().to_string())),
            },
        }
    }

    /// Runs `command` and turns an SSH failure into a backend error, with a log line.
    async fn run(&self, what: &str, command: &str) -> BackendResult<String> {
        self.exec(command).await.map_err(|e| self.error(what, e))
    }

    fn error(&self, what: &str, e: SshError) -> BackendError {
        let target = self.target();
        match e {
            SshError::HostKey => {
                tracing::error!(host = %target, known_hosts = %self.config.known_hosts.display(), operation = what, "host key of the host is unknown or has changed: connection refused");
                BackendError::Failed(format!("host key of {target} unknown or changed"))
            }
            SshError::Unreachable(m) | SshError::Dropped(m, _) => {
                tracing::warn!(host = %target, operation = what, error = ?m, "host unreachable over SSH");
                BackendError::Timeout(format!("{target} unreachable: {m}"))
            }
            SshError::Auth(m) => {
                tracing::warn!(host = %target, operation = what, error = ?m, "SSH login refused");
                BackendError::Failed(format!("SSH login to {target} refused"))
            }
            SshError::Timeout => {
                tracing::warn!(host = %target, operation = what, timeout = ?self.config.command_timeout, "command on the host timed out");
                BackendError::Timeout(format!("command on {target} timed out"))
            }
            SshError::Exit(code, m) => {
                tracing::warn!(host = %target, operation = what, ?code, stderr = ?m, "command on the host failed");
                BackendError::Failed(format!("command on {target} exited with {code:?}"))
            }
            SshError::Spawn(m) => {
                tracing::error!(operation = what, error = ?m, "cannot run ssh");
                BackendError::Failed(format!("cannot run ssh: {m}"))
            }
        }
    }

    fn ipmitool(&self, args: &str) -> Option<String> {
        self.config
            .local_ipmitool
            .as_ref()
            .map(|base| format!("ipmitool {base} {args}"))
    }
}

/// ssh's options that decide which connection it makes and how it checks and authenticates it:
/// all but the control socket's. The master's socket is named after these (and the host,
/// password and askpass program), so a BMC never rides on a connection made with other
/// settings.
fn connection_options(c: &SshConfig) -> Vec<OsString> {
    let mut o: Vec<OsString> = ["-F", "/dev/null", "-p", &c.port.to_string(), "-l", &c.user]
        .map(OsString::from)
        .into();
    if let Some(k) = &c.key_file {
        o.extend([
            "-i".into(),
            k.into(),
            "-o".into(),
            "IdentitiesOnly=yes".into(),
        ]);
    }
    let mut known_hosts = OsString::from("UserKnownHostsFile=");
    known_hosts.push(&c.known_hosts);
    let secs = c.connect_timeout.as_secs().max(1);
    let mut settings: Vec<OsString> = vec![
        "StrictHostKeyChecking=yes".into(),
        known_hosts,
        "GlobalKnownHostsFile=/dev/null".into(),
        format!("ConnectTimeout={secs}").into(),
        "ServerAliveInterval=5".into(),
        "ServerAliveCountMax=2".into(),
        "LogLevel=ERROR".into(),
    ];
    if c.password.is_some() && c.askpass.is_some() {
        settings.extend(["BatchMode=no".into(), "NumberOfPasswordPrompts=1".into()]);
    } else {
        settings.push("BatchMode=yes".into());
    }
    for s in settings {
        o.extend(["-o".into(), s]);
    }
    o
}

#[async_trait]
impl Backend for SshBackend {
    fn kind(&self) -> &'static str {
        "ssh"
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        if let Some(cmd) = self.ipmitool("chassis power status") {
            let out = self.run("power status", &cmd).await?;
            return if out.contains("is on") {
                Ok(PowerState::On)
            } else if out.contains("is off") {
                Ok(PowerState::Off)
            } else {
                Err(BackendError::Failed(format!(
                    "ipmitool said {:?}",
                    out.trim()
                )))
            };
        }
        match self.exec(&self.config.commands.status).await {
            Ok(_) => Ok(PowerState::On),
            Err(SshError::Unreachable(m)) | Err(SshError::Dropped(m, _)) => {
                match self.config.unreachable {
                    Unreachable::Off => {
                        tracing::debug!(host = %self.target(), error = ?m, "host does not answer: power off");
                        Ok(PowerState::Off)
                    }
                    Unreachable::Unknown => {
                        Err(self.error("power status", SshError::Unreachable(m)))
                    }
                }
            }
            Err(SshError::Timeout) if self.config.unreachable == Unreachable::Off => {
                Ok(PowerState::Off)
            }
            Err(e) => Err(self.error("power status", e)),
        }
    }

    async fn power(&self, action: PowerAction, who: &Requester) -> BackendResult<()> {
        let r = if let Some(cmd) = self.ipmitool(&format!("chassis power {action}")) {
            self.run("power", &cmd).await.map(|_| ())
        } else {
            let c = &self.config.commands;
            let command = match action {
                PowerAction::On => {
                    // A running host is on; a dead one cannot be woken over SSH.
                    return match self.power_state().await? {
                        PowerState::On => Ok(()),
                        PowerState::Off => Err(BackendError::InvalidState(
                            "the host is down: power on needs another backend (route on to metal or command)".into(),
                        )),
                    };
                }
                PowerAction::Off => &c.off,
                PowerAction::Cycle => &c.cycle,
                PowerAction::Reset => &c.reset,
                PowerAction::Soft => &c.soft_off,
                PowerAction::Diag => &c.diag,
            };
            match self.exec(command).await {
                Ok(_) => Ok(()),
                // The shutdown may cut the connection before ssh hears the exit status; a host
                // that could not be reached at all is an error, though.
                Err(SshError::Dropped(m, true))
                    if matches!(
                        action,
                        PowerAction::Off
                            | PowerAction::Reset
                            | PowerAction::Cycle
                            | PowerAction::Soft
                    ) =>
                {
                    tracing::info!(error = ?m, "connection closed by the shutdown");
                    Ok(())
                }
                Err(e) => Err(self.error("power", e)),
            }
        };
        tracing::info!(host = %self.target(), %action, %who, ok = r.is_ok(), "power action over SSH");
        r
    }

    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        who: &Requester,
    ) -> BackendResult<()> {
        let Some(_) = &self.config.local_ipmitool else {
            return Err(BackendError::NotSupported);
        };
        let dev = match boot.map(|b| b.device) {
            None => "none",
            Some(BootDevice::Pxe) => "pxe",
            Some(BootDevice::Disk) | Some(BootDevice::DiskSafe) => "disk",
            Some(BootDevice::Cdrom) => "cdrom",
            Some(BootDevice::BiosSetup) => "bios",
            Some(_) => return Err(BackendError::NotSupported),
        };
        let mut opts = Vec::new();
        if boot.is_some_and(|b| b.persistent) {
            opts.push("persistent");
        }
        if boot.is_some_and(|b| b.efi) {
            opts.push("efiboot");
        }
        let mut args = format!("chassis bootdev {dev}");
        if !opts.is_empty() {
            args.push_str(&format!(" options={}", opts.join(",")));
        }
        let cmd = self.ipmitool(&args).expect("local mode");
        self.run("boot device", &cmd).await?;
        tracing::info!(?boot, %who, "boot device set by the host's ipmitool");
        *self.boot.lock().expect("boot lock") = boot;
        Ok(())
    }

    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        if self.config.local_ipmitool.is_none() {
            return Err(BackendError::NotSupported);
        }
        Ok(*self.boot.lock().expect("boot lock"))
    }

    /// The console command on the host with a PTY (`-tt`), over a connection of its own with
    /// the same host-key checks; ssh's escape character is off, so that what the remote console
    /// types reaches the host as it is.
    async fn console(&self, _who: &Requester) -> BackendResult<Box<dyn ipmi_bmc::Console>> {
        let Some(command) = &self.config.commands.console else {
            return Err(BackendError::NotSupported);
        };
        let cmd = self.ssh(false);
        // The options go before the host, which `ssh` put last.
        let mut args: Vec<std::ffi::OsString> = cmd.as_std().get_args().map(Into::into).collect();
        let host = args.pop().expect("the host");
        let mut console = tokio::process::Command::new("ssh");
        console
            .args(args)
            .args(["-tt", "-e", "none"])
            .arg(host)
            .arg(command);
        console.envs(
            cmd.as_std()
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k, v))),
        );
        tracing::info!(host = %self.target(), "console over SSH");
        Ok(Box::new(backend_command::console::ProcessConsole::spawn(
            console, "ssh",
        )?))
    }

    async fn sensors(&self) -> BackendResult<Vec<SensorReading>> {
        if let Some(cmd) = self.ipmitool("sdr") {
            let out = self.run("sensors", &cmd).await?;
            return Ok(parse_ipmitool_sdr(&out));
        }
        let out = self.run("sensors", &self.config.commands.sensors).await?;
        Ok(parse_hwmon(&out))
    }
}
