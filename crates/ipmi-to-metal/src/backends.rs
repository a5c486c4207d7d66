//! Builds each BMC's backend from its configuration, sharing what BMCs can share: one HTTP
//! client (one connection pool) for the process, and one Metal API client per endpoint and
//! token, so that a rate limit seen by one BMC holds back all that use the same account.

use crate::config::{BackendConfig, BmcConfig, MetalBackendConfig};
use backend_command::CommandBackend;
use backend_metal::api::{http_client, MetalApi};
use backend_metal::{MetalBackend, SharedMetalBackend};
use backend_sim::SimBackend;
use backend_ssh::SshBackend;
use ipmi_bmc::routing::Router;
use ipmi_bmc::Backend;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Makes backends; keep one for the life of the process.
#[derive(Default)]
pub struct BackendFactory {
    http: Option<reqwest::Client>,
    metal: Vec<(String, zeroize::Zeroizing<String>, Arc<MetalApi>)>,
    ssh_dir: Option<PathBuf>,
}

impl BackendFactory {
    /// The backend of a BMC: its one backend, or a router over all it configures.
    pub fn bmc(&mut self, c: &BmcConfig) -> Result<Arc<dyn Backend>, String> {
        let Some(table) = &c.routes else {
            return Ok(self.build(&c.backend));
        };
        let mut all = BTreeMap::new();
        for b in std::iter::once(&c.backend).chain(&c.extra) {
            all.insert(b.kind().to_string(), self.build(b));
        }
        Ok(Arc::new(Router::new(&c.settings.name, table.clone(), all)?))
    }

    /// A private directory for the SSH master connections' sockets.
    fn ssh_dir(&mut self) -> PathBuf {
        self.ssh_dir
            .get_or_insert_with(|| {
                let dir =
                    std::env::temp_dir().join(format!("ipmi-to-metal-ssh-{}", std::process::id()));
                let _ = std::fs::create_dir_all(&dir);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
                }
                dir
            })
            .clone()
    }

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
            BackendConfig::Ssh(s) => {
                let mut s = (**s).clone();
                s.control_dir = self.ssh_dir();
                s.askpass = std::env::current_exe().ok();
                Arc::new(SshBackend::new(s))
            }
            BackendConfig::Command(c) => Arc::new(CommandBackend::new(c.clone())),
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
