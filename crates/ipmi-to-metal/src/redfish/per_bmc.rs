//! Each BMC's own Redfish service: one system (that BMC), on the BMC's own address, as MAAS and
//! bmclib expect when given only a host. The address is the BMC's `redfish_listen`, or with
//! `[redfish] per_bmc_port` the IP address of its IPMI `listen` at that port (so that a fleet of
//! thousands of BMCs, each on an address of its own, discovered ones included, needs one key).
//!
//! The services follow the fleet: a task waits for the fleet's changes (a BMC started, restarted
//! with other settings, stopped, by a reload or a discovery) and starts and stops services until
//! they match ([`Fleet::redfish_listens`]). An address that cannot be bound is logged once and
//! tried again at the next change or [`RETRY`] later; the BMC's IPMI service is not affected.

use super::{Common, RedfishServer};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

/// How often an address that could not be bound is tried again.
const RETRY: Duration = Duration::from_secs(10);

/// The task that keeps the BMCs' own services in step with the fleet.
pub(super) struct PerBmc {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// The services running, by address: the BMC's name and its server.
type Running = HashMap<SocketAddr, (String, RedfishServer)>;

/// What was logged already, so that it is said once.
#[derive(Default)]
struct Failed {
    /// The addresses that could not be bound, with their BMC.
    binds: HashSet<(SocketAddr, String)>,
    /// The addresses several BMCs would share, with their names.
    shared: HashMap<SocketAddr, Vec<String>>,
}

impl PerBmc {
    /// Starts the services of the BMCs served now (returning once they listen) and the task that
    /// follows the fleet's changes.
    pub(super) async fn start(common: Common, port: Option<u16>) -> PerBmc {
        let mut changes = common.fleet.watch_changes();
        changes.mark_unchanged();
        let mut running = Running::new();
        let mut failed = Failed::default();
        reconcile(&common, port, &mut running, &mut failed).await;
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut retry = tokio::time::interval(RETRY);
            retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    r = changes.changed() => if r.is_err() { break },
                    _ = retry.tick(), if !failed.binds.is_empty() => {}
                }
                reconcile(&common, port, &mut running, &mut failed).await;
            }
            stop_all(running.into_values().map(|(_, s)| s)).await;
        });
        PerBmc { stop, task }
    }

    /// Stops every BMC's own service (each waits for its requests in progress).
    pub(super) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Stops the services that no BMC wants any more (a BMC gone, or moved to another address)
/// and starts those missing.
async fn reconcile(common: &Common, port: Option<u16>, running: &mut Running, failed: &mut Failed) {
    let listens = common.fleet.redfish_listens(port);
    for (addr, names) in &listens.shared {
        if failed.shared.get(addr) != Some(names) {
            tracing::warn!(listen = %addr, "bmcs {} would share {addr}: none of them has its own Redfish service (give them redfish_listen)", names.join(", "));
        }
    }
    failed.shared = listens.shared;
    let want = listens.own;
    let gone: Vec<SocketAddr> = running
        .iter()
        .filter(|(addr, (name, _))| want.get(addr) != Some(name))
        .map(|(addr, _)| *addr)
        .collect();
    let stopping = gone.into_iter().filter_map(|addr| {
        let (name, server) = running.remove(&addr)?;
        tracing::info!(listen = %addr, bmc = %name, "Redfish service of bmc {name:?} stopped");
        Some(server)
    });
    // Stopped before anything is started: a BMC moved to an address another one left.
    stop_all(stopping).await;
    failed
        .binds
        .retain(|(addr, name)| want.get(addr) == Some(name));
    for (addr, name) in want {
        if running.contains_key(&addr) {
            continue;
        }
        match common.serve(addr, Some(name.clone())).await {
            Ok(server) => {
                failed.binds.remove(&(addr, name.clone()));
                running.insert(addr, (name, server));
            }
            Err(e) => {
                if failed.binds.insert((addr, name.clone())) {
                    tracing::warn!(bmc = %name, "its own Redfish service: {e} (tried again every {}s)", RETRY.as_secs());
                }
            }
        }
    }
}

/// Stops `servers` together.
async fn stop_all(servers: impl Iterator<Item = RedfishServer>) {
    let mut set = tokio::task::JoinSet::new();
    for s in servers {
        set.spawn(s.stop());
    }
    while set.join_next().await.is_some() {}
}
