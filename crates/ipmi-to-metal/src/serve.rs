//! `serve`: starts every configured BMC (all or none), the session expiry timer, and the
//! discoveries, which take their Metal API client from the backend factory (shared with the
//! BMCs of the same account) and add and remove BMCs in the fleet.

use crate::config::Config;
use crate::factory::BackendFactory;
use crate::runtime::Fleet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Binds every configured BMC's socket (all or none), starts the discoveries, then serves until
/// the process ends.
pub async fn serve(config: Config) -> std::io::Result<()> {
    let factory = Arc::new(Mutex::new(BackendFactory::default()));
    let fleet = Arc::new(Fleet::new(factory.clone()));
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
    for d in config.discovery {
        let api = {
            let mut factory = factory.lock().unwrap_or_else(|e| e.into_inner());
            backend_metal::config::api(factory.shared(), &d.metal)
        };
        let span = tracing::info_span!("discovery", name = %d.name);
        tokio::spawn(crate::discovery::run(fleet.clone(), api, d).instrument(span));
    }
    std::future::pending::<()>().await;
    Ok(())
}
