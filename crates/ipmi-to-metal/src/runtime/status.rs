//! What the admin API shows of each BMC served: what its configuration said (address, backends,
//! routes, console log), kept from its start, and what it is doing now (the BMC model's status,
//! the sessions open), read when asked.

use super::{Entry, Fleet};
use crate::config::BmcConfig;
use ipmi_bmc::routing::Operation;
use ipmi_bmc::Bmc;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// What a BMC's configuration says, for the admin API.
#[derive(Debug)]
pub struct BmcInfo {
    /// Its UDP address.
    pub listen: SocketAddr,
    /// Its backends: kind and description (the default first).
    pub backends: Vec<(&'static str, String)>,
    /// Its routes, if `[bmc.routes]` is given: operation and backend chain.
    pub routes: Vec<(&'static str, Vec<String>)>,
    /// Its console log, and how many rotated files it keeps.
    pub console_log: Option<(PathBuf, u32)>,
    /// Whether its console log is written now (shared with its console task).
    pub console_log_health: Arc<crate::console_log::ConsoleLogHealth>,
}

impl BmcInfo {
    /// The description of the BMC `c` configures, whose console log is `log`.
    pub fn of(c: &BmcConfig, log: Option<PathBuf>) -> BmcInfo {
        let backends = std::iter::once(&c.backend)
            .chain(&c.extra)
            .map(|b| (b.kind(), b.describe()))
            .collect();
        let routes = c.routes.as_ref().map_or_else(Vec::new, |t| {
            Operation::ALL
                .iter()
                .map(|op| {
                    let chain = t.chain(*op).into_iter().map(String::from).collect();
                    (op.name(), chain)
                })
                .collect()
        });
        BmcInfo {
            listen: c.listen,
            backends,
            routes,
            console_log: log.map(|p| (p, c.console.log_keep)),
            console_log_health: Arc::default(),
        }
    }
}

/// One BMC served, as the admin API shows it.
pub struct BmcView {
    /// Its name.
    pub name: String,
    /// What its configuration says.
    pub info: Arc<BmcInfo>,
    /// The BMC model (for its status, and for power actions).
    pub bmc: Arc<Bmc>,
    /// Sessions open now.
    pub sessions: usize,
    /// Its console, for the status page's live console.
    pub console: crate::console_watch::LiveConsole,
}

impl Fleet {
    /// Every BMC served, by name.
    pub fn views(&self) -> Vec<BmcView> {
        let mut views: Vec<BmcView> = self
            .entries()
            .into_iter()
            .map(|(name, running, info)| view(name, &running, info))
            .collect();
        views.sort_by(|a, b| a.name.cmp(&b.name));
        views
    }

    /// Every BMC served: name, model and what its configuration says, in no order (for the
    /// background power refresh: no session count read).
    pub fn models(&self) -> Vec<(String, Arc<Bmc>, Arc<BmcInfo>)> {
        self.entries()
            .into_iter()
            .map(|(name, running, info)| (name, running.bmc.clone(), info))
            .collect()
    }

    /// The entries copied out: the fleet's lock only while copying them (requests wait for it
    /// no longer than that).
    fn entries(&self) -> Vec<(String, Arc<super::Running>, Arc<BmcInfo>)> {
        self.bmcs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(n, e)| (n.clone(), e.running.clone(), e.info.clone()))
            .collect()
    }

    /// The BMC served under `name`.
    pub fn view(&self, name: &str) -> Option<BmcView> {
        let (running, info) = {
            let bmcs = self.bmcs.lock().unwrap_or_else(|e| e.into_inner());
            let e: &Entry = bmcs.get(name)?;
            (e.running.clone(), e.info.clone())
        };
        Some(view(name.to_string(), &running, info))
    }
}

fn view(name: String, running: &super::Running, info: Arc<BmcInfo>) -> BmcView {
    BmcView {
        name,
        info,
        bmc: running.bmc.clone(),
        sessions: running.server().active_sessions(),
        console: crate::console_watch::LiveConsole {
            watch: running.console.watch.clone(),
            server: running.server.clone(),
        },
    }
}
