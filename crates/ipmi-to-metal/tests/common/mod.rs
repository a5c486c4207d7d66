//! Shared harness of the end-to-end tests: starts the real `ipmi-to-metal` binary on a free
//! loopback port with a throwaway configuration, and runs the real clients against it. A client
//! that is not installed fails the test loudly: `.ci/run` installs them all.

#![allow(dead_code)]

pub mod admin;
pub mod http;
pub mod hwmon;
pub mod metal;
pub mod prometheus;
mod rlimits;
pub mod tty;

pub use rlimits::Rlimits;
use std::io::Write;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
pub use test_support::{free_port, require};

/// The administrator's password in every test configuration.
pub const ADMIN_PASSWORD: &str = "s3cret-admin";
/// The user-level account's password.
pub const VIEWER_PASSWORD: &str = "viewer-pass";
/// The operator account's password.
pub const OPERATOR_PASSWORD: &str = "operator-pass";
/// The http backend's API secret (TEST_HTTP_SECRET in the binary's environment).
pub const HTTP_SECRET: &str = "test-http-secret-8d1f07";
/// The password of the Redfish services' account (TEST_REDFISH_PASSWORD in the binary's
/// environment).
pub const REDFISH_PASSWORD: &str = "redfish-pass-3c9e71";

/// A running `ipmi-to-metal serve` and its configuration directory.
pub struct Bmc {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
    /// The server's log filter (`IPMI_TO_METAL_LOG`), kept across restarts.
    log_filter: String,
}

impl Drop for Bmc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The standard test BMC: sim backend with short transitions; users admin (administrator),
/// operator (operator) and viewer (user). `extra` is added to the `[[bmc]]` table.
pub fn standard_config(port: u16, extra: &str) -> String {
    format!(
        r#"[[bmc]]
name = "node1"
listen = "127.0.0.1:{port}"
backend = "sim"
{extra}

[bmc.sim]
power_on_at_start = true
transition_ms = 300
soft_off_ms = 300

[[bmc.users]]
name = "admin"
password_file = "admin.pass"
privilege = "administrator"

[[bmc.users]]
name = "operator"
password = "{OPERATOR_PASSWORD}"
privilege = "operator"

[[bmc.users]]
name = "viewer"
password_env = "TEST_VIEWER_PASSWORD"
privilege = "user"
"#
    )
}

/// The standard test BMC with another backend: `backend` replaces "sim" and `section` (for
/// example a `[bmc.ipmi]` table) replaces the `[bmc.sim]` table.
pub fn config_with_backend(port: u16, backend: &str, section: &str) -> String {
    standard_config(port, "")
        .replace("backend = \"sim\"", &format!("backend = \"{backend}\""))
        .replace(
            "[bmc.sim]\npower_on_at_start = true\ntransition_ms = 300\nsoft_off_ms = 300\n",
            section,
        )
}

impl Bmc {
    /// Starts the standard test BMC.
    pub fn start() -> Bmc {
        Bmc::start_with("")
    }

    /// Starts the standard test BMC with extra keys in its `[[bmc]]` table.
    pub fn start_with(extra: &str) -> Bmc {
        let port = free_port();
        Bmc::start_config(port, &standard_config(port, extra))
    }

    /// Starts a BMC from configuration text whose first BMC listens on `port`.
    pub fn start_config(port: u16, config: &str) -> Bmc {
        Bmc::start_config_logging(port, config, "info")
    }

    /// [`Bmc::start_config`] with the log filter `filter` (`info,ipmi_proto::session::sol=debug`
    /// for a module's debug lines as well).
    pub fn start_config_logging(port: u16, config: &str, filter: &str) -> Bmc {
        Bmc::start_in_logging(tempfile::tempdir().unwrap(), port, config, filter)
    }

    /// Starts a BMC from configuration text in `dir` (which may hold files it names already).
    pub fn start_in(dir: tempfile::TempDir, port: u16, config: &str) -> Bmc {
        Bmc::start_in_logging(dir, port, config, "info")
    }

    fn start_in_logging(dir: tempfile::TempDir, port: u16, config: &str, log_filter: &str) -> Bmc {
        Bmc::start_in_limited(dir, port, config, log_filter, Rlimits::default())
    }

    /// [`Bmc::start_in`] with the server's soft resource limits set as `limits` says.
    pub fn start_in_limited(
        dir: tempfile::TempDir,
        port: u16,
        config: &str,
        log_filter: &str,
        limits: Rlimits,
    ) -> Bmc {
        std::fs::write(dir.path().join("admin.pass"), format!("{ADMIN_PASSWORD}\n")).unwrap();
        let path = dir.path().join("bmc.toml");
        std::fs::write(&path, config).unwrap();
        let log = dir.path().join("server.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"));
        if limits != Rlimits::default() {
            use std::os::unix::process::CommandExt;
            // SAFETY: between fork and exec, only getrlimit, setrlimit and signal
            // (async-signal-safe).
            unsafe {
                cmd.pre_exec(move || limits.apply());
            }
        }
        let child = cmd
            .args(["serve", "--config"])
            .arg(&path)
            .env("TEST_VIEWER_PASSWORD", VIEWER_PASSWORD)
            .env("TEST_SIM_PASSWORD", test_support::SIM_PASSWORD)
            .env("TEST_METAL_TOKEN", metal::METAL_TOKEN)
            .env("TEST_WRONG_METAL_TOKEN", metal::WRONG_METAL_TOKEN)
            .env("TEST_HTTP_SECRET", HTTP_SECRET)
            .env("TEST_REDFISH_PASSWORD", REDFISH_PASSWORD)
            .env("IPMI_TO_METAL_LOG", log_filter)
            // The state (SEL) stays beside the test's configuration file.
            .env_remove("STATE_DIRECTORY")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start ipmi-to-metal");
        let bmc = Bmc {
            child,
            port,
            dir,
            log,
            log_filter: log_filter.to_string(),
        };
        bmc.wait_ready();
        bmc
    }

    /// Waits until the BMC answers an ASF presence ping.
    fn wait_ready(&self) {
        if !eventually(20, || answers_ping(self.port)) {
            panic!(
                "the BMC did not answer on port {}; log:\n{}",
                self.port,
                self.server_log()
            );
        }
    }

    /// Stops the server and starts it again with the same directory and configuration.
    pub fn restart(mut self) -> Bmc {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let config = std::fs::read_to_string(dir.path().join("bmc.toml")).unwrap();
        let (port, filter) = (self.port, std::mem::take(&mut self.log_filter));
        drop(self);
        Bmc::start_in_logging(dir, port, &config, &filter)
    }

    /// Kills the server with SIGKILL (`kill -9`: no shutdown code of its own runs), checks that
    /// it died of that signal, and starts it again with the same directory and configuration.
    pub fn kill9_and_restart(mut self) -> Bmc {
        use std::os::unix::process::ExitStatusExt;
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-9", &pid]).status().unwrap();
        assert!(killed.success(), "kill -9 {pid}");
        let status = self.child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "the server died of SIGKILL");
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let config = std::fs::read_to_string(dir.path().join("bmc.toml")).unwrap();
        let (port, filter) = (self.port, std::mem::take(&mut self.log_filter));
        drop(self);
        Bmc::start_in_logging(dir, port, &config, &filter)
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server with SIGTERM (as systemd does) and waits for it to end.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        self.child.wait().unwrap()
    }

    /// Sends the server a signal (`kill -s NAME`, as systemd or an operator would).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-s", name, &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -s {name} {pid}");
    }

    /// The server's exit status once it has exited, waiting up to `secs`; `None` if it still runs.
    pub fn wait_exit(&mut self, secs: f64) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server process's command line, as every user of the machine can read it.
    pub fn cmdline(&self) -> String {
        std::fs::read(format!("/proc/{}/cmdline", self.child.id()))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default()
    }

    /// The server's log so far.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Writes a FreeIPMI configuration file with the user's credentials (so that the password
    /// is on no command line) and returns its path.
    pub fn freeipmi_conf(&self, user: &str, password: &str) -> PathBuf {
        let path = self.dir.path().join(format!("freeipmi-{user}.conf"));
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(f, "username {user}\npassword {password}").unwrap();
        path
    }
}

/// Whether something answers an ASF presence ping on this loopback port.
pub fn answers_ping(port: u16) -> bool {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let ping = [
        0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe, 0x80, 0x01, 0x00, 0x00,
    ];
    let mut buf = [0u8; 64];
    let _ = sock.send_to(&ping, ("127.0.0.1", port));
    matches!(sock.recv_from(&mut buf), Ok((n, _)) if n >= 9 && buf[8] == 0x40)
}

/// The output of a finished client.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    fn from(o: Output, elapsed: Duration) -> Run {
        Run {
            ok: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            elapsed,
        }
    }

    /// stdout, asserting that the client succeeded.
    pub fn out(self) -> String {
        assert!(
            self.ok,
            "client failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self.stdout
    }

    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs a command with a time limit (clients retry for a long time when a BMC is silent).
pub fn run(cmd: &mut Command) -> Run {
    let start = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let out = child.wait_with_output().unwrap();
    Run::from(out, start.elapsed())
}

/// `ipmitool -I <iface> -H 127.0.0.1 -p PORT -U user -E <args>`: the password comes from the
/// environment (`-E`), not the command line.
pub fn ipmitool(
    bmc: &Bmc,
    iface: &str,
    extra: &[&str],
    user: &str,
    password: &str,
    args: &str,
) -> Run {
    ipmitool_at(bmc.port, iface, extra, user, password, args)
}

/// [`ipmitool`] against a port.
pub fn ipmitool_at(
    port: u16,
    iface: &str,
    extra: &[&str],
    user: &str,
    password: &str,
    args: &str,
) -> Run {
    let tool = require("ipmitool", "ipmitool");
    let port = port.to_string();
    let mut cmd = Command::new("timeout");
    cmd.arg("60").arg(tool);
    cmd.args([
        "-I",
        iface,
        "-H",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        user,
        "-E",
        "-N",
        "1",
        "-R",
        "2",
    ]);
    cmd.args(extra);
    cmd.args(args.split_whitespace());
    cmd.env("IPMI_PASSWORD", password);
    // Dates in the C locale's formats (ipmitool reads and prints them by the locale).
    cmd.env("LC_ALL", "C");
    run(&mut cmd)
}

/// ipmitool over lanplus as the administrator, default cipher suite negotiation.
pub fn admin_run(bmc: &Bmc, args: &str) -> Run {
    ipmitool(bmc, "lanplus", &[], "admin", ADMIN_PASSWORD, args)
}

/// [`admin_run`], asserting success; its stdout.
pub fn admin(bmc: &Bmc, args: &str) -> String {
    admin_run(bmc, args).out()
}

/// Asserts that the BMC's one SOL instance is taken: the administrator's `sol activate` is
/// refused.
pub fn assert_sol_taken(bmc: &Bmc) {
    let second = admin_run(bmc, "sol activate");
    assert!(
        second
            .all()
            .contains("SOL payload already active on another session"),
        "{}",
        second.all()
    );
}

/// A FreeIPMI tool with the given user's credentials from a configuration file.
pub fn freeipmi(bmc: &Bmc, tool: &str, user: &str, password: &str, args: &[&str]) -> Run {
    let path = require(tool, "freeipmi-tools");
    let conf = bmc.freeipmi_conf(user, password);
    let host = format!("127.0.0.1:{}", bmc.port);
    let mut cmd = Command::new("timeout");
    cmd.arg("60")
        .arg(path)
        .arg("--config-file")
        .arg(&conf)
        .args(["-h", &host]);
    cmd.args(args);
    run(&mut cmd)
}

/// python3, checked to import `module` (pyghmi comes from PyPI: `.ci/run` installs it); fails
/// the test loudly when either is missing, as the harness does for every client.
pub fn require_python_module(module: &str) -> PathBuf {
    let python = require("python3", "python3");
    let probe = run(Command::new(&python).args(["-c", &format!("import {module}")]));
    assert!(
        probe.ok,
        "python3 cannot import {module}: `python3 -m pip install pyghmi` (.ci/run does); this test does not skip itself\n{} {}{}",
        python.display(),
        probe.stdout,
        probe.stderr
    );
    python
}

/// A free UDP port below 32768 on 127.0.0.1, for ipmiconsole (test-support's, which never gives
/// a port twice in one process).
pub fn low_free_port() -> u16 {
    test_support::low_free_port()
}

/// Waits up to 20 s until something listens on TCP `port` of 127.0.0.1 (a service of `bmc`'s
/// server: Redfish, iPXE); a panic with the server's log if nothing does.
pub fn wait_listening(bmc: &Bmc, port: u16) {
    assert!(
        eventually(20, || std::net::TcpStream::connect(("127.0.0.1", port))
            .is_ok()),
        "nothing listens on port {port}; log:\n{}",
        bmc.server_log()
    );
}

/// A child process (a client, a peer server, a load tool) killed and reaped however the test
/// ends, so that a failed assertion leaves no process behind holding the test's output.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `f` until it returns true or `secs` pass.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// tests/pyghmi_console.py: pyghmi's SOL console client driven step by step (see its doc).
pub const PYGHMI_CONSOLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pyghmi_console.py");

/// The console text the pyghmi console driver received (between its transcript markers).
pub fn pyghmi_transcript(out: &str) -> &str {
    out.split("--- transcript ---\n").nth(1).unwrap_or("")
}

/// A client whose standard output is read line by line while it runs, for a test that acts
/// between its steps (resets the machine once it says it is ready, say) and may write lines to
/// its standard input.
pub struct Lines {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    stdout: String,
    stderr: Option<std::thread::JoinHandle<String>>,
    start: Instant,
}

impl Lines {
    /// Starts `cmd` with its output piped.
    pub fn spawn(cmd: &mut Command) -> Lines {
        use std::io::{BufRead, Read};
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        let (tx, lines) = std::sync::mpsc::channel();
        let out = std::io::BufReader::new(child.stdout.take().expect("piped"));
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut err = child.stderr.take().expect("piped");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Lines {
            child,
            lines,
            stdout: String::new(),
            stderr: Some(stderr),
            start: Instant::now(),
        }
    }

    /// Writes `line` and a newline to the client's standard input.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("piped");
        writeln!(stdin, "{line}").expect("write to the client");
        stdin.flush().expect("write to the client");
    }

    /// Waits until the client prints the line `want`; panics with its output after `secs` or
    /// if it ends first.
    pub fn wait_line(&mut self, want: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push_str(&line);
                    self.stdout.push('\n');
                    if line == want {
                        return;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "no line {want:?} from the client ({e:?}); its output:\n{}",
                        self.stdout
                    );
                }
            }
        }
    }

    /// Waits for the client to end (killing it after `secs`): how it went and all its output.
    pub fn finish(mut self, secs: u64) -> Run {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                break self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // The reader ends with the pipe.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stdout.push_str(&line);
            self.stdout.push('\n');
        }
        Run {
            ok: status.success(),
            stdout: std::mem::take(&mut self.stdout),
            stderr: self
                .stderr
                .take()
                .and_then(|t| t.join().ok())
                .unwrap_or_default(),
            elapsed: self.start.elapsed(),
        }
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
