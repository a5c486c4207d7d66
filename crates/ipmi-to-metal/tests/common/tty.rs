//! A real terminal for the console clients (`ipmitool sol activate`, `ipmiconsole`): a tmux
//! server of the test's own (its socket in the test's directory), a pane running the client,
//! keys typed into it and its screen read back. The client puts the terminal in raw mode with
//! local echo off, so what the screen shows of typed text came back from the far side.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A client running in a terminal.
pub struct Tty {
    tmux: PathBuf,
    socket: PathBuf,
}

impl Tty {
    /// Runs `command` (a shell command line) in a new 200x50 terminal; `env` is given to it
    /// through tmux's environment, never on a command line. When the command ends the pane
    /// shows `[exited STATUS]` and stays.
    pub fn start(dir: &Path, name: &str, command: &str, env: &[(&str, &str)]) -> Tty {
        let tmux = super::require("tmux", "tmux");
        let socket = dir.join(format!("tmux-{name}.sock"));
        let line = format!("{command}; echo \"[exited $?]\"; sleep 3600");
        let mut cmd = Command::new(&tmux);
        cmd.arg("-S").arg(&socket);
        cmd.args([
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "200",
            "-y",
            "50",
        ]);
        cmd.arg(line);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.env("LC_ALL", "C");
        let ok = cmd.status().expect("run tmux").success();
        assert!(ok, "tmux new-session failed");
        let tty = Tty { tmux, socket };
        // Room for a long console: the scrollback the screen is read from.
        tty.tmux(&["set-option", "-g", "history-limit", "100000"]);
        tty
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new(&self.tmux)
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Everything the terminal shows and has scrolled away, lines joined where they wrapped.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-100000"])
    }

    /// Types `text` as it is (no Enter).
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
    }

    /// Types `text` and Enter.
    pub fn line(&self, text: &str) {
        if !text.is_empty() {
            self.type_text(text);
        }
        self.tmux(&["send-keys", "Enter"]);
    }

    /// Waits until the screen holds `text` (at least `count` times); the screen then.
    pub fn wait_for_n(&self, text: &str, count: usize, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if s.matches(text).count() >= count {
                return s;
            }
            if Instant::now() > deadline {
                panic!("{text:?} did not appear {count} times in {secs}s; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the screen holds `text`; the screen then.
    pub fn wait_for(&self, text: &str, secs: u64) -> String {
        self.wait_for_n(text, 1, secs)
    }
}

impl Drop for Tty {
    fn drop(&mut self) {
        // Ends this test's tmux server only (its own socket), and the client in it.
        self.tmux(&["kill-server"]);
    }
}

/// `ipmitool ... sol activate` as a shell command line for a terminal (the password comes from
/// the environment, `-E`); `timeout --foreground` leaves it the terminal's foreground.
pub fn sol_activate(bmc: &super::Bmc, user: &str, extra: &str) -> String {
    let tool = super::require("ipmitool", "ipmitool");
    format!(
        "timeout --foreground 600 {} -I lanplus -H 127.0.0.1 -p {} -U {user} -E {extra} sol activate",
        tool.display(),
        bmc.port
    )
}

/// A terminal running ipmitool's SOL as the administrator, once it is operational.
pub fn admin_console(bmc: &super::Bmc, name: &str) -> Tty {
    let tty = Tty::start(
        bmc.dir.path(),
        name,
        &sol_activate(bmc, "admin", ""),
        &[("IPMI_PASSWORD", super::ADMIN_PASSWORD)],
    );
    tty.wait_for("[SOL Session operational", 20);
    tty
}
