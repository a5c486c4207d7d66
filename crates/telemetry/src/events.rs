//! What happens now and then rather than per request: SSH master connections, discovery runs,
//! configuration reloads.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

// ---- SSH master connections ----

static SSH_CONTROL_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static SSH_MASTER_STARTS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Counts the master connections in `dir` at each scrape: each open master has its control
/// socket there (ssh removes it when the master exits).
pub fn watch_ssh_control_dir(dir: PathBuf) {
    let mut dirs = SSH_CONTROL_DIRS.lock().unwrap_or_else(|e| e.into_inner());
    if !dirs.contains(&dir) {
        dirs.push(dir);
    }
}

/// Stops counting the master connections in `dir` (it is being removed).
pub fn unwatch_ssh_control_dir(dir: &std::path::Path) {
    SSH_CONTROL_DIRS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|d| d != dir);
}

/// A master connection was started (`ok`: it logged in).
pub fn ssh_master_started(ok: bool) {
    SSH_MASTER_STARTS[usize::from(!ok)].fetch_add(1, Ordering::Relaxed);
}

/// The control sockets in the watched directories now.
pub(crate) fn ssh_master_connections() -> u64 {
    use std::os::unix::fs::FileTypeExt;
    let dirs = SSH_CONTROL_DIRS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let sockets = |dir: &PathBuf| -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_socket()))
            .count() as u64
    };
    dirs.iter().map(sockets).sum()
}

/// The master connections started: (ok, failed).
pub(crate) fn ssh_master_starts() -> (u64, u64) {
    (
        SSH_MASTER_STARTS[0].load(Ordering::Relaxed),
        SSH_MASTER_STARTS[1].load(Ordering::Relaxed),
    )
}

// ---- discoveries ----

/// The counts of one discovery (by its configured name).
pub struct DiscoveryStats {
    name: String,
    runs_ok: AtomicU64,
    runs_failed: AtomicU64,
    listed: AtomicU64,
    served: AtomicU64,
    unserved: AtomicU64,
}

impl DiscoveryStats {
    /// A run that listed `listed` devices, `served` of them served by this shard.
    pub fn listed(&self, listed: usize, served: usize) {
        self.runs_ok.fetch_add(1, Ordering::Relaxed);
        self.listed.store(listed as u64, Ordering::Relaxed);
        self.served.store(served as u64, Ordering::Relaxed);
    }

    /// Of the last run's devices, `n` not served (no free address in the pool, or their BMC
    /// failed to start): the count the summary log line gives, for an alert.
    pub fn unserved(&self, n: usize) {
        self.unserved.store(n as u64, Ordering::Relaxed);
    }

    /// A run that could not list the devices.
    pub fn failed(&self) {
        self.runs_failed.fetch_add(1, Ordering::Relaxed);
    }
}

static DISCOVERIES: Mutex<Vec<Arc<DiscoveryStats>>> = Mutex::new(Vec::new());

/// The counts of the discovery named `name` (names are the configuration's, so bounded).
pub fn discovery(name: &str) -> Arc<DiscoveryStats> {
    let mut all = DISCOVERIES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(d) = all.iter().find(|d| d.name == name) {
        return d.clone();
    }
    let d = Arc::new(DiscoveryStats {
        name: name.to_string(),
        runs_ok: AtomicU64::new(0),
        runs_failed: AtomicU64::new(0),
        listed: AtomicU64::new(0),
        served: AtomicU64::new(0),
        unserved: AtomicU64::new(0),
    });
    all.push(d.clone());
    d
}

/// Per discovery: name and [runs ok, runs failed, devices listed, served, not served].
pub(crate) fn each_discovery(mut f: impl FnMut(&str, [u64; 5])) {
    let all: Vec<_> = DISCOVERIES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    for d in all {
        f(
            &d.name,
            [
                d.runs_ok.load(Ordering::Relaxed),
                d.runs_failed.load(Ordering::Relaxed),
                d.listed.load(Ordering::Relaxed),
                d.served.load(Ordering::Relaxed),
                d.unserved.load(Ordering::Relaxed),
            ],
        );
    }
}

// ---- configuration reloads ----

/// How a configuration reload ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The new configuration is in force.
    Applied,
    /// The configuration had not changed: nothing was done.
    Unchanged,
    /// The new configuration was refused (an error in it); the old one stays in force.
    Refused,
}

impl ReloadOutcome {
    /// Every outcome, in label order.
    pub const ALL: [ReloadOutcome; 3] = [
        ReloadOutcome::Applied,
        ReloadOutcome::Unchanged,
        ReloadOutcome::Refused,
    ];

    /// The `outcome` label.
    pub const fn name(self) -> &'static str {
        match self {
            ReloadOutcome::Applied => "applied",
            ReloadOutcome::Unchanged => "unchanged",
            ReloadOutcome::Refused => "refused",
        }
    }
}

static RELOADS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

/// Counts a configuration reload.
pub fn reload(outcome: ReloadOutcome) {
    RELOADS[outcome as usize].fetch_add(1, Ordering::Relaxed);
}

/// The reloads by outcome, in [`ReloadOutcome::ALL`] order.
pub(crate) fn reloads() -> [u64; 3] {
    RELOADS.each_ref().map(|n| n.load(Ordering::Relaxed))
}
