//! OpenStack Ironic, run standalone the way its documentation describes for a single node without
//! the rest of OpenStack: the single-process `ironic` command (API and conductor), sqlite,
//! `auth_strategy = noauth`, `rpc_transport = none`, `dhcp_provider = none`, the `ipmi` and
//! `redfish` hardware types (the `redfish` power and management interfaces: sushy, a dependency of
//! the `ironic` package) with the `pxe`, `ipxe` and `redfish-virtual-media` boot interfaces, the
//! `ramdisk` deploy interface, the `ipmitool-socat` console and sensor data sent as log
//! notifications. Its HTTP root (`[deploy] http_root`, where the `redfish-virtual-media` boot
//! interface publishes the ISO a BMC is to insert) is served on loopback by a server of the test
//! process ([`Ironic::http_url`]). One Ironic is shared by
//! the tests of a test binary ([`Ironic::shared`]); a watchdog stops it (its whole process group:
//! the conductor's `socat` consoles too) and removes its directory once the test binary exits,
//! however it exits.
//!
//! Ironic is installed from PyPI into a virtualenv, once per CI run (`.ci/run`): `IRONIC_VENV`,
//! else `target/ironic-venv` in the workspace.

use crate::free_tcp_port;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running Ironic.
pub struct Ironic {
    /// Its API endpoint (`http://127.0.0.1:PORT`).
    pub url: String,
    /// Its `[deploy] http_url`: where its HTTP root is served (`http://127.0.0.1:PORT`).
    pub http_url: String,
    venv: PathBuf,
    dir: PathBuf,
    log: PathBuf,
    /// Never waited for: the watchdog ends both after this process.
    _processes: [Child; 2],
    /// Serves `[deploy] http_root` (with Range requests, as a BMC reading an ISO may ask).
    _http_root: crate::thread_server::ThreadServer,
}

/// The virtualenv Ironic is installed in, or a panic that says how to install it.
pub fn ironic_venv() -> PathBuf {
    let venv = std::env::var_os("IRONIC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ironic-venv"));
    for tool in ["ironic", "ironic-dbsync", "baremetal"] {
        if !venv.join("bin").join(tool).exists() {
            panic!(
                "OpenStack Ironic is not installed in {}: python3 -m venv {0} && {0}/bin/pip install \
                 'ironic>=39,<40' python-ironicclient (.ci/run does; or set IRONIC_VENV); this test \
                 does not skip itself",
                venv.display()
            );
        }
    }
    venv
}

/// The configuration: every port and path in `dir`.
fn config(dir: &Path, api_port: u16, http_port: u16) -> String {
    let d = dir.display();
    format!(
        r#"[DEFAULT]
auth_strategy = noauth
rpc_transport = none
host = ipmi-to-metal-test
enabled_hardware_types = ipmi,redfish
enabled_boot_interfaces = pxe,ipxe,redfish-virtual-media
default_boot_interface = pxe
enabled_deploy_interfaces = ramdisk
enabled_power_interfaces = ipmitool,redfish
enabled_management_interfaces = ipmitool,redfish
enabled_console_interfaces = ipmitool-socat,no-console
default_console_interface = ipmitool-socat
enabled_inspect_interfaces = no-inspect
enabled_network_interfaces = noop
enabled_raid_interfaces = no-raid
enabled_vendor_interfaces = ipmitool,no-vendor
enabled_bios_interfaces = no-bios
enabled_firmware_interfaces = no-firmware
use_stderr = true

[api]
host_ip = 127.0.0.1
port = {api_port}

[database]
connection = sqlite:///{d}/ironic.sqlite

[dhcp]
dhcp_provider = none

[conductor]
automated_clean = false
file_url_allowed_paths = {d}/images

[deploy]
# Where the redfish-virtual-media boot interface publishes the ISO it has the BMC insert
# (httpboot/redfish/boot-NODE.iso), and the URL that directory is served at.
http_root = {d}/httpboot
http_url = http://127.0.0.1:{http_port}
# The cache of the ISOs it downloads (/var/lib/ironic/master_iso_images by default).
iso_master_path = {d}/master_iso_images

[pxe]
tftp_root = {d}/tftpboot

[ipmi]
# Ironic waits this long between two commands to one BMC (5 s by default, for fragile BMCs);
# the shim needs no such care and the tests run quicker.
min_command_interval = 1

[console]
socat_address = 127.0.0.1
terminal_pid_dir = {d}/consoles

[sensor_data]
send_sensor_data = true
interval = 10
enable_for_undeployed_nodes = true
enable_for_conductor = false

[oslo_messaging_notifications]
driver = log

[oslo_concurrency]
lock_path = {d}/locks
"#
    )
}

/// `GET path` on the API: the status line and the body, or `None` if it does not answer.
fn get(port: u16, path: &str) -> Option<(String, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nX-OpenStack-Ironic-API-Version: latest\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

impl Ironic {
    /// The Ironic of this test binary, started on first use.
    pub fn shared() -> &'static Ironic {
        static SHARED: OnceLock<Ironic> = OnceLock::new();
        SHARED.get_or_init(Ironic::start)
    }

    fn start() -> Ironic {
        let venv = ironic_venv();
        crate::require("socat", "socat");
        crate::require("ipmitool", "ipmitool");
        let dir = tempfile::Builder::new()
            .prefix("ironic-")
            .tempdir()
            .unwrap()
            .keep();
        for sub in ["images", "httpboot", "tftpboot", "consoles", "locks"] {
            std::fs::create_dir(dir.join(sub)).unwrap();
        }
        // The deploy kernel and ramdisk Ironic is given (file:// URLs): a ramdisk deploy only
        // writes the PXE configuration that names them, nothing boots them.
        std::fs::write(dir.join("images/kernel"), "not a kernel").unwrap();
        std::fs::write(dir.join("images/ramdisk"), "not a ramdisk").unwrap();
        let api_port = free_tcp_port();
        let http_root = serve_directory(dir.join("httpboot"));
        let conf = dir.join("ironic.conf");
        std::fs::write(&conf, config(&dir, api_port, http_root.port)).unwrap();
        let log = dir.join("ironic.log");
        let path = format!(
            "{}:{}",
            venv.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let schema = Command::new(venv.join("bin/ironic-dbsync"))
            .arg("--config-file")
            .arg(&conf)
            .arg("create_schema")
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            schema.status.success(),
            "ironic-dbsync create_schema: {}",
            String::from_utf8_lossy(&schema.stderr)
        );
        let logfile = std::fs::File::create(&log).unwrap();
        let ironic = Command::new(venv.join("bin/ironic"))
            .arg("--config-file")
            .arg(&conf)
            .env("PATH", &path)
            .stdin(Stdio::null())
            .stdout(logfile.try_clone().unwrap())
            .stderr(logfile)
            .process_group(0)
            .spawn()
            .expect("start ironic");
        let group = ironic.id();
        // The watchdog outlives this process: when it is gone, it stops Ironic's process group
        // (TERM, then KILL) and removes the directory.
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(
                "while kill -0 \"$1\" 2>/dev/null; do sleep 0.5; done; kill -s TERM -- \"-$2\" 2>/dev/null; \
                 sleep 3; kill -s KILL -- \"-$2\" 2>/dev/null; rm -rf \"$3\"",
            )
            .arg("ironic-watchdog")
            .arg(std::process::id().to_string())
            .arg(group.to_string())
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start the watchdog");
        let ironic_ = Ironic {
            url: format!("http://127.0.0.1:{api_port}"),
            http_url: format!("http://127.0.0.1:{}", http_root.port),
            venv,
            dir,
            log,
            _processes: [ironic, watchdog],
            _http_root: http_root,
        };
        // Up when the API answers and the conductor has registered both hardware types.
        let started = Instant::now();
        loop {
            if let Some((status, body)) = get(api_port, "/v1/drivers") {
                if status.contains(" 200")
                    && body.contains("\"ipmi\"")
                    && body.contains("\"redfish\"")
                {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "Ironic did not start in 90 s:\n{}",
                ironic_.log()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        eprintln!("Ironic up in {:.1} s", started.elapsed().as_secs_f64());
        ironic_
    }

    /// `file://` URLs of the deploy kernel and ramdisk Ironic may use.
    pub fn images(&self) -> (String, String) {
        let d = self.dir.join("images");
        (
            format!("file://{}", d.join("kernel").display()),
            format!("file://{}", d.join("ramdisk").display()),
        )
    }

    /// Runs `baremetal ARGS` (python-ironicclient's CLI) against this Ironic.
    pub fn baremetal(&self, args: &[&str]) -> Output {
        Command::new(self.venv.join("bin/baremetal"))
            .args(args)
            .env("OS_ENDPOINT", &self.url)
            .env("OS_AUTH_TYPE", "none")
            .env_remove("OS_CLOUD")
            .output()
            .expect("run baremetal")
    }

    /// `baremetal ARGS`, which must succeed: its standard output.
    pub fn baremetal_ok(&self, args: &[&str]) -> String {
        let out = self.baremetal(args);
        assert!(
            out.status.success(),
            "baremetal {}: {}\n{}\n--- the end of Ironic's log:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log(), 40)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `baremetal ARGS -f json`, parsed.
    pub fn baremetal_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        let out = self.baremetal_ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// Ironic's log so far (notifications of sensor data included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Serves the files under `root` (`GET` and `HEAD`, Range requests too) on a loopback port, as
/// the web server an Ironic conductor's `[deploy] http_root` needs; a path with `..` or a file
/// that is not there gets 404.
fn serve_directory(root: PathBuf) -> crate::thread_server::ThreadServer {
    use axum::http::{header, Method, Request, StatusCode};
    let app = axum::Router::new().fallback(move |req: Request<axum::body::Body>| {
        let root = root.clone();
        async move {
            let path = req.uri().path().trim_start_matches('/').to_string();
            let range = req
                .headers()
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let safe = !path.split('/').any(|c| c == ".." || c.is_empty());
            let data = if safe && matches!(*req.method(), Method::GET | Method::HEAD) {
                std::fs::read(root.join(&path)).ok()
            } else {
                None
            };
            match data {
                Some(data) => {
                    crate::netboot::file(&data, range.as_deref(), req.method() == Method::HEAD)
                }
                None => axum::http::Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body(axum::body::Body::empty())
                    .expect("response"),
            }
        }
    });
    crate::thread_server::ThreadServer::start(app)
}

/// The last `n` lines of `text`, without the (long) sensor data notifications.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("oslo.messaging.notification"))
        .collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
