//! OpenSSH's `sshd` (Debian package `openssh-server`) on a loopback port, with a throwaway host
//! key and user key in a temporary directory, for the ssh backend's tests. The commands the tests
//! configure are harmless stand-ins that leave marker files in [`Sshd::markers`]; no test runs a
//! real poweroff, reboot or sysrq.

use crate::{free_tcp_port, require};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running sshd.
pub struct Sshd {
    child: Child,
    dir: Option<tempfile::TempDir>,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

fn keygen(path: &Path) {
    let ok = Command::new(require("ssh-keygen", "openssh-client"))
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "ipmi-to-metal-test",
            "-f",
        ])
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ssh-keygen {}", path.display());
}

impl Sshd {
    /// Starts sshd on a free port with new keys.
    pub fn start() -> Sshd {
        Sshd::start_at(free_tcp_port(), None)
    }

    /// Starts sshd on `port`, in `dir` (keeping its keys) if given.
    pub fn start_at(port: u16, dir: Option<tempfile::TempDir>) -> Sshd {
        let sshd = require("sshd", "openssh-server");
        let dir = dir.unwrap_or_else(|| tempfile::tempdir().expect("temporary directory"));
        let p = dir.path();
        if !p.join("host_key").exists() {
            keygen(&p.join("host_key"));
            keygen(&p.join("user_key"));
            keygen(&p.join("other_host_key"));
            std::fs::copy(p.join("user_key.pub"), p.join("authorized_keys"))
                .expect("authorized_keys");
            std::fs::create_dir_all(p.join("markers")).expect("markers");
        }
        // sshd's privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPrintMotd no\nLogLevel ERROR\nMaxStartups 100\nMaxSessions 100\n",
            d = p.display()
        );
        std::fs::write(p.join("sshd_config"), config).expect("sshd_config");
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(p.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(p.join("sshd.log")).expect("log"))
            .spawn()
            .expect("start sshd");
        let s = Sshd {
            child,
            dir: Some(dir),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not start: {}",
                std::fs::read_to_string(s.path().join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    fn path(&self) -> &Path {
        self.dir.as_ref().expect("running").path()
    }

    /// The user's private key.
    pub fn key_file(&self) -> PathBuf {
        self.path().join("user_key")
    }

    /// A known_hosts file with this server's real host key.
    pub fn known_hosts(&self) -> PathBuf {
        self.known_hosts_with("host_key.pub", "known_hosts")
    }

    /// A known_hosts file that lists another key for this server (a changed host key).
    pub fn wrong_known_hosts(&self) -> PathBuf {
        self.known_hosts_with("other_host_key.pub", "wrong_known_hosts")
    }

    fn known_hosts_with(&self, key: &str, name: &str) -> PathBuf {
        let pubkey = std::fs::read_to_string(self.path().join(key)).expect("public key");
        let mut fields = pubkey.split_whitespace();
        let (kind, body) = (fields.next().expect("type"), fields.next().expect("key"));
        let path = self.path().join(name);
        std::fs::write(&path, format!("[127.0.0.1]:{} {kind} {body}\n", self.port))
            .expect("known_hosts");
        path
    }

    /// Where the stand-in commands leave their markers.
    pub fn markers(&self) -> PathBuf {
        self.path().join("markers")
    }

    /// Whether the marker `name` exists.
    pub fn marked(&self, name: &str) -> bool {
        self.markers().join(name).exists()
    }

    /// Stops sshd and its connections, as if the host went down, keeping its directory (and
    /// keys) for a restart.
    pub fn stop(mut self) -> tempfile::TempDir {
        self.kill_all();
        self.dir.take().expect("directory present until stopped")
    }

    /// The listener and every connection's processes (its descendants).
    fn kill_all(&mut self) {
        let mut pids = descendants(self.child.id());
        pids.reverse();
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in pids.into_iter().filter_map(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) on a process of this sshd's tree; it touches no memory.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// The processes below `root`, parents before children, from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut parent = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces.
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
            if let Some(ppid) = after
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok())
            {
                parent.push((pid, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (pid, ppid) in &parent {
            if *ppid == p {
                out.push(*pid);
                frontier.push(*pid);
            }
        }
    }
    out
}
