//! # fake-redfish
//!
//! A fake Redfish service with one ComputerSystem, made from the DMTF Redfish schema and the
//! resource shapes of the public mockups and of OpenBMC's bmcweb (service root with
//! `Links.Sessions`, a system whose Reset action points at a `ResetActionInfo`, a chassis with
//! a `Sensors` collection, task monitors). It has the quirks the tests need of a second
//! service, different from sushy-tools' emulator:
//!
//! - **sessions only**: every request but the service root and the login needs an
//!   `X-Auth-Token`; basic auth is refused (401). [`Fake::drop_sessions`] forgets every session,
//!   as a BMC that restarts does.
//! - **ETags required**: a `PATCH` of the system without `If-Match` gets 428, one with a stale
//!   ETag 412.
//! - **no `PowerCycle`** among the reset types (unless [`FakeConfig::offer_power_cycle`]).
//! - `On` answers 202 with a task monitor that runs until the power-on transition ends.
//! - a next-boot-only override (`Once`) is consumed by the next boot.
//! - **logs** ([`logs`]): the system's event log and SEL (entries newest first, paged), its
//!   manager's journal; `LogService.ClearLog` empties the SEL.
//! - **hostile links** for the tests ([`Fake::point_links_at`]).
//! - **virtual media** ([`media`]): the manager's CD, with `InsertMedia` and `EjectMedia`.
//! - **faults** for the tests: 5xx answers ([`Fake::fail_next`], [`Fake::set_down`]), task
//!   monitors that never end ([`Fake::stall_tasks`]), a 429 ([`Fake::rate_limit_next`]).
//!
//! Every exchange is recorded ([`Fake::exchanges`]) with the credentials it carried.

mod answer;
mod http;
pub mod logs;
mod media;

use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the fake behaves.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// The account's user name.
    pub user: String,
    /// Its password.
    pub password: String,
    /// How long powering on (and a graceful shutdown) takes.
    pub transition: Duration,
    /// Offer `PowerCycle` among the reset types.
    pub offer_power_cycle: bool,
    /// The system's power at start.
    pub on_at_start: bool,
}

/// One request and what the fake answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exchange {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// `token`, `basic` or `none`.
    pub auth: String,
    /// The `If-Match` header, if any.
    pub if_match: Option<String>,
    /// The request body (JSON), the password of a login replaced.
    pub body: Option<serde_json::Value>,
    /// The status answered.
    pub status: u16,
}

/// The system as the fake holds it, for the tests to check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SystemView {
    /// `PowerState`.
    pub power_state: String,
    /// `Boot.BootSourceOverrideTarget`.
    pub boot_target: String,
    /// `Boot.BootSourceOverrideEnabled`.
    pub boot_enabled: String,
    /// `Boot.BootSourceOverrideMode`.
    pub boot_mode: String,
    /// The reset types carried out, in order.
    pub resets: Vec<String>,
    /// Boots (power on, restart, cycle).
    pub boots: u32,
    /// Boots from PXE.
    pub pxe_boots: u32,
    /// NMIs.
    pub nmis: u32,
    /// Sessions opened.
    pub logins: u32,
    /// Sessions deleted by their client.
    pub logouts: u32,
    /// Sessions open now.
    pub sessions: usize,
    /// The system's ETag now.
    pub etag: String,
    /// The SEL's entries now.
    pub sel_entries: usize,
    /// `LogService.ClearLog`s of the SEL carried out.
    pub log_clears: u32,
    /// The virtual CD's image and whether it is inserted.
    pub media: (Option<String>, bool),
    /// Boots from the virtual CD (override target `Cd` with a medium in).
    pub cd_boots: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Power {
    On,
    Off,
    /// Until the instant, then on (and a boot).
    PoweringOn(Instant),
    /// Until the instant, then off.
    PoweringOff(Instant),
}

struct World {
    power: Power,
    boot_target: String,
    boot_enabled: String,
    boot_mode: String,
    etag: u64,
    /// See [`Fake::change_before_next_patch`].
    change_before_patch: bool,
    /// See [`Fake::rate_limit_next`].
    rate_limit: Option<u64>,
    /// Token → session id.
    sessions: HashMap<String, u64>,
    next_id: u64,
    resets: Vec<String>,
    boots: u32,
    pxe_boots: u32,
    nmis: u32,
    logins: u32,
    logouts: u32,
    /// Task monitor id → when its task ends.
    tasks: HashMap<u64, Instant>,
    exchanges: Vec<Exchange>,
    /// The SEL's entries (LogEntry JSON), oldest first.
    sel: Vec<serde_json::Value>,
    log_clears: u32,
    /// The manager's virtual CD.
    media: media::Media,
    cd_boots: u32,
    /// See [`Fake::fail_next`]: (method or any, status), used in order.
    faults: VecDeque<(Option<String>, u16)>,
    /// See [`Fake::set_down`].
    down: Option<u16>,
    /// See [`Fake::stall_tasks`].
    stall_tasks: bool,
    /// See [`Fake::point_links_at`]: the prefix, and the JSON keys (and `Location`) it goes on.
    link_prefix: Option<(String, Vec<String>)>,
}

impl World {
    /// The status of the first fault waiting for a request with `method`, taken.
    fn take_fault(&mut self, method: &str) -> Option<u16> {
        let i = self
            .faults
            .iter()
            .position(|(m, _)| m.as_deref().is_none_or(|m| m == method))?;
        self.faults.remove(i).map(|(_, code)| code)
    }

    /// Ends the transitions whose time has come.
    fn advance(&mut self, now: Instant) {
        match self.power {
            Power::PoweringOn(t) if now >= t => {
                self.power = Power::On;
                self.boot();
            }
            Power::PoweringOff(t) if now >= t => self.power = Power::Off,
            _ => {}
        }
    }

    /// A boot: it consumes a next-boot-only override.
    fn boot(&mut self) {
        self.boots += 1;
        if self.boot_enabled != "Disabled" && self.boot_target == "Pxe" {
            self.pxe_boots += 1;
        }
        if self.boot_enabled != "Disabled" && self.boot_target == "Cd" && self.media.inserted {
            self.cd_boots += 1;
        }
        if self.boot_enabled == "Once" {
            self.boot_enabled = "Disabled".into();
            self.etag += 1;
        }
    }

    fn power_state(&self) -> &'static str {
        match self.power {
            Power::On => "On",
            Power::Off => "Off",
            Power::PoweringOn(_) => "PoweringOn",
            Power::PoweringOff(_) => "PoweringOff",
        }
    }
}

/// The fake service.
pub struct Fake {
    config: FakeConfig,
    world: Mutex<World>,
}

impl Fake {
    /// A fake with one system.
    pub fn new(config: FakeConfig) -> Arc<Fake> {
        let power = if config.on_at_start {
            Power::On
        } else {
            Power::Off
        };
        Arc::new(Fake {
            config,
            world: Mutex::new(World {
                power,
                boot_target: "None".into(),
                boot_enabled: "Disabled".into(),
                boot_mode: "UEFI".into(),
                etag: 1,
                change_before_patch: false,
                rate_limit: None,
                sessions: HashMap::new(),
                next_id: 1,
                resets: Vec::new(),
                boots: 0,
                pxe_boots: 0,
                nmis: 0,
                logins: 0,
                logouts: 0,
                tasks: HashMap::new(),
                exchanges: Vec::new(),
                sel: logs::seed(),
                log_clears: 0,
                media: media::Media::default(),
                cd_boots: 0,
                faults: VecDeque::new(),
                down: None,
                stall_tasks: false,
                link_prefix: None,
            }),
        })
    }

    /// Serves the fake on `listener` until the future is dropped.
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, http::router(self)).await
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        let mut w = self.world.lock().unwrap_or_else(|e| e.into_inner());
        w.advance(Instant::now());
        w
    }

    /// The system now.
    pub fn system(&self) -> SystemView {
        let w = self.world();
        SystemView {
            power_state: w.power_state().into(),
            boot_target: w.boot_target.clone(),
            boot_enabled: w.boot_enabled.clone(),
            boot_mode: w.boot_mode.clone(),
            resets: w.resets.clone(),
            boots: w.boots,
            pxe_boots: w.pxe_boots,
            nmis: w.nmis,
            logins: w.logins,
            logouts: w.logouts,
            sessions: w.sessions.len(),
            etag: format!("\"{}\"", w.etag),
            sel_entries: w.sel.len(),
            log_clears: w.log_clears,
            media: (w.media.image.clone(), w.media.inserted),
            cd_boots: w.cd_boots,
        }
    }

    /// Answers the next `count` requests (with `method`, if given) with `status` (a 5xx),
    /// without carrying them out.
    pub fn fail_next(&self, count: usize, method: Option<&str>, status: u16) {
        let mut w = self.world();
        for _ in 0..count {
            w.faults.push_back((method.map(str::to_string), status));
        }
    }

    /// Answers every request with `status` until called with `None` (a service that is down
    /// behind its web server).
    pub fn set_down(&self, status: Option<u16>) {
        self.world().down = status;
    }

    /// Task monitors keep answering "Running" (`true`), or end when their task does.
    pub fn stall_tasks(&self, stall: bool) {
        self.world().stall_tasks = stall;
    }

    /// Adds an entry to the SEL (as the BMC logs an event): a sensor-specific assertion of
    /// `sensor_type` with `message`, created at `created`. Its `Id`.
    pub fn add_sel_entry(&self, created: &str, sensor_type: &str, message: &str) -> u64 {
        let mut w = self.world();
        let id = w
            .sel
            .iter()
            .filter_map(|e| e["Id"].as_str()?.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        let e = logs::sel_entry(id, created, (sensor_type, 0x90), "Assert", None, message);
        w.sel.push(e);
        id
    }

    /// The SEL's entries now (LogEntry JSON), oldest first.
    pub fn sel(&self) -> Vec<serde_json::Value> {
        self.world().sel.clone()
    }

    /// Forgets every session, as a BMC that restarts does: the next call with a token gets 401.
    pub fn drop_sessions(&self) {
        self.world().sessions.clear();
    }

    /// Makes someone else change the system just before the next `PATCH` arrives, so that
    /// the ETag the client read is stale (412).
    pub fn change_before_next_patch(&self) {
        self.world().change_before_patch = true;
    }

    /// Answers the next request 429 with `Retry-After: secs`.
    pub fn rate_limit_next(&self, secs: u64) {
        self.world().rate_limit = Some(secs);
    }

    /// Puts `prefix` before every link the fake sends under one of `keys` (JSON keys such as
    /// `@odata.id`, `target`, `@Redfish.ActionInfo`; `Location` for that header), as a hostile
    /// or broken service would: `@127.0.0.1:PORT` turns `https://bmc` + link into another
    /// host. Links sent under other keys stay as they are.
    pub fn point_links_at(&self, prefix: &str, keys: &[&str]) {
        self.world().link_prefix =
            Some((prefix.into(), keys.iter().map(|k| k.to_string()).collect()));
    }

    /// Every exchange so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.world().exchanges.clone()
    }

    /// The reset types offered.
    fn reset_types(&self) -> Vec<&'static str> {
        let mut t = vec![
            "On",
            "ForceOff",
            "GracefulShutdown",
            "GracefulRestart",
            "ForceRestart",
            "Nmi",
        ];
        if self.config.offer_power_cycle {
            t.push("PowerCycle");
        }
        t
    }
}

/// A token nobody can guess from the ones before it (the fake needs no real randomness, only
/// different values per run and session).
fn new_token(id: u64) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(id);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(t);
    format!("{:016x}{id:04x}", h.finish())
}
