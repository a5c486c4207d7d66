//! # fake-metal
//!
//! A fake of the Equinix Metal API v1, as much of it as ipmi-to-metal uses: `GET`/`PUT
//! /devices/{id}`, `POST /devices/{id}/actions` and the paginated `GET /projects/{id}/devices`,
//! under `/metal/v1`, with the status codes of the official OpenAPI spec (200, 202 for actions,
//! 401 without a valid `X-Auth-Token`, 404, 422 for an action the state does not allow).
//!
//! Devices go through the power states over time (`powering_on` then `active`, `powering_off`
//! then `inactive`; a reboot goes through both), and the fake counts the boots and whether each
//! went to PXE. Faults can be injected: an error status, 429 with `Retry-After`, a slow answer,
//! a huge answer, or an API that is down; a rate limit can be set. Every API exchange can be written to a JSON
//! lines file, which the tests validate against the spec.
//!
//! Control endpoints under `/_fake/` (not part of the API, not logged) list the devices with
//! what the fake knows of them and inject faults, for demos by hand.

#![warn(missing_docs)]

mod http;
mod world;

pub use world::{DeviceSpec, DeviceView};

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use world::{Device, Devices};

/// How the fake behaves.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// The one valid `X-Auth-Token`.
    pub token: String,
    /// How long a power transition takes.
    pub transition: Duration,
    /// Where to append every API exchange as a JSON line, if anywhere.
    pub exchange_log: Option<PathBuf>,
    /// At most this many API requests per second are served; the rest get 429.
    pub rate_limit: Option<u32>,
}

/// A fault to inject into the next API requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this HTTP status and an `Error` body.
    Status {
        /// The status code (e.g. 500, 503).
        code: u16,
    },
    /// Answer the next `POST` (an action) with this status; other requests pass.
    ActionStatus {
        /// The status code.
        code: u16,
    },
    /// Answer 429 with `Retry-After` and `X-RateLimit-*` headers.
    RateLimited {
        /// Seconds to wait, as `Retry-After` says.
        retry_after: u64,
    },
    /// Answer normally, after this many milliseconds.
    Slow {
        /// The delay.
        ms: u64,
    },
    /// Answer 200 with a body of this many bytes (spaces), as a broken or hostile endpoint
    /// might; not written to the exchange log (it is no API answer).
    Huge {
        /// The body's size.
        bytes: u64,
        /// Sent in chunks without a `Content-Length`, so that only counting tells.
        #[serde(default)]
        chunked: bool,
    },
}

#[derive(Default)]
struct Faults {
    queue: VecDeque<Fault>,
    down: Option<u16>,
}

struct Window {
    start: Instant,
    count: u32,
}

/// A fake Metal API.
pub struct Fake {
    config: FakeConfig,
    devices: Mutex<Devices>,
    faults: Mutex<Faults>,
    window: Mutex<Window>,
    log: Mutex<Option<std::fs::File>>,
    requests: std::sync::atomic::AtomicU64,
}

impl Fake {
    /// A fake with these devices.
    pub fn new(config: FakeConfig, devices: Vec<DeviceSpec>) -> std::io::Result<Arc<Fake>> {
        let log = match &config.exchange_log {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
            None => None,
        };
        let fake = Fake {
            config,
            devices: Mutex::new(Devices::default()),
            faults: Mutex::new(Faults::default()),
            window: Mutex::new(Window {
                start: Instant::now(),
                count: 0,
            }),
            log: Mutex::new(log),
            requests: std::sync::atomic::AtomicU64::new(0),
        };
        for d in devices {
            fake.add_device(d);
        }
        Ok(Arc::new(fake))
    }

    /// Serves the fake on `listener` until the process ends.
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, http::router(self)).await
    }

    /// Adds (or replaces) a device.
    pub fn add_device(&self, spec: DeviceSpec) {
        let mut d = self.devices.lock().expect("devices lock");
        d.0.insert(spec.id.clone(), Device::new(spec));
    }

    /// Removes a device; true if it was there.
    pub fn remove_device(&self, id: &str) -> bool {
        let mut d = self.devices.lock().expect("devices lock");
        d.0.remove(id).is_some()
    }

    /// A device's state as the fake knows it, transitions applied.
    pub fn device(&self, id: &str) -> Option<DeviceView> {
        let mut d = self.devices.lock().expect("devices lock");
        let dev = d.0.get_mut(id)?;
        dev.advance(Instant::now());
        Some(dev.view.clone())
    }

    /// Every device.
    pub fn devices(&self) -> Vec<DeviceView> {
        let mut d = self.devices.lock().expect("devices lock");
        let now = Instant::now();
        d.0.values_mut()
            .map(|dev| {
                dev.advance(now);
                dev.view.clone()
            })
            .collect()
    }

    /// Injects a fault into the next API request (faults queue up, one per request).
    pub fn inject(&self, fault: Fault, times: usize) {
        let mut f = self.faults.lock().expect("faults lock");
        for _ in 0..times {
            f.queue.push_back(fault);
        }
    }

    /// Makes every API request fail with `status` (`Some`) until called with `None`, which also
    /// drops the faults still queued.
    pub fn set_down(&self, status: Option<u16>) {
        let mut f = self.faults.lock().expect("faults lock");
        f.down = status;
        if status.is_none() {
            f.queue.clear();
        }
    }

    /// API requests served so far (faults included).
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The fault for a request with this method, taken from the queue.
    fn next_fault(&self, post: bool) -> Option<Fault> {
        let mut f = self.faults.lock().expect("faults lock");
        if let Some(code) = f.down {
            return Some(Fault::Status { code });
        }
        let i = f
            .queue
            .iter()
            .position(|x| post || !matches!(x, Fault::ActionStatus { .. }))?;
        f.queue.remove(i)
    }

    /// Counts a request against the rate limit: `Err(seconds until reset)` when over it.
    fn rate_limited(&self) -> Result<Option<(u32, u32, u64)>, u64> {
        let Some(limit) = self.config.rate_limit else {
            return Ok(None);
        };
        let mut w = self.window.lock().expect("window lock");
        if w.start.elapsed() >= Duration::from_secs(1) {
            w.start = Instant::now();
            w.count = 0;
        }
        if w.count >= limit {
            return Err(1);
        }
        w.count += 1;
        Ok(Some((limit, limit - w.count, 1)))
    }

    fn record(&self, line: &serde_json::Value) {
        if let Some(f) = self.log.lock().expect("log lock").as_mut() {
            // One write of the whole line: `writeln!` on a File writes the value's pieces one
            // syscall each, and a test reading the log meanwhile saw half a line.
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}
