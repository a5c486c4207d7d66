//! `serve`: says what in the configuration is weaker than the defaults, starts every configured
//! BMC (all or none), the session expiry timer, and the discoveries, which take their Metal API
//! client from the backend factory (shared with the BMCs of the same account) and add and remove
//! BMCs in the fleet ([`Reloader::start`]); the admin HTTP server if configured; reloads the
//! configuration on SIGHUP; and shuts down on SIGTERM or SIGINT, with the backends' shutdown
//! steps.

use crate::factory::BackendFactory;
use crate::reload::{Loaded, Reloader};
use crate::runtime::Fleet;
use crate::shutdown::{Asked, Ending, Signals, DRAIN};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Binds every configured BMC's socket (all or none), starts the discoveries, then serves until
/// a signal: SIGHUP reloads the configuration; SIGTERM or SIGINT stops the discoveries and
/// shuts the BMCs down ([`Fleet::shut_down`]), unless a second such signal comes first, and
/// takes the backends' shutdown steps (Redfish sessions deleted).
pub async fn serve(loaded: Loaded, mut signals: Signals) -> std::io::Result<Ending> {
    let config = &loaded.config;
    for (who, warning) in crate::config::grouped_warnings(&config.warnings()) {
        tracing::warn!(config = %who, "weakened setting: {warning}");
    }
    let factory = Arc::new(Mutex::new(BackendFactory::default()));
    let fleet = Arc::new(Fleet::new(factory.clone()));
    // The metrics read the fleet's session counts at each scrape.
    telemetry::sessions::watch_fleet(Arc::downgrade(&fleet) as _);
    if let Some(dir) = config.state.sel_path.parent() {
        fleet.keep_console_logs_in(dir.join("console"));
    }
    fleet.keep_media_as(ipmi_bmc::MediaSettings {
        dir: config.state.sel_path.parent().map(|d| d.join("media")),
        ipxe_base: config.ipxe.as_ref().map(|i| i.public_url.clone()),
    });
    if let Some(log) = crate::audit::AuditLog::open(&config.audit, config.audit_fail_open)? {
        fleet.keep_audit_in(Arc::new(log));
    }
    fleet.keep_sel_in(
        crate::state::open_sel(&config.state)?,
        config.state.sel_capacity,
    );
    let admin_config = config.admin.clone();
    let redfish_config = config.redfish.clone();
    let config_state_dir = config
        .state
        .sel_path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let audit_file = match &config.audit {
        crate::config::AuditTarget::File(path) => Some(path.clone()),
        _ => None,
    };
    let ipxe_config = config.ipxe.clone();
    let reloader = Arc::new(Reloader::start(fleet.clone(), factory.clone(), loaded).await?);
    // Reading the configuration left much of the heap free: give it back.
    crate::runtime::release_free_memory();
    let f = fleet.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            f.expire(Instant::now());
        }
    });
    // One budget for every HTTP server of the process (each takes a clone).
    let http_budget = http_connection_budget(&fleet, redfish_config.as_ref());
    let admin = match &admin_config {
        Some(c) => {
            let mut state = crate::admin::AdminState::new(c, fleet.clone());
            // A reload swaps the token (a rotated token file): the old one is refused at once.
            // (Taken before the state holds the reloader, which would hold it back.)
            let swapped = state.clone();
            reloader.on_admin_update(Box::new(move |c| swapped.update(c)));
            state.reloader = Some(reloader.clone());
            state.audit_log = audit_file;
            Some(crate::admin::start(c, state, http_budget.clone()).await?)
        }
        None => None,
    };
    let redfish = match &redfish_config {
        Some(c) => {
            let dir = config_state_dir.clone();
            Some(crate::redfish::start(c, fleet.clone(), &dir, http_budget.clone()).await?)
        }
        None => None,
    };
    // The status page's power states: read in the background only where a page shows them.
    let refresh = admin_config
        .as_ref()
        .map(|c| crate::power_refresh::PowerRefresh::start(&fleet, c.refresh.clone()));
    let ipxe = match &ipxe_config {
        Some(c) => Some(crate::ipxe::start(c, fleet.clone(), http_budget.clone()).await?),
        None => None,
    };
    let first = loop {
        match signals.next().await {
            Asked::Stop(s) => break s,
            // Logged, whatever its outcome.
            Asked::Reload => drop(reloader.reload("SIGHUP").await),
        }
    };
    tracing::info!("{}: shutting down", first.name());
    if let Some(r) = redfish {
        r.stop().await;
    }
    // No admin action starts during the shutdown.
    if let Some(a) = admin {
        a.stop().await;
    }
    // No backend read starts during the shutdown.
    if let Some(r) = refresh {
        r.stop().await;
    }
    if let Some(i) = ipxe {
        i.stop();
    }
    // No BMC starts or stops behind the shutdown's back: no more reloads, no discoveries.
    reloader.close().await;
    let shut_down = async {
        let drained = fleet.shut_down(DRAIN).await;
        tracing::info!(
            in_flight = drained.in_flight,
            unanswered = drained.unanswered,
            sessions_left_open = drained.sessions,
            "shut down"
        );
        backend_shutdown_steps(&factory).await;
    };
    tokio::pin!(shut_down);
    loop {
        tokio::select! {
            () = &mut shut_down => return Ok(Ending::Clean),
            asked = signals.next() => match asked {
                Asked::Stop(second) => {
                    tracing::warn!("{} again: exiting at once", second.name());
                    return Ok(Ending::Forced(second));
                }
                // Refused (and logged as such): the process is shutting down.
                Asked::Reload => drop(reloader.reload("SIGHUP").await),
            }
        }
    }
}

/// The connections every HTTP server of the process may hold together, derived from the soft
/// `RLIMIT_NOFILE` once the descriptors open now (the BMCs' sockets, the SEL, the audit log) and
/// those the fleet needs ([`crate::runtime::files_needed`]: its console logs, the backends'
/// connections and programs, a reload) are set aside (see
/// [`http_server::ConnectionBudget::from_descriptors`]).
///
/// With the BMCs' own Redfish services, each BMC's listening socket is set aside too.
fn http_connection_budget(
    fleet: &Fleet,
    redfish: Option<&crate::config::RedfishConfig>,
) -> http_server::ConnectionBudget {
    let bmcs = fleet.names().len();
    let listeners = match redfish {
        Some(r) if r.per_bmc_port.is_some() => bmcs,
        Some(_) => fleet.redfish_listens(None).own.len(),
        None => 0,
    };
    let needed = crate::runtime::files_needed(bmcs) + listeners as u64;
    let reserve = usize::try_from(needed).unwrap_or(usize::MAX);
    let budget = http_server::ConnectionBudget::from_descriptors(reserve);
    tracing::info!(
        connections = budget.size(),
        nofile = http_server::soft_nofile(),
        "HTTP connection budget"
    );
    budget
}

/// The backends' shutdown steps, a few seconds for all.
async fn backend_shutdown_steps(factory: &Mutex<BackendFactory>) {
    let steps = factory
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .shared()
        .take_shutdown_steps();
    let tasks: Vec<_> = steps.into_iter().map(|step| tokio::spawn(step())).collect();
    let all = async {
        for t in tasks {
            let _ = t.await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(3), all)
        .await
        .is_err()
    {
        tracing::warn!("shutdown steps did not finish in 3 s");
    }
}
