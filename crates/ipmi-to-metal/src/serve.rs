//! `serve`: says what in the configuration is weaker than the defaults, starts every configured
//! BMC (all or none), the session expiry timer, and the discoveries, which take their Metal API
//! client from the backend factory (shared with the BMCs of the same account) and add and remove
//! BMCs in the fleet; the admin HTTP server if configured; and the shutdown on a signal, with
//! the backends' shutdown steps.

use crate::config::Config;
use crate::factory::BackendFactory;
use crate::runtime::Fleet;
use crate::shutdown::{Ending, Signals, DRAIN};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Binds every configured BMC's socket (all or none), starts the discoveries, then serves until
/// a signal: then stops the discoveries and shuts the BMCs down ([`Fleet::shut_down`]), unless
/// a second signal comes first, and takes the backends' shutdown steps (Redfish sessions
/// deleted).
pub async fn serve(config: Config, mut signals: Signals) -> std::io::Result<Ending> {
    for (who, warning) in config.warnings() {
        tracing::warn!(config = %who, "weakened setting: {warning}");
    }
    let factory = Arc::new(Mutex::new(BackendFactory::default()));
    let fleet = Arc::new(Fleet::new(factory.clone()));
    // The metrics read the fleet's session counts at each scrape.
    telemetry::sessions::watch_fleet(Arc::downgrade(&fleet) as _);
    if let Some(dir) = config.state.sel_path.parent() {
        fleet.keep_console_logs_in(dir.join("console"));
    }
    fleet.keep_sel_in(
        crate::state::open_sel(&config.state)?,
        config.state.sel_capacity,
    );
    let pools: usize = config.discovery.iter().map(|d| d.pool.len()).sum();
    crate::runtime::raise_open_file_limit(config.bmcs.len() + pools);
    for c in config.bmcs {
        fleet.start(c).await?;
    }
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
    let mut discoveries = Vec::new();
    for d in config.discovery {
        let api = {
            let mut factory = factory.lock().unwrap_or_else(|e| e.into_inner());
            backend_metal::config::api(factory.shared(), &d.metal)
        };
        let span = tracing::info_span!("discovery", name = %d.name);
        discoveries.push(tokio::spawn(
            crate::discovery::run(fleet.clone(), api, d).instrument(span),
        ));
    }
    let admin = match &config.admin {
        Some(c) => {
            let state = crate::admin::AdminState::new(c, fleet.clone());
            Some(crate::admin::start(c, state).await?)
        }
        None => None,
    };
    let first = signals.next().await;
    tracing::info!("{}: shutting down", first.name());
    // No admin action starts during the shutdown.
    if let Some(a) = admin {
        a.stop().await;
    }
    // No BMC starts or stops behind the shutdown's back.
    for d in &discoveries {
        d.abort();
    }
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
    tokio::select! {
        () = shut_down => Ok(Ending::Clean),
        second = signals.next() => {
            tracing::warn!("{} again: exiting at once", second.name());
            Ok(Ending::Forced(second))
        }
    }
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
