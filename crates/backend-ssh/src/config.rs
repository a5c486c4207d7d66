//! The ssh backend's `[bmc.ssh]` table: the host, the login, the time limits and the commands,
//! with their defaults; the private directory of the master connections' sockets; and the
//! askpass helper that gives ssh a configured password.

use crate::SshPassword;
use crate::{SshBackend, SshCommands, SshConfig, Unreachable, MASTER_START_SLACK};
use backend_config::{
    secret_from, BackendSettings, BmcContext, ConfigError, Kind, LongestCall, Resources, Spanned,
};
use ipmi_bmc::Backend;
use serde::Deserialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The SSH port unless `port` says otherwise.
pub const DEFAULT_PORT: u16 = 22;
/// The remote user unless `user` says otherwise.
pub const DEFAULT_USER: &str = "root";
/// Time limit for connecting unless `connect_timeout_ms` says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(3000);
/// Time limit for a command unless `command_timeout_ms` says otherwise. With the connection's
/// limit, one call stays below the request deadline (10 s): 3 s + 2 s + 4 s.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(4000);

/// `[bmc.ssh]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshToml {
    host: Spanned<String>,
    port: Option<u16>,
    user: Option<String>,
    key_file: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    known_hosts: Spanned<String>,
    connect_timeout_ms: Option<Spanned<u64>>,
    command_timeout_ms: Option<Spanned<u64>>,
    unreachable: Option<Spanned<String>>,
    local_ipmitool: Option<String>,
    soft_off: Option<String>,
    cycle: Option<String>,
    off: Option<String>,
    reset: Option<String>,
    diag: Option<String>,
    status: Option<String>,
    sensors: Option<String>,
    console: Option<String>,
}

/// The ssh backend kind.
pub struct SshKind;

impl Kind for SshKind {
    const NAME: &'static str = "ssh";
    const NEEDS: Option<&'static str> = Some("host, key_file, known_hosts");
    type Table = SshToml;
    type Settings = SshConfig;

    fn configure(
        &self,
        cx: &BmcContext,
        table: Option<&Spanned<SshToml>>,
    ) -> Result<SshConfig, ConfigError> {
        let t = table.expect("NEEDS a table");
        let (src, span, t) = (cx.src, t.span(), t.get_ref());
        let path = |p: &Spanned<String>| -> Result<PathBuf, ConfigError> {
            let full = src.path(p.get_ref());
            std::fs::File::open(&full)
                .map_err(|e| src.err(p.span(), format!("cannot read {}: {e}", full.display())))?;
            Ok(full)
        };
        let key_file = t.key_file.as_ref().map(path).transpose()?;
        let password = secret_from(
            src,
            "password",
            t.password_env.as_ref(),
            t.password_file.as_ref(),
        )?
        .map(|s| SshPassword::new(String::from_utf8_lossy(s.expose()).into_owned()));
        if key_file.is_none() && password.is_none() {
            return Err(src.err(
                span,
                "[bmc.ssh] needs key_file (or password_env / password_file)",
            ));
        }
        let unreachable = match t
            .unreachable
            .as_ref()
            .map(|u| (u.get_ref().as_str(), u.span()))
        {
            None | Some(("off", _)) => Unreachable::Off,
            Some(("unknown", _)) => Unreachable::Unknown,
            Some((other, sp)) => {
                return Err(src.err(
                    sp,
                    format!("unreachable must be \"off\" or \"unknown\", not {other:?}"),
                ))
            }
        };
        let ms = |v: &Option<Spanned<u64>>, default: Duration, min: u64| {
            v.as_ref()
                .map_or(default, |ms| Duration::from_millis(*ms.get_ref()))
                .max(Duration::from_millis(min))
        };
        let d = SshCommands::default();
        Ok(SshConfig {
            host: t.host.get_ref().clone(),
            port: t.port.unwrap_or(DEFAULT_PORT),
            user: t.user.clone().unwrap_or_else(|| DEFAULT_USER.into()),
            key_file,
            password,
            known_hosts: path(&t.known_hosts)?,
            connect_timeout: ms(&t.connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT, 1000),
            command_timeout: ms(&t.command_timeout_ms, DEFAULT_COMMAND_TIMEOUT, 100),
            commands: SshCommands {
                soft_off: t.soft_off.clone().unwrap_or(d.soft_off),
                cycle: t.cycle.clone().unwrap_or(d.cycle),
                off: t.off.clone().unwrap_or(d.off),
                reset: t.reset.clone().unwrap_or(d.reset),
                diag: t.diag.clone().unwrap_or(d.diag),
                status: t.status.clone().unwrap_or(d.status),
                sensors: t.sensors.clone().unwrap_or(d.sensors),
                console: t.console.clone().filter(|c| !c.trim().is_empty()),
            },
            unreachable,
            local_ipmitool: t.local_ipmitool.clone(),
            // Filled in when the backend is built.
            control_dir: PathBuf::new(),
            askpass: None,
        })
    }

    /// One call may first start the master connection (`connect_timeout` and the slack it gets
    /// to log in), then runs one command (`command_timeout`). The `ssh -O check` / `-O exit`
    /// around them talk to the local master's socket only.
    fn longest_call(&self, table: Option<&Spanned<SshToml>>, s: &SshConfig) -> Option<LongestCall> {
        let t = table.map(|t| t.get_ref());
        // Point at whichever of the two is written, the command's first.
        let at = t.and_then(|t| {
            t.command_timeout_ms
                .as_ref()
                .or(t.connect_timeout_ms.as_ref())
                .map(|ms| ms.span())
        });
        Some(LongestCall {
            time: s.connect_timeout + MASTER_START_SLACK + s.command_timeout,
            setting: "connect_timeout_ms + command_timeout_ms (+ 2 s to log in)",
            at,
        })
    }

    /// As ssh's `SSH_ASKPASS` helper (see [`SshConfig::askpass`]): answer with the password,
    /// nothing else.
    fn helper_main(&self) -> Option<ExitCode> {
        std::env::var_os("IPMI_TO_METAL_ASKPASS")?;
        Some(match std::env::var("IPMI_TO_METAL_SSH_PASSWORD") {
            Ok(pw) => {
                println!("{pw}");
                ExitCode::SUCCESS
            }
            Err(_) => ExitCode::FAILURE,
        })
    }
}

/// The private directory of the master connections' sockets, one for the process: made fresh
/// with a random name and checked (see [`crate::private_control_dir`]), removed when the
/// resources go. The error is kept so that every ssh BMC reports it. The metrics count the
/// master connections open by the sockets in it.
struct ControlDir(Result<PathBuf, String>);

impl ControlDir {
    fn create() -> ControlDir {
        let dir = crate::private_control_dir()
            .map_err(|e| format!("cannot make a private directory for SSH sockets: {e}"));
        if let Ok(d) = &dir {
            telemetry::watch_ssh_control_dir(d.clone());
        }
        ControlDir(dir)
    }
}

impl Drop for ControlDir {
    fn drop(&mut self) {
        if let Ok(dir) = &self.0 {
            telemetry::unwatch_ssh_control_dir(dir);
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl BackendSettings for SshConfig {
    fn describe(&self) -> String {
        format!(
            "ssh {}@{}:{}{}",
            self.user,
            self.host,
            self.port,
            if self.local_ipmitool.is_some() {
                " (the host's ipmitool)"
            } else {
                ""
            }
        )
    }

    /// The backend, with the process's control directory and this program as the askpass
    /// helper ([`SshKind`]'s `helper_main`).
    fn build(&self, shared: &mut Resources) -> Result<Arc<dyn Backend>, String> {
        let mut s = self.clone();
        s.control_dir = shared.one(|_| ControlDir::create()).0.clone()?;
        s.askpass = std::env::current_exe().ok();
        Ok(Arc::new(SshBackend::new(s)))
    }
}
