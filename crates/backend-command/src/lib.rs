//! # backend-command
//!
//! A [`Backend`] that runs a configured program for each operation, like OpenIPMI's
//! chassis-control script: a smart PDU's CLI, `virsh`, Proxmox's `qm`, or `curl` to a webhook.
//!
//! Each program gets the BMC's name and the request in the environment: `IPMI_BMC`,
//! `IPMI_OPERATION` (`status`, `on`, `off`, `cycle`, `reset`, `soft`, `diag`, `boot`),
//! `IPMI_USER` and `IPMI_PEER` (who asked), and for `boot` `IPMI_BOOT_DEVICE` (`pxe`, `disk`,
//! `cdrom`, `bios`, `none`), `IPMI_BOOT_PERSISTENT` and `IPMI_BOOT_EFI` (`0` or `1`). A program
//! given as `run` gets the operation as its last argument too. Programs run without a shell
//! (argv as configured) unless `shell` is set, are killed at their timeout with their children,
//! and their output is bounded.
//!
//! Exit code 0 is success; 3 means "not possible in the present state" (0xD5); 4 "busy, try
//! again" (0xC0); anything else is a failure (0xFF) whose stderr goes to the log. For `status`,
//! the first word of the output says the power state: `on`, `running`, `active`, `up`, `1` or
//! `power:1` are on; `off`, `shut`, `inactive`, `down`, `stopped`, `0` or `power:0` are off.

#![warn(missing_docs)]

pub mod config;
pub mod console;
pub mod process;

use async_trait::async_trait;
use ipmi_bmc::{
    Backend, BackendError, BackendResult, BootDevice, BootOverride, PowerAction, PowerState,
    Requester,
};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// An operation a program can carry out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// Read the power state.
    Status,
    /// Power on.
    On,
    /// Power off (hard).
    Off,
    /// Power cycle.
    Cycle,
    /// Hard reset.
    Reset,
    /// Soft off (ACPI / graceful shutdown).
    Soft,
    /// Diagnostic interrupt.
    Diag,
    /// Set the boot device.
    Boot,
}

impl Op {
    /// Every operation.
    pub const ALL: [Op; 8] = [
        Op::Status,
        Op::On,
        Op::Off,
        Op::Cycle,
        Op::Reset,
        Op::Soft,
        Op::Diag,
        Op::Boot,
    ];

    /// Its name in the configuration and in `IPMI_OPERATION`.
    pub fn name(self) -> &'static str {
        match self {
            Op::Status => "status",
            Op::On => "on",
            Op::Off => "off",
            Op::Cycle => "cycle",
            Op::Reset => "reset",
            Op::Soft => "soft",
            Op::Diag => "diag",
            Op::Boot => "boot",
        }
    }

    /// The operation of a power action.
    pub fn of(action: PowerAction) -> Op {
        match action {
            PowerAction::On => Op::On,
            PowerAction::Off => Op::Off,
            PowerAction::Cycle => Op::Cycle,
            PowerAction::Reset => Op::Reset,
            PowerAction::Soft => Op::Soft,
            PowerAction::Diag => Op::Diag,
        }
    }
}

/// The command backend's settings.
#[derive(Clone, Debug)]
pub struct CommandConfig {
    /// The BMC's name, for `IPMI_BMC`.
    pub bmc: String,
    /// A program for every operation not given its own (gets the operation as last argument).
    pub run: Option<Vec<String>>,
    /// A program per operation.
    pub ops: BTreeMap<Op, Vec<String>>,
    /// The program whose input and output are the console (no time limit: it runs until it
    /// exits, and is started again).
    pub console: Option<Vec<String>>,
    /// Run each program's first element as a `sh -c` script instead of an argv.
    pub shell: bool,
    /// A program is killed after this long.
    pub timeout: Duration,
    /// At most this many bytes of each output are kept.
    pub max_output: usize,
}

/// The command backend.
pub struct CommandBackend {
    config: CommandConfig,
    boot: Mutex<Option<BootOverride>>,
}

/// How a program's first word of output reads as a power state.
pub fn parse_power(output: &str) -> Option<PowerState> {
    let first = output.split_whitespace().next()?.to_ascii_lowercase();
    let word = first.strip_prefix("power:").unwrap_or(&first);
    match word {
        "on" | "running" | "active" | "up" | "1" => Some(PowerState::On),
        "off" | "shut" | "inactive" | "down" | "stopped" | "0" => Some(PowerState::Off),
        _ => None,
    }
}

fn boot_device_name(d: Option<BootDevice>) -> &'static str {
    match d {
        None => "none",
        Some(BootDevice::Pxe) => "pxe",
        Some(BootDevice::Disk) | Some(BootDevice::DiskSafe) | Some(BootDevice::RemoteDisk) => {
            "disk"
        }
        Some(BootDevice::Cdrom) | Some(BootDevice::RemoteCdrom) => "cdrom",
        Some(BootDevice::BiosSetup) => "bios",
        Some(BootDevice::Diag) => "diag",
        Some(BootDevice::Floppy)
        | Some(BootDevice::RemoteFloppy)
        | Some(BootDevice::RemoteMedia) => "floppy",
    }
}

impl CommandBackend {
    /// A backend with these programs.
    pub fn new(config: CommandConfig) -> Self {
        CommandBackend {
            config,
            boot: Mutex::new(None),
        }
    }

    /// Whether a program is configured for `op`.
    pub fn handles(&self, op: Op) -> bool {
        self.config.ops.contains_key(&op) || self.config.run.is_some()
    }

    /// Runs the program of `op`; its stdout on success.
    pub async fn call(
        &self,
        op: Op,
        who: Option<&Requester>,
        env: &[(&str, String)],
    ) -> BackendResult<String> {
        let (argv, with_op) = match (self.config.ops.get(&op), &self.config.run) {
            (Some(a), _) => (a, false),
            (None, Some(a)) => (a, true),
            (None, None) => return Err(BackendError::NotSupported),
        };
        let Some(first) = argv.first() else {
            return Err(BackendError::NotSupported);
        };
        let mut cmd = if self.config.shell {
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c").arg(first).arg("ipmi-to-metal");
            c.args(&argv[1..]);
            c
        } else {
            let mut c = tokio::process::Command::new(first);
            c.args(&argv[1..]);
            c
        };
        if with_op {
            cmd.arg(op.name());
        }
        cmd.env("IPMI_BMC", &self.config.bmc)
            .env("IPMI_OPERATION", op.name());
        if let Some(w) = who {
            cmd.env("IPMI_USER", &w.user)
                .env("IPMI_PEER", w.peer.to_string());
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = std::time::Instant::now();
        let r = process::run(cmd, self.config.timeout, self.config.max_output).await;
        let program = first.as_str();
        match r {
            Err(process::RunError::Timeout(t)) => {
                tracing::warn!(op = op.name(), program, "program killed at its timeout");
                Err(BackendError::Timeout(format!(
                    "{program} killed after {t:?}"
                )))
            }
            Err(e) => {
                tracing::warn!(op = op.name(), program, error = %e, "program failed to start");
                Err(BackendError::Failed(format!("{program}: {e}")))
            }
            Ok(f) => {
                let why = f.stderr.lines().next().unwrap_or("").to_string();
                tracing::debug!(op = op.name(), program, code = ?f.code, elapsed = ?started.elapsed(), truncated = f.truncated, "program finished");
                match f.code {
                    Some(0) => Ok(f.stdout),
                    code => {
                        tracing::warn!(op = op.name(), program, ?code, stderr = ?why, "program failed");
                        Err(match code {
                            Some(3) => BackendError::InvalidState(why),
                            Some(4) => BackendError::Busy(why),
                            _ => BackendError::Failed(format!(
                                "{program} exited with {code:?}: {why}"
                            )),
                        })
                    }
                }
            }
        }
    }
}

#[async_trait]
impl Backend for CommandBackend {
    fn kind(&self) -> &'static str {
        "command"
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        let out = self.call(Op::Status, None, &[]).await?;
        parse_power(&out).ok_or_else(|| {
            BackendError::Failed(format!(
                "status program printed {:?}, not a power state",
                out.chars().take(60).collect::<String>()
            ))
        })
    }

    async fn power(&self, action: PowerAction, who: &Requester) -> BackendResult<()> {
        let r = self.call(Op::of(action), Some(who), &[]).await.map(|_| ());
        tracing::info!(%action, %who, ok = r.is_ok(), "power action by the command backend");
        r
    }

    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        who: &Requester,
    ) -> BackendResult<()> {
        let flag = |b: bool| if b { "1" } else { "0" }.to_string();
        let env = [
            (
                "IPMI_BOOT_DEVICE",
                boot_device_name(boot.map(|b| b.device)).to_string(),
            ),
            (
                "IPMI_BOOT_PERSISTENT",
                flag(boot.is_some_and(|b| b.persistent)),
            ),
            ("IPMI_BOOT_EFI", flag(boot.is_some_and(|b| b.efi))),
        ];
        self.call(Op::Boot, Some(who), &env).await?;
        *self.boot.lock().expect("boot lock") = boot;
        Ok(())
    }

    async fn console(&self, who: &Requester) -> BackendResult<Box<dyn ipmi_bmc::Console>> {
        let Some(argv) = self.config.console.as_ref().filter(|a| !a.is_empty()) else {
            return Err(BackendError::NotSupported);
        };
        let mut cmd = if self.config.shell {
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c").arg(&argv[0]).arg("ipmi-to-metal");
            c.args(&argv[1..]);
            c
        } else {
            let mut c = tokio::process::Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        };
        cmd.env("IPMI_BMC", &self.config.bmc)
            .env("IPMI_OPERATION", "console")
            .env("IPMI_USER", &who.user);
        Ok(Box::new(console::ProcessConsole::spawn(cmd, &argv[0])?))
    }

    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        Ok(*self.boot.lock().expect("boot lock"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_words() {
        assert_eq!(parse_power("running\n"), Some(PowerState::On));
        assert_eq!(parse_power("shut off\n"), Some(PowerState::Off));
        assert_eq!(parse_power("power:1"), Some(PowerState::On));
        assert_eq!(parse_power("Power is ON"), None);
        assert_eq!(parse_power(""), None);
    }

    /// Whether process `pid` is gone: no such process, or a zombie (which no longer runs; an
    /// orphan's zombie is init's to reap, and some container inits never do).
    fn stopped(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            // The state follows the parenthesised command name.
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z')),
        }
    }

    /// Waits up to a second for `done`.
    async fn within_a_second(done: impl Fn() -> bool) -> bool {
        for _ in 0..100 {
            if done() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        done()
    }

    #[tokio::test]
    async fn a_call_dropped_by_the_deadline_kills_the_programs_children_and_reaps_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        // A status program that starts a child of its own, then hangs.
        let script = format!("sleep 300 & echo $! > {d}/grandchild; echo $$ > {d}/child; wait");
        let backend = CommandBackend::new(CommandConfig {
            bmc: "node1".into(),
            run: None,
            ops: BTreeMap::from([(Op::Status, vec![script])]),
            console: None,
            shell: true,
            timeout: Duration::from_secs(30),
            max_output: 1000,
        });
        let pid_in = |name: &str| -> Option<i32> {
            std::fs::read_to_string(dir.path().join(name))
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        // A request deadline, far shorter than the program's own timeout, drops the call once
        // the program has started its child (however slowly this machine starts it).
        let started = async {
            while pid_in("child").is_none() || pid_in("grandchild").is_none() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        let deadline = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::select! {
                r = backend.power_state() => Some(r),
                () = started => None,
            }
        });
        let dropped = deadline.await;
        assert!(matches!(dropped, Ok(None)), "{dropped:?}");
        let (child, grandchild) = (pid_in("child").unwrap(), pid_in("grandchild").unwrap());
        let grandchild_stopped = within_a_second(|| stopped(grandchild)).await;
        if !grandchild_stopped {
            // SAFETY: kill(2) touches no memory; this only tidies up after a failed test.
            unsafe { libc::kill(grandchild, libc::SIGKILL) };
        }
        assert!(
            grandchild_stopped,
            "the program's child {grandchild} still runs"
        );
        // The program itself is reaped: not even a zombie is left.
        let reaped = within_a_second(|| !std::path::Path::new(&format!("/proc/{child}")).exists());
        assert!(reaped.await, "the program {child} was not reaped");
    }
}
