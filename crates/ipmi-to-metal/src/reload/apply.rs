//! Carrying a [`Plan`] out, all or nothing: first every BMC that starts or restarts is made
//! ready (its socket bound, or taken over from the BMC that gives its address up; its backend
//! built) while everything in force keeps serving; if one cannot be, the ready ones are
//! dropped and nothing has changed. Only then, with nothing left that can fail, do the
//! discoveries that end or restart stop, the ready BMCs replace the old ones, the BMCs that go
//! stop, and the new discoveries start.

use super::plan::{Begin, DiscoveryInForce, Plan};
use super::{DiscoveryChanges, ReloadError, ReloadOutcome, RunningDiscovery};
use crate::discovery::Discovery;
use crate::factory::BackendFactory;
use crate::runtime::{Fleet, Ready};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Whose a BMC that may give its name or address up is.
enum Owner<'a> {
    /// The file's: it stops or restarts anyway.
    File,
    /// A discovery's that ends or restarts (its name, the device's id).
    Discovery(&'a str, &'a str),
}

/// Applies `plan` to `fleet`, whose discoveries in force are `discoveries`; the caller holds
/// the fleet's membership lock. `warn`: say the weakened settings of what starts or restarts
/// (at start `serve` has said them all already).
pub(super) fn apply(
    fleet: &Arc<Fleet>,
    factory: &Arc<Mutex<BackendFactory>>,
    discoveries: &mut HashMap<String, RunningDiscovery>,
    plan: Plan,
    warn: bool,
) -> Result<ReloadOutcome, ReloadError> {
    // The BMCs whose name or address a starting BMC may take: the file's that stop or
    // restart, and those of the discoveries that end or restart.
    let leaving: HashSet<&str> = plan
        .begin
        .iter()
        .filter(|(_, _, b)| *b == Begin::Restart)
        .map(|(d, _, _)| d.name.as_str())
        .chain(plan.end.iter().map(String::as_str))
        .collect();
    let theirs: Vec<(&str, HashMap<String, String>)> = leaving
        .iter()
        .filter_map(|n| discoveries.get(*n).map(|d| (*n, d.handle.bmcs())))
        .collect();
    let restarting: HashSet<String> = plan
        .restart
        .iter()
        .map(|c| c.settings.name.clone())
        .collect();
    let mut releasable: HashMap<&str, Owner> = HashMap::new();
    for (d, bmcs) in &theirs {
        for (device, name) in bmcs {
            releasable.insert(name, Owner::Discovery(d, device));
        }
    }
    for name in plan
        .stop
        .iter()
        .map(String::as_str)
        .chain(restarting.iter().map(String::as_str))
    {
        releasable.insert(name, Owner::File);
    }
    // Phase one: everything that can fail, nothing that shows.
    let listens = fleet.listens();
    let mut released: HashMap<String, HashSet<String>> = HashMap::new();
    let mut release = |owner: Option<&Owner>| {
        if let Some(Owner::Discovery(d, device)) = owner {
            released
                .entry(d.to_string())
                .or_default()
                .insert(device.to_string());
        }
    };
    // Each with its weakened settings, said once it serves.
    let mut ready: Vec<(Ready, Vec<String>)> = Vec::new();
    for c in plan.start.into_iter().chain(plan.restart) {
        let name = c.settings.name.clone();
        if !restarting.contains(&name) && fleet.serves(&name) {
            match releasable.get(name.as_str()) {
                Some(owner) => release(Some(owner)),
                None => {
                    return Err(ReloadError::Refused(format!(
                        "bmc {name:?}: a BMC of that name is served already (started by a metal_discovery that stays)"
                    )))
                }
            }
        }
        let socket = match listens.get(&c.listen) {
            None => Ok(None),
            Some(holder) if *holder == name => fleet.socket_of(holder).transpose(),
            Some(holder) => match releasable.get(holder.as_str()) {
                Some(owner) => {
                    release(Some(owner));
                    fleet.socket_of(holder).transpose()
                }
                None => {
                    return Err(ReloadError::Refused(format!(
                        "bmc {name:?}: {} is served by bmc {holder:?}, which stays",
                        c.listen
                    )))
                }
            },
        }
        .map_err(|e| ReloadError::Refused(format!("bmc {name:?}: {e}")))?;
        let warnings = if warn { c.warnings.clone() } else { Vec::new() };
        let r = fleet
            .prepare(c, socket)
            .map_err(|e| ReloadError::Refused(e.to_string()))?;
        ready.push((r, warnings));
    }
    // Phase two: nothing here can fail.
    let mut out = ReloadOutcome {
        unchanged: plan.unchanged.len(),
        needs_restart: plan.needs_restart,
        ..ReloadOutcome::default()
    };
    let mut to_stop: Vec<String> = plan.stop;
    let mut inherited: HashMap<String, HashMap<String, String>> = HashMap::new();
    for name in &leaving {
        let Some(d) = discoveries.remove(*name) else {
            continue;
        };
        let mut bmcs = d.handle.stop();
        let gone = released.remove(*name).unwrap_or_default();
        if plan.end.iter().any(|n| n == name) {
            to_stop.extend(bmcs.into_values());
            continue;
        }
        for device in gone {
            if let Some(n) = bmcs.remove(&device) {
                to_stop.push(n);
            }
        }
        inherited.insert(name.to_string(), bmcs);
    }
    let mut committed = HashSet::new();
    let mut weakened: Vec<(String, String)> = Vec::new();
    for (r, warnings) in ready {
        let name = r.name().to_string();
        weakened.extend(
            warnings
                .iter()
                .map(|w| (format!("bmc {name:?}"), w.to_string())),
        );
        if fleet.commit(r) && restarting.contains(&name) {
            out.restarted.push(name.clone());
        } else {
            out.started.push(name.clone());
        }
        committed.insert(name);
    }
    let weakened: Vec<(String, &str)> = weakened
        .iter()
        .map(|(a, b)| (a.clone(), b.as_str()))
        .collect();
    for (who, w) in crate::config::grouped_warnings(&weakened) {
        tracing::warn!(config = %who, "weakened setting: {w}");
    }
    for name in to_stop {
        if !committed.contains(&name) && fleet.stop(&name) {
            out.stopped.push(name);
        }
    }
    let mut changes = DiscoveryChanges {
        stopped: plan.end,
        unchanged: plan.keep.len(),
        ..DiscoveryChanges::default()
    };
    for (d, digest, begin) in plan.begin {
        let name = d.name.clone();
        for w in d.warnings.iter().filter(|_| warn) {
            tracing::warn!(config = %format!("metal_discovery {name:?}"), "weakened setting: {w}");
        }
        let handle = start_discovery(
            fleet,
            factory,
            d.clone(),
            inherited.remove(&name).unwrap_or_default(),
        );
        discoveries.insert(
            name.clone(),
            RunningDiscovery {
                in_force: DiscoveryInForce {
                    digest,
                    state_file: d.state_file,
                },
                handle,
            },
        );
        match begin {
            Begin::Start => changes.started.push(name),
            Begin::Restart => changes.restarted.push(name),
        }
    }
    out.discoveries = changes;
    for v in [&mut out.started, &mut out.stopped, &mut out.restarted] {
        v.sort();
    }
    Ok(out)
}

/// Starts a discovery with its lister from the factory (shared with the BMCs of the same
/// account or libvirt URI), taking `inherited` over.
pub(super) fn start_discovery(
    fleet: &Arc<Fleet>,
    factory: &Arc<Mutex<BackendFactory>>,
    d: crate::config::DiscoveryConfig,
    inherited: HashMap<String, String>,
) -> Discovery {
    let lister = {
        let mut factory = factory.lock().unwrap_or_else(|e| e.into_inner());
        crate::discovery::Lister::of(factory.shared(), &d)
    };
    let span = tracing::info_span!("discovery", name = %d.name);
    crate::discovery::spawn(fleet.clone(), lister, d, inherited, span)
}
