//! Builds each BMC's backend from its configuration, sharing what BMCs can share: one HTTP
//! client (one connection pool) for the process, and one Metal API client per endpoint and
//! token, so that a rate limit seen by one BMC holds back all that use the same account.

use crate::config::{BackendConfig, MetalBackendConfig};
use backend_metal::api::{http_client, MetalApi};
use backend_metal::{MetalBackend, SharedMetalBackend};
use backend_sim::SimBackend;
use ipmi_bmc::Backend;
use std::sync::Arc;

/// Makes backends; keep one for the life of the process.
#[derive(Default)]
pub struct BackendFactory {
    http: Option<reqwest::Client>,
    metal: Vec<(String, zeroize::Zeroizing<String>, Arc<MetalApi>)>,
}

impl BackendFactory {
    /// The backend of one BMC. Must run inside the tokio runtime (some backends start tasks).
    pub fn build(&mut self, cfg: &BackendConfig) -> Arc<dyn Backend> {
        match cfg {
            BackendConfig::Sim(sim) => Arc::new(SimBackend::new(sim.clone())),
            BackendConfig::Ipmi(c) => {
                let b = Arc::new(backend_ipmi::IpmiBackend::new(c.clone()));
                backend_ipmi::spawn_keepalive(&b);
                b
            }
            BackendConfig::Metal(m) => {
                let api = self.metal_api(m);
                Arc::new(SharedMetalBackend(MetalBackend::new(api, m.device.clone())))
            }
        }
    }

    /// The Metal API client for this endpoint and token.
    pub fn metal_api(&mut self, m: &MetalBackendConfig) -> Arc<MetalApi> {
        if let Some((_, _, api)) = self
            .metal
            .iter()
            .find(|(url, token, _)| *url == m.api_url && token.as_str() == m.token.as_str())
        {
            return api.clone();
        }
        let http = self.http.get_or_insert_with(http_client).clone();
        let api = Arc::new(MetalApi::new(http, &m.api_url, m.token.clone(), m.policy));
        self.metal
            .push((m.api_url.clone(), m.token.clone(), api.clone()));
        api
    }
}
