//! `serve`: says what in the configuration is weaker than the defaults, starts every configured
//! BMC (all or none), the session expiry timer, and the discoveries, which take their Metal API
//! client from the backend factory (shared with the BMCs of the same account) and add and remove
//! BMCs in the fleet.

use crate::config::Config;
use crate::factory::BackendFactory;
use crate::runtime::Fleet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Binds every configured BMC's socket (all or none), starts the discoveries, then serves until
/// SIGINT or SIGTERM, and takes the backends' shutdown steps.
pub async fn serve(config: Config) -> std::io::Result<()> {
    for (who, warning) in config.warnings() {
        tracing::warn!(config = %who, "weakened setting: {warning}");
    }
    let factory = Arc::new(Mutex::new(BackendFactory::default()));
    let fleet = Arc::new(Fleet::new(factory.clone()));
    fleet.keep_sel_in(
        crate::state::open_sel(&config.state)?,
        config.state.sel_capacity,
    );
    for c in config.bmcs {
        fleet.start(c).await?;
    }
    let f = fleet.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            f.expire(Instant::now());
        }
    });
    for d in config.discovery {
        let api = {
            let mut factory = factory.lock().unwrap_or_else(|e| e.into_inner());
            backend_metal::config::api(factory.shared(), &d.metal)
        };
        let span = tracing::info_span!("discovery", name = %d.name);
        tokio::spawn(crate::discovery::run(fleet.clone(), api, d).instrument(span));
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    // The backends' shutdown steps (Redfish sessions deleted), a few seconds for all.
    let steps = factory
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .shared()
        .take_shutdown_steps();
    let all = futures_join(steps.into_iter().map(|step| tokio::spawn(step())).collect());
    if tokio::time::timeout(Duration::from_secs(3), all)
        .await
        .is_err()
    {
        tracing::warn!("shutdown steps did not finish in 3 s");
    }
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM (systemd's stop).
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted"),
        _ = terminated => tracing::info!("terminated"),
    }
}

/// Waits for every task.
async fn futures_join(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}
