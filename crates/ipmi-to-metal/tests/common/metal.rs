//! The fake Metal API (crate `fake-metal`) in the test process, on a free loopback port, with
//! an exchange log that [`FakeMetal::check_spec`] validates against the official OpenAPI spec.

use fake_metal::{DeviceSpec, DeviceView, Fake, FakeConfig};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// The token the fake accepts (TEST_METAL_TOKEN in the binary's environment).
pub const METAL_TOKEN: &str = "test-metal-token-5f2c9a";
/// A token the fake refuses (TEST_WRONG_METAL_TOKEN).
pub const WRONG_METAL_TOKEN: &str = "wrong-token-77e1d0";
/// The project of every test device.
pub const PROJECT: &str = "0f0c3a4e-1111-4a5e-9d7e-000000000000";

/// Device `n`'s UUID.
pub fn device_id(n: u32) -> String {
    format!("6e2b7f4c-3c1a-4a5e-9d7e-{n:012}")
}

/// A device of the test project.
pub fn device(n: u32, state: &str, tags: &[&str]) -> DeviceSpec {
    DeviceSpec {
        id: device_id(n),
        hostname: format!("metal-node-{n}"),
        project_id: PROJECT.into(),
        plan: "c3.small.x86".into(),
        facility: "da11".into(),
        metro: "da".into(),
        state: state.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        always_pxe: false,
        ipxe_script_url: None,
    }
}

/// A running fake.
pub struct FakeMetal {
    pub fake: Arc<Fake>,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeMetal {
    /// A fake with these devices; power transitions take 300 ms.
    pub fn start(devices: Vec<DeviceSpec>) -> FakeMetal {
        FakeMetal::start_with(devices, None)
    }

    /// A fake with a rate limit (requests per second).
    pub fn start_with(devices: Vec<DeviceSpec>, rate_limit: Option<u32>) -> FakeMetal {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("exchanges.jsonl");
        let fake = Fake::new(
            FakeConfig {
                token: METAL_TOKEN.into(),
                transition: Duration::from_millis(300),
                exchange_log: Some(log.clone()),
                rate_limit,
            },
            devices,
        )
        .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = fake.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
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
        FakeMetal {
            fake,
            port,
            log,
            _dir: dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The API base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/metal/v1", self.port)
    }

    /// Device `n` as the fake knows it.
    pub fn device(&self, n: u32) -> DeviceView {
        self.fake.device(&device_id(n)).expect("device exists")
    }

    /// The exchange log so far.
    pub fn exchanges(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Validates every exchange so far against the official spec, with openapi-core (.ci/run
    /// installs it); panics with the failures.
    pub fn check_spec(&self) {
        let python = super::require("python3", "python3");
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fake-metal");
        let out = Command::new(python)
            .arg(format!("{root}/check_exchanges.py"))
            .arg(format!("{root}/spec/openapi3.yaml"))
            .arg(&self.log)
            .output()
            .expect("run check_exchanges.py");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "exchanges do not match the Metal OpenAPI spec (is openapi-core installed? .ci/run installs it):\n{stdout}{stderr}"
        );
        assert!(stdout.contains("valid against the spec"), "{stdout}");
    }
}

impl Drop for FakeMetal {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
