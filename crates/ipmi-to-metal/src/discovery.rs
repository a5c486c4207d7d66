//! Discovery at run time: list the machines of the source (the Metal project's devices with
//! the tag, or the libvirt host's domains the filter selects), start a BMC for each new one,
//! stop the BMCs of those that are gone, again every `refresh_s`. Each machine keeps its
//! address across restarts: the assignments are kept in a small JSON state file. A reload that
//! changes a discovery stops it and starts its successor, which takes its BMCs over.

use crate::config::{DiscoveryConfig, DiscoverySource};
use crate::runtime::Fleet;
use backend_config::Resources;
use backend_libvirt::hypervisor::Hypervisor;
use backend_metal::api::MetalApi;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::Instrument;

/// Which address each device has, kept in the state file.
pub struct Assignments {
    path: PathBuf,
    map: BTreeMap<String, SocketAddr>,
    changed: bool,
}

impl Assignments {
    /// Reads the state file; a missing one is an empty start.
    pub fn load(path: &Path) -> Assignments {
        let map = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(file = %path.display(), error = %e, "unreadable discovery state: starting afresh");
                BTreeMap::new()
            }),
            Err(_) => BTreeMap::new(),
        };
        Assignments {
            path: path.to_path_buf(),
            map,
            changed: false,
        }
    }

    /// The device's address: the one it had, else the first free one of the pool, else (the
    /// pool being full) one kept for a device that is no longer in `present`.
    pub fn assign(
        &mut self,
        device: &str,
        pool: &[SocketAddr],
        present: &HashSet<&str>,
    ) -> Option<SocketAddr> {
        if let Some(a) = self.map.get(device).filter(|a| pool.contains(a)) {
            return Some(*a);
        }
        let used: HashSet<SocketAddr> = self.map.values().copied().collect();
        let addr = match pool.iter().find(|a| !used.contains(a)).copied() {
            Some(a) => a,
            None => {
                let (old, a) = self
                    .map
                    .iter()
                    .find(|(d, a)| !present.contains(d.as_str()) && pool.contains(a))
                    .map(|(d, a)| (d.clone(), *a))?;
                self.map.remove(&old);
                a
            }
        };
        self.map.insert(device.to_string(), addr);
        self.changed = true;
        Some(addr)
    }

    /// Writes the state file if anything changed (to a temporary file, private to the user,
    /// then renamed).
    pub fn save(&mut self) {
        if !self.changed {
            return;
        }
        let text = serde_json::to_string_pretty(&self.map).expect("a map of strings serializes");
        let result = crate::private_file::replace(&self.path, text.as_bytes());
        match result {
            Ok(()) => self.changed = false,
            Err(e) => {
                tracing::warn!(file = %self.path.display(), error = %e, "cannot save discovery state")
            }
        }
    }
}

/// A machine a listing found.
#[derive(Clone, Debug)]
pub struct Found {
    /// Its stable identity (device id, domain UUID): the key of its address and its BMC.
    pub id: String,
    /// The name its BMC wants (host name, domain name); empty: its id.
    pub name: String,
}

/// What a discovery lists its machines with.
pub enum Lister {
    /// The Metal API client of the discovery's account.
    Metal(Arc<MetalApi>),
    /// The connection of the discovery's libvirt URI (shared with its BMCs).
    Libvirt(Arc<Hypervisor>),
}

impl Lister {
    /// The lister of `d`, from the process's shared parts.
    pub fn of(shared: &mut Resources, d: &DiscoveryConfig) -> Lister {
        match &d.source {
            DiscoverySource::Metal(m) => {
                Lister::Metal(backend_metal::config::api(shared, &m.metal))
            }
            DiscoverySource::Libvirt(l) => {
                Lister::Libvirt(backend_libvirt::config::hypervisor(shared, &l.uri))
            }
        }
    }

    /// The machines of the source now (within about `budget` for a Metal project's pages).
    pub async fn list(&self, d: &DiscoveryConfig, budget: Duration) -> Result<Vec<Found>, String> {
        match (self, &d.source) {
            (Lister::Metal(api), DiscoverySource::Metal(m)) => {
                let deadline = tokio::time::Instant::now() + budget;
                let devices = api
                    .project_devices(&m.project_id, &m.tag, (m.per_page, m.max_devices), deadline)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(devices
                    .into_iter()
                    .filter(|dev| dev.state.as_deref() != Some("deleted"))
                    .map(|dev| Found {
                        name: dev.hostname.unwrap_or_default(),
                        id: dev.id,
                    })
                    .collect())
            }
            (Lister::Libvirt(hv), DiscoverySource::Libvirt(l)) => {
                let domains = backend_libvirt::discover::list(hv, &l.filter, l.deadline)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(domains
                    .into_iter()
                    .map(|d| Found {
                        id: d.uuid,
                        name: d.name,
                    })
                    .collect())
            }
            _ => Err("the discovery's lister is not of its source".into()),
        }
    }
}

/// A discovered machine and the BMC it gets.
pub struct Planned {
    /// The BMC's name: the machine's name, or with the short id if another BMC has that name.
    pub name: String,
    /// The machine's id (device UUID, domain UUID).
    pub device_id: String,
    /// Its address, or `None` if the pool is exhausted.
    pub addr: Option<SocketAddr>,
}

/// The BMCs for those of `devices` that are in the discovery's shard: those already served
/// (`serving`, id to name) keep their names; new ones avoid the names in `taken` and those.
/// Another shard's machines count as absent, so their old addresses (from before a change of
/// the shard count) are reclaimed when the pool is full.
pub fn plan(
    d: &DiscoveryConfig,
    devices: &[Found],
    assignments: &mut Assignments,
    taken: &HashSet<String>,
    serving: &HashMap<String, String>,
) -> Vec<Planned> {
    let mut names = taken.clone();
    names.extend(serving.values().cloned());
    let mut out = Vec::new();
    let live = |dev: &&Found| safe_name(&dev.id) && d.shard.owns(&dev.id);
    let present: HashSet<&str> = devices.iter().filter(live).map(|d| d.id.as_str()).collect();
    for dev in devices.iter().filter(live) {
        let base = Some(dev.name.clone())
            .filter(|h| safe_name(h))
            .unwrap_or_else(|| dev.id.clone());
        let name = if let Some(n) = serving.get(&dev.id) {
            n.clone()
        } else if names.contains(&base) {
            format!("{base}-{}", dev.id.chars().take(8).collect::<String>())
        } else {
            base
        };
        names.insert(name.clone());
        out.push(Planned {
            addr: assignments.assign(&dev.id, &d.pool, &present),
            name,
            device_id: dev.id.clone(),
        });
    }
    out
}

/// Whether a device's id or host name (which the Metal API gives) may name a BMC: it becomes
/// part of file names (the console log `console/NAME.log`), of log lines and of URLs (the
/// device id). Letters, digits, `-`, `_` and `.`, not starting with a dot, at most 253
/// characters (a DNS name's length); a device whose id is not is not served, a host name that
/// is not gives way to the device id.
pub fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A running discovery, as its owner holds it.
pub struct Discovery {
    task: tokio::task::AbortHandle,
    /// Device id → name of the BMCs it started; `None` once it is stopped.
    mine: Arc<Mutex<Option<HashMap<String, String>>>>,
}

impl Discovery {
    /// The BMCs it started: device id → name.
    pub fn bmcs(&self) -> HashMap<String, String> {
        self.mine
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_default()
    }

    /// Stops the discovery and hands over the BMCs it started (device id → name), which keep
    /// serving. Call it holding the fleet's membership lock ([`Fleet::lock_membership`]): the
    /// discovery is then between two listings, and never applies another.
    pub fn stop(self) -> HashMap<String, String> {
        self.task.abort();
        self.mine
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default()
    }
}

/// Starts one discovery, listing its source with `lister`, in `span`. It takes over `inherited`
/// (device id → BMC name: the BMCs of the discovery it replaces), which keep serving as they
/// are until its first listing; that restarts them with its settings, or stops those whose
/// device it does not serve.
pub fn spawn(
    fleet: Arc<Fleet>,
    lister: Lister,
    d: DiscoveryConfig,
    inherited: HashMap<String, String>,
    span: tracing::Span,
) -> Discovery {
    let stale: HashSet<String> = inherited.keys().cloned().collect();
    let mine = Arc::new(Mutex::new(Some(inherited)));
    let task = tokio::spawn(run(fleet, lister, d, mine.clone(), stale).instrument(span));
    Discovery {
        task: task.abort_handle(),
        mine,
    }
}

/// Lists the source every `refresh` and applies each listing, until stopped.
async fn run(
    fleet: Arc<Fleet>,
    lister: Lister,
    d: DiscoveryConfig,
    mine: Arc<Mutex<Option<HashMap<String, String>>>>,
    mut stale: HashSet<String>,
) {
    let mut assignments = Assignments::load(&d.state_file);
    let metrics = telemetry::discovery(&d.name);
    loop {
        match lister.list(&d, Duration::from_secs(120)).await {
            Ok(devices) => {
                let _changing = fleet.lock_membership().await;
                let mut held = mine.lock().unwrap_or_else(|e| e.into_inner());
                // Stopped while listing: its BMCs are someone else's now.
                let Some(mine) = held.as_mut() else { return };
                let applied = apply(&fleet, &d, &devices, &mut assignments, mine, &mut stale);
                metrics.listed(devices.len(), applied.planned);
                metrics.unserved(applied.unserved.len() + applied.failed.len());
                applied.log(devices.len());
            }
            Err(e) => {
                metrics.failed();
                tracing::warn!(error = ?e.to_string(), "cannot list the machines; keeping the BMCs as they are")
            }
        }
        tokio::time::sleep(d.refresh).await;
    }
}

/// How many device ids a summary line names, of each kind.
const NAMED_IN_SUMMARY: usize = 5;

/// What one listing did: said in one summary line ([`Applied::log`]), however many devices it
/// held, and counted in the discovery's metrics.
#[derive(Debug, Default)]
pub struct Applied {
    /// Devices of this shard in the listing.
    pub planned: usize,
    /// BMCs started.
    pub started: usize,
    /// BMCs restarted with new settings.
    pub restarted: usize,
    /// BMCs stopped (their devices gone).
    pub stopped: usize,
    /// Devices not served: no free address in the pool (device ids).
    pub unserved: Vec<String>,
    /// Devices whose BMC could not be started or restarted (device id, error).
    pub failed: Vec<(String, String)>,
}

impl Applied {
    /// One line for the listing: a warning when a device is not served, at debug level when
    /// nothing changed (every `refresh_s`), else at info level. Each change of one BMC has its
    /// own line as well; a device that stays unserved has none, listing after listing.
    fn log(&self, listed: usize) {
        let first = |v: &mut dyn Iterator<Item = &String>| -> Vec<String> {
            v.take(NAMED_IN_SUMMARY).cloned().collect()
        };
        let unserved = first(&mut self.unserved.iter());
        let failed = first(&mut self.failed.iter().map(|(d, _)| d));
        let first_error = self.failed.first().map(|(_, e)| e.as_str());
        let changed = self.started + self.restarted + self.stopped > 0;
        if !self.unserved.is_empty() || !self.failed.is_empty() {
            tracing::warn!(
                listed,
                served = self
                    .planned
                    .saturating_sub(self.unserved.len() + self.failed.len()),
                started = self.started,
                restarted = self.restarted,
                stopped = self.stopped,
                no_free_address = self.unserved.len(),
                ?unserved,
                failed = self.failed.len(),
                failed_devices = ?failed,
                ?first_error,
                "discovery listing applied: some devices are not served (no free address in the listen pool, or their BMC failed to start)"
            );
        } else if changed {
            tracing::info!(
                listed,
                served = self.planned,
                started = self.started,
                restarted = self.restarted,
                stopped = self.stopped,
                "discovery listing applied"
            );
        } else {
            tracing::debug!(
                listed,
                served = self.planned,
                "discovery listing applied: no change"
            );
        }
    }
}

/// Applies one listing: stops the BMCs of devices gone, restarts those in `stale` (taken over
/// from the discovery this one replaced) with this one's settings, and starts new ones.
fn apply(
    fleet: &Fleet,
    d: &DiscoveryConfig,
    devices: &[Found],
    assignments: &mut Assignments,
    mine: &mut HashMap<String, String>,
    stale: &mut HashSet<String>,
) -> Applied {
    let mut applied = Applied::default();
    // Our own BMCs' names are among these; `plan` keeps them for their devices.
    let taken: HashSet<String> = fleet.names().into_iter().collect();
    let planned = plan(d, devices, assignments, &taken, mine);
    // Gone devices first: that frees their names and addresses for new ones.
    let present: HashSet<&String> = planned.iter().map(|p| &p.device_id).collect();
    let gone: Vec<(String, String)> = mine
        .iter()
        .filter(|(dev, _)| !present.contains(dev))
        .map(|(a, b)| (a.clone(), b.clone()))
        .collect();
    for (dev, name) in gone {
        fleet.stop(&name);
        mine.remove(&dev);
        stale.remove(&dev);
        applied.stopped += 1;
        tracing::info!(bmc = ?name, device = ?dev, "device gone (untagged, deleted, or its domain undefined): BMC stopped");
    }
    for p in &planned {
        let restart = stale.contains(&p.device_id);
        if mine.contains_key(&p.device_id) && !restart {
            continue;
        }
        let Some(addr) = p.addr else {
            // Counted and summed up once per listing (not a line per device and listing).
            applied.unserved.push(p.device_id.clone());
            if restart {
                fleet.stop(&p.name);
                mine.remove(&p.device_id);
                stale.remove(&p.device_id);
            }
            continue;
        };
        let c = d.bmc(&p.name, &p.device_id, addr);
        if restart {
            match fleet.restart(c) {
                Ok(()) => {
                    applied.restarted += 1;
                    tracing::info!(bmc = ?p.name, device = ?p.device_id, %addr, "BMC restarted with the discovery's new settings");
                    stale.remove(&p.device_id);
                }
                Err(e) => {
                    applied.failed.push((p.device_id.clone(), e.to_string()));
                    tracing::debug!(device = ?p.device_id, error = %e, "cannot restart the BMC with the discovery's new settings: it keeps its old ones until the next listing")
                }
            }
            continue;
        }
        match fleet.start(c) {
            Ok(()) => {
                applied.started += 1;
                tracing::info!(bmc = ?p.name, device = ?p.device_id, %addr, "device discovered: BMC started");
                mine.insert(p.device_id.clone(), p.name.clone());
            }
            Err(e) => {
                applied.failed.push((p.device_id.clone(), e.to_string()));
                tracing::debug!(device = ?p.device_id, error = %e, "cannot start the BMC of a discovered device")
            }
        }
    }
    assignments.save();
    applied.planned = planned.len();
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 19 (found by reading): names from the Metal API go into file paths.
    #[test]
    fn only_plain_names_from_the_api_name_a_bmc() {
        for ok in ["node-1", "a.b_c", "8f1a0c2e-7d4b-4c1e-9a55-0123456789ab"] {
            assert!(safe_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../../etc/cron.d/x",
            "a/b",
            "x\nFORGED",
            "é",
            ".hidden",
        ] {
            assert!(!safe_name(bad), "{bad:?}");
        }
        assert!(!safe_name(&"a".repeat(254)));
    }

    #[test]
    fn addresses_are_kept_and_reclaimed_only_when_the_pool_is_full() {
        let dir = std::env::temp_dir().join(format!("itm-assign-{}", std::process::id()));
        let mut a = Assignments::load(&dir);
        let pool: Vec<SocketAddr> = ["127.0.0.1:1", "127.0.0.1:2"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let all: HashSet<&str> = ["a", "b", "c"].into_iter().collect();
        assert_eq!(a.assign("a", &pool, &all), Some(pool[0]));
        assert_eq!(a.assign("b", &pool, &all), Some(pool[1]));
        assert_eq!(a.assign("a", &pool, &all), Some(pool[0]), "kept");
        assert_eq!(a.assign("c", &pool, &all), None, "full, nobody gone");
        let without_b: HashSet<&str> = ["a", "c"].into_iter().collect();
        assert_eq!(
            a.assign("c", &pool, &without_b),
            Some(pool[1]),
            "b's address reclaimed"
        );
        a.save();
        let b = Assignments::load(&dir);
        assert_eq!(b.map.get("c"), Some(&pool[1]));
        let _ = std::fs::remove_file(&dir);
    }
}
