//! Builds each BMC's backend from its configuration, with what BMCs share kept in one
//! [`Resources`] for the process (one HTTP client, one Metal API client per endpoint and token,
//! one directory for SSH control sockets: each backend kind makes its own on first use). Every
//! backend built is [`metered`]: its calls are counted for the metrics.

use crate::config::BmcConfig;
use crate::metered::metered;
use backend_config::Resources;
use ipmi_bmc::routing::Router;
use ipmi_bmc::Backend;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Makes backends; keep one for the life of the process.
#[derive(Default)]
pub struct BackendFactory {
    shared: Resources,
}

impl BackendFactory {
    /// The backend of a BMC: its one backend, or a router over all it configures. Must run
    /// inside the tokio runtime (some backends start tasks) and in the BMC's span.
    pub fn bmc(&mut self, c: &BmcConfig) -> Result<Arc<dyn Backend>, String> {
        let Some(table) = &c.routes else {
            return c.backend.build(&mut self.shared).map(metered);
        };
        let mut all = BTreeMap::new();
        for b in std::iter::once(&c.backend).chain(&c.extra) {
            all.insert(b.kind().to_string(), metered(b.build(&mut self.shared)?));
        }
        Ok(Arc::new(Router::new(&c.settings.name, table.clone(), all)?))
    }

    /// What the BMCs share, for the parts others use too (discovery's Metal API client).
    pub fn shared(&mut self) -> &mut Resources {
        &mut self.shared
    }
}
