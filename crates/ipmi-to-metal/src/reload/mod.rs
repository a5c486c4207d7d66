//! Live reload: SIGHUP (and the admin API's `POST /reload`) reads the configuration file
//! given at start again and applies what changed, with the BMCs that did not change left alone:
//! their sockets and sessions stay. Whether a BMC changed is decided by the digest of its table
//! and of the files and environment variables it names ([`fingerprint`]): a changed one
//! restarts (on the same socket if its address stays; its sessions end), a new one starts, one
//! gone from the file stops. A changed `[[metal_discovery]]` restarts and takes its
//! predecessor's BMCs over: they serve on until its first listing, which restarts them with the
//! new settings (or stops those whose devices it no longer serves). BMCs a discovery started
//! are not the file's: a reload never stops them unless their discovery ends.
//!
//! All or nothing: a file that does not load (its error names the file, line and column), or a
//! BMC that cannot be made ready (a port that cannot be bound), refuses the whole reload, and
//! the configuration in force stays as it was ([`apply`]). The top-level settings (the state
//! directory, the SEL capacity, `[admin]`...) apply at start only: a change to them is logged
//! as needing a restart, on every reload until then.
//!
//! Reloads run one at a time, never during the shutdown ([`Reloader::close`]), and never while
//! a discovery applies a listing (the fleet's membership lock).

mod apply;
mod fingerprint;
mod plan;

use crate::config::{self, Config, ConfigError, StateConfig};
use crate::discovery::Discovery;
use crate::factory::BackendFactory;
use crate::runtime::Fleet;
use fingerprint::{Digest, Fingerprints};
use plan::{DiscoveryInForce, InForce};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A configuration as read from its file, with the digests a reload compares it by.
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    fingerprints: Fingerprints,
    /// The file, read again on reload; `None` for the built-in configuration.
    path: Option<PathBuf>,
}

impl Loaded {
    /// Reads and validates a configuration file, once: its digests are taken from the same
    /// text (see [`fingerprint`] for the files it names).
    pub fn read(path: &Path) -> Result<Loaded, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let fingerprints = fingerprint::of_text(&text, dir);
        let config = config::parse_all(&path.display().to_string(), &text, dir)?;
        if fingerprints.bmcs.len() != config.bmcs.len()
            || fingerprints.discoveries.len() != config.discovery.len()
        {
            return Err(ConfigError(format!(
                "{}: the tables read do not match the tables validated",
                path.display()
            )));
        }
        Ok(Loaded {
            config,
            fingerprints,
            path: Some(path.to_path_buf()),
        })
    }

    /// A configuration made in memory (`serve` without a file): nothing to reload.
    pub fn built_in(config: Config) -> Loaded {
        let fingerprints = Fingerprints {
            bmcs: vec![Digest::default(); config.bmcs.len()],
            discoveries: vec![Digest::default(); config.discovery.len()],
            others: BTreeMap::new(),
        };
        Loaded {
            config,
            fingerprints,
            path: None,
        }
    }
}

/// What a reload changed. BMCs by name (sorted); the unchanged ones counted.
#[derive(Debug, Default, Serialize)]
pub struct ReloadOutcome {
    /// BMCs started (new in the file).
    pub started: Vec<String>,
    /// BMCs stopped (gone from the file, or their discovery gone).
    pub stopped: Vec<String>,
    /// BMCs restarted with new settings.
    pub restarted: Vec<String>,
    /// The file's BMCs left serving as they were, sessions and all.
    pub unchanged: usize,
    /// The `[[metal_discovery]]` tables.
    pub discoveries: DiscoveryChanges,
    /// Top-level settings that changed but apply only when the process starts again.
    pub needs_restart: Vec<String>,
    /// Whether the admin server's token, open paths and host names were swapped for the
    /// `[admin]` table's new ones (a rotated token file).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub admin_updated: bool,
}

/// What a reload changed of the discoveries, by name.
#[derive(Debug, Default, Serialize)]
pub struct DiscoveryChanges {
    /// New discoveries.
    pub started: Vec<String>,
    /// Discoveries gone from the file, with their BMCs.
    pub stopped: Vec<String>,
    /// Changed discoveries, which take their predecessors' BMCs over.
    pub restarted: Vec<String>,
    /// Discoveries left as they were.
    pub unchanged: usize,
}

impl ReloadOutcome {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        self.admin_updated
            || !(self.started.is_empty()
                && self.stopped.is_empty()
                && self.restarted.is_empty()
                && self.discoveries.started.is_empty()
                && self.discoveries.stopped.is_empty()
                && self.discoveries.restarted.is_empty())
    }
}

/// Why a reload was refused; the configuration in force stays.
#[derive(Debug)]
pub enum ReloadError {
    /// The process was started without a configuration file.
    NoFile,
    /// The process is shutting down.
    ShuttingDown,
    /// The file does not load: `FILE:LINE:COL: what`.
    Invalid(ConfigError),
    /// The file loads, but cannot be applied (a port that cannot be bound, a name taken).
    Refused(String),
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadError::NoFile => {
                f.write_str("started without a configuration file: nothing to reload")
            }
            ReloadError::ShuttingDown => f.write_str("shutting down"),
            ReloadError::Invalid(e) => write!(f, "{e}"),
            ReloadError::Refused(e) => f.write_str(e),
        }
    }
}

impl ReloadError {
    /// The HTTP status that says it: 422 for a file that does not load, 409 for one that
    /// cannot be applied or no file at all, 503 during the shutdown.
    pub fn http_status(&self) -> u16 {
        match self {
            ReloadError::Invalid(_) => 422,
            ReloadError::NoFile | ReloadError::Refused(_) => 409,
            ReloadError::ShuttingDown => 503,
        }
    }
}

/// How a reload ended, as one word: `applied`, `unchanged` or `refused`.
pub fn outcome_label(result: &Result<ReloadOutcome, ReloadError>) -> &'static str {
    match result {
        Ok(o) if o.changed() => "applied",
        Ok(_) => "unchanged",
        Err(_) => "refused",
    }
}

/// A discovery in force.
struct RunningDiscovery {
    in_force: DiscoveryInForce,
    handle: Discovery,
}

/// The configuration in force.
struct InForceNow {
    /// The file's BMCs by name (a discovery's are its own).
    bmcs: HashMap<String, Digest>,
    discoveries: HashMap<String, RunningDiscovery>,
    /// The top-level settings the process started with, until it starts again.
    others: BTreeMap<String, Digest>,
    state: StateConfig,
    /// Where the admin server listens, if it runs: it stays there until the process restarts.
    admin_listen: Option<std::net::SocketAddr>,
}

/// What takes a new `[admin]` table for the admin server in force (set by `serve`).
pub type AdminUpdate = Box<dyn Fn(&config::AdminConfig) + Send + Sync>;

/// Reloads the configuration: the one way in for the signal and the admin API.
pub struct Reloader {
    fleet: Arc<Fleet>,
    factory: Arc<Mutex<BackendFactory>>,
    path: Option<PathBuf>,
    /// Swaps the admin server's token (and open paths, host names) on reload.
    admin_update: Mutex<Option<AdminUpdate>>,
    /// Held for a whole reload, so that reloads run one at a time; `None` once closed.
    in_force: tokio::sync::Mutex<Option<InForceNow>>,
}

impl Reloader {
    /// Starts every BMC and discovery of `loaded` (all the BMCs or none): the configuration in
    /// force from now on.
    pub async fn start(
        fleet: Arc<Fleet>,
        factory: Arc<Mutex<BackendFactory>>,
        loaded: Loaded,
    ) -> std::io::Result<Reloader> {
        let mut now = InForceNow {
            bmcs: HashMap::new(),
            discoveries: HashMap::new(),
            others: loaded.fingerprints.others.clone(),
            state: loaded.config.state.clone(),
            admin_listen: loaded.config.admin.as_ref().map(|a| a.listen),
        };
        let r = Reloader {
            fleet,
            factory,
            path: loaded.path.clone(),
            admin_update: Mutex::new(None),
            in_force: tokio::sync::Mutex::new(None),
        };
        r.apply(&mut now, loaded, false)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        *r.in_force.lock().await = Some(now);
        Ok(r)
    }

    /// Makes every reload that changes the `[admin]` table (its server staying where it
    /// listens) hand it to `update`, which swaps the token, open paths and host names in force.
    pub fn on_admin_update(&self, update: AdminUpdate) {
        *self.admin_update.lock().unwrap_or_else(|e| e.into_inner()) = Some(update);
    }

    /// Reads the file again and applies it, or refuses it and keeps the configuration in
    /// force; says which in the log, naming what asked (`SIGHUP`, `POST /reload`).
    pub async fn reload(&self, trigger: &str) -> Result<ReloadOutcome, ReloadError> {
        tracing::info!(trigger, "reloading the configuration");
        let result = self.reload_now().await;
        record(trigger, &result);
        result
    }

    async fn reload_now(&self) -> Result<ReloadOutcome, ReloadError> {
        let mut held = self.in_force.lock().await;
        let Some(now) = held.as_mut() else {
            return Err(ReloadError::ShuttingDown);
        };
        let Some(path) = self.path.clone() else {
            return Err(ReloadError::NoFile);
        };
        // A large file takes a while to validate: not on a thread that serves BMCs.
        let loaded = tokio::task::spawn_blocking(move || Loaded::read(&path))
            .await
            .map_err(|e| ReloadError::Refused(format!("reading the configuration: {e}")))?
            .map_err(ReloadError::Invalid)?;
        self.apply(now, loaded, true).await
    }

    /// Applies `loaded` over `now` (all or nothing), holding the fleet's membership lock;
    /// `reloading` (not starting): says the weakened settings of what starts or restarts.
    async fn apply(
        &self,
        now: &mut InForceNow,
        loaded: Loaded,
        reloading: bool,
    ) -> Result<ReloadOutcome, ReloadError> {
        let Loaded {
            config,
            fingerprints,
            ..
        } = loaded;
        let pools: usize = config.discovery.iter().map(|d| d.pool.len()).sum();
        let sockets = config.bmcs.len() + pools;
        let _changing = self.fleet.lock_membership().await;
        let plan = {
            let compared = InForce {
                bmcs: &now.bmcs,
                discoveries: now
                    .discoveries
                    .iter()
                    .map(|(n, d)| (n.as_str(), &d.in_force))
                    .collect(),
                others: &now.others,
                state: &now.state,
                admin_listen: now.admin_listen,
            };
            plan::plan(&compared, config, fingerprints)
        };
        let mut plan = plan;
        let admin = plan.admin.take();
        // Taken, not copied: at start the map holds every BMC of the file, and a copy of it
        // would be held with all the BMCs being made (100 bytes a BMC at the peak).
        let bmcs = std::mem::take(&mut plan.bmcs);
        crate::runtime::raise_open_file_limit(sockets);
        let out = apply::apply(
            &self.fleet,
            &self.factory,
            &mut now.discoveries,
            plan,
            reloading,
        )?;
        now.bmcs = bmcs;
        let mut out = out;
        if let Some((admin, digest)) = admin {
            // Applied with the rest: a reload refused above swaps nothing.
            let update = self.admin_update.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(update) = update.as_ref() {
                update(&admin);
                now.others.insert("admin".into(), digest);
                out.admin_updated = true;
            } else {
                out.needs_restart.push("admin".into());
            }
        }
        Ok(out)
    }

    /// Refuses every reload from now on (waiting for one under way to end) and stops the
    /// discoveries, whose BMCs stay for the shutdown to close.
    pub async fn close(&self) {
        let mut held = self.in_force.lock().await;
        if let Some(now) = held.take() {
            let _changing = self.fleet.lock_membership().await;
            for (_, d) in now.discoveries {
                d.handle.stop();
            }
        }
    }
}

/// Every reload's outcome passes here once: logged with its label ([`outcome_label`]) and
/// counted (`ipmi_to_metal_config_reloads_total`).
fn record(trigger: &str, result: &Result<ReloadOutcome, ReloadError>) {
    let outcome = outcome_label(result);
    telemetry::reload(match result {
        Ok(o) if o.changed() => telemetry::ReloadOutcome::Applied,
        Ok(_) => telemetry::ReloadOutcome::Unchanged,
        Err(_) => telemetry::ReloadOutcome::Refused,
    });
    match result {
        Ok(o) => {
            tracing::info!(
                trigger,
                outcome,
                started = ?o.started,
                stopped = ?o.stopped,
                restarted = ?o.restarted,
                unchanged = o.unchanged,
                discoveries_started = ?o.discoveries.started,
                discoveries_stopped = ?o.discoveries.stopped,
                discoveries_restarted = ?o.discoveries.restarted,
                admin_updated = o.admin_updated,
                "configuration reloaded"
            );
            if !o.needs_restart.is_empty() {
                tracing::warn!(
                    trigger,
                    settings = ?o.needs_restart,
                    "these settings changed but apply at start only: restart the process to apply them"
                );
            }
        }
        Err(e) => {
            tracing::error!(
                trigger,
                outcome,
                "reload refused, the configuration in force stays: {e}"
            );
        }
    }
}

#[cfg(test)]
mod tests;
