//! The Redfish services the redfish backend's tests run on loopback: sushy-tools' emulator
//! (`sushy-emulator` with its fake driver, basic auth from an htpasswd file, optionally TLS),
//! the project's fake (crate `fake-redfish`) in the test process, and a test CA made with
//! openssl for TLS.

use crate::common::{eventually, require, REDFISH_PASSWORD};
use fake_redfish::{Fake, FakeConfig};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use test_support::free_tcp_port;

/// The account on every test service.
pub const REDFISH_USER: &str = "ipmi-shim";
/// The emulator's one system.
pub const SUSHY_UUID: &str = "27946b59-9e44-4fa7-8e91-f3527a1ef094";

/// A test CA and a certificate it signed for 127.0.0.1, in a directory.
pub struct TestCa {
    pub dir: tempfile::TempDir,
}

impl TestCa {
    /// Makes the CA and the server certificate (EC P-256) with openssl.
    pub fn new() -> TestCa {
        let openssl = require("openssl", "openssl");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let steps: [&[&str]; 3] = [
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=ipmi-to-metal test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "server.ext",
            ],
        ];
        for args in steps {
            let out = Command::new(&openssl)
                .args(args)
                .current_dir(d)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        TestCa { dir }
    }

    /// The CA's certificate (PEM).
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}

/// A running `sushy-emulator --fake`: one system, on at start, basic auth.
pub struct Sushy {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    tls: Option<PathBuf>,
}

impl Drop for Sushy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sushy {
    /// Starts the emulator on a free loopback port; with `tls`, over https with the test CA's
    /// server certificate.
    pub fn start(tls: Option<&TestCa>) -> Sushy {
        let emulator = require("sushy-emulator", "sushy-tools (pip)");
        let python = require("python3", "python3");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // The htpasswd file (bcrypt, the only digest sushy-tools accepts); the password goes to
        // python on stdin, not on its command line.
        let mut hash = Command::new(python)
            .args([
                "-c",
                "import sys, bcrypt; print(bcrypt.hashpw(sys.stdin.buffer.read(), bcrypt.gensalt(4)).decode())",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        hash.stdin
            .take()
            .unwrap()
            .write_all(REDFISH_PASSWORD.as_bytes())
            .unwrap();
        let out = hash.wait_with_output().unwrap();
        assert!(out.status.success(), "bcrypt (installed with sushy-tools)");
        let hashed = String::from_utf8(out.stdout).unwrap();
        std::fs::write(
            d.join("htpasswd"),
            format!("{REDFISH_USER}:{}", hashed.trim()),
        )
        .unwrap();
        let config = format!(
            "SUSHY_EMULATOR_FAKE_DRIVER = True\n\
             SUSHY_EMULATOR_AUTH_FILE = {:?}\n\
             SUSHY_EMULATOR_STATE_DIR = {:?}\n\
             SUSHY_EMULATOR_FAKE_SYSTEMS = [{{'uuid': '{SUSHY_UUID}', 'name': 'node1', \
             'power_state': 'On', 'nics': [{{'mac': '00:5c:52:31:3a:9c', 'ip': '172.22.0.100'}}]}}]\n",
            d.join("htpasswd"),
            d.join("state"),
        );
        std::fs::write(d.join("sushy.conf"), config).unwrap();
        let port = free_tcp_port();
        let mut cmd = Command::new(emulator);
        cmd.arg("--config").arg(d.join("sushy.conf")).args([
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ]);
        if let Some(ca) = tls {
            cmd.arg("--ssl-certificate")
                .arg(ca.dir.path().join("server.pem"))
                .arg("--ssl-key")
                .arg(ca.dir.path().join("server.key"));
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sushy.log")).unwrap())
            .spawn()
            .expect("start sushy-emulator");
        let sushy = Sushy {
            child,
            port,
            dir,
            tls: tls.map(TestCa::ca),
        };
        assert!(
            eventually(30, || sushy.get("/redfish/v1/Systems").is_some()),
            "sushy-emulator did not answer; its log:\n{}",
            sushy.log()
        );
        sushy
    }

    /// The service's URL.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The emulator's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sushy.log")).unwrap_or_default()
    }

    /// `GET path` as JSON, with curl (the credentials from a file, not its command line).
    pub fn get(&self, path: &str) -> Option<serde_json::Value> {
        let curl = require("curl", "curl");
        let auth = self.dir.path().join("curl.conf");
        if !auth.exists() {
            std::fs::write(
                &auth,
                format!("user = \"{REDFISH_USER}:{REDFISH_PASSWORD}\"\n"),
            )
            .unwrap();
        }
        let mut cmd = Command::new(curl);
        cmd.args(["-sf", "--max-time", "10", "-K"]).arg(&auth);
        if let Some(ca) = &self.tls {
            cmd.arg("--cacert").arg(ca);
        }
        let out = cmd.arg(format!("{}{path}", self.url())).output().ok()?;
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// The system's `PowerState` on the emulator.
    pub fn power(&self) -> String {
        self.system()["PowerState"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    }

    /// The system as the emulator shows it.
    pub fn system(&self) -> serde_json::Value {
        self.get(&format!("/redfish/v1/Systems/{SUSHY_UUID}"))
            .expect("the emulator answers")
    }
}

/// The fake Redfish service in the test process, on a free loopback port.
pub struct FakeRedfish {
    pub fake: Arc<Fake>,
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeRedfish {
    /// A fake whose system is on, with 300 ms transitions and no `PowerCycle`.
    pub fn start() -> FakeRedfish {
        FakeRedfish::start_with(Duration::from_millis(300))
    }

    /// A fake whose system is on, with transitions (and the power-on task) of `transition`.
    pub fn start_with(transition: Duration) -> FakeRedfish {
        let fake = Fake::new(FakeConfig {
            user: REDFISH_USER.into(),
            password: REDFISH_PASSWORD.into(),
            transition,
            offer_power_cycle: false,
            on_at_start: true,
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = fake.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::select! {
                    _ = served.serve(listener) => {}
                    _ = stopped => {}
                }
            });
        });
        FakeRedfish {
            fake,
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The service's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for FakeRedfish {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A `[bmc.redfish]` table for `url`, with `extra` keys.
pub fn section(url: &str, extra: &str) -> String {
    let http = if url.starts_with("http://") {
        "allow_http = true\n"
    } else {
        ""
    };
    format!(
        "[bmc.redfish]\nurl = \"{url}\"\nuser = \"{REDFISH_USER}\"\npassword_env = \"TEST_REDFISH_PASSWORD\"\ncache_ms = 200\n{http}{extra}\n"
    )
}
