//! The sim backend's `[bmc.sim]` table: optional, every setting has its default
//! ([`SimConfig::default`]).

use crate::{SimBackend, SimConfig};
use backend_config::{
    BackendSettings, BmcContext, ConfigError, Kind, LongestCall, Resources, Spanned,
};
use ipmi_bmc::Backend;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// `[bmc.sim]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimToml {
    power_on_at_start: Option<bool>,
    transition_ms: Option<u64>,
    soft_off_ms: Option<u64>,
    honour_soft_off: Option<bool>,
}

/// The sim backend kind.
pub struct SimKind;

impl Kind for SimKind {
    const NAME: &'static str = "sim";
    const NEEDS: Option<&'static str> = None;
    type Table = SimToml;
    type Settings = SimConfig;

    fn configure(
        &self,
        cx: &BmcContext,
        table: Option<&Spanned<SimToml>>,
    ) -> Result<SimConfig, ConfigError> {
        let s = table.map(|t| t.get_ref());
        let d = SimConfig::default();
        Ok(SimConfig {
            name: cx.name.to_string(),
            power_on_at_start: s
                .and_then(|s| s.power_on_at_start)
                .unwrap_or(d.power_on_at_start),
            transition: s
                .and_then(|s| s.transition_ms)
                .map_or(d.transition, Duration::from_millis),
            soft_off_delay: s
                .and_then(|s| s.soft_off_ms)
                .map_or(d.soft_off_delay, Duration::from_millis),
            honour_soft_off: s
                .and_then(|s| s.honour_soft_off)
                .unwrap_or(d.honour_soft_off),
        })
    }

    /// The simulated machine answers at once: its transitions run on the clock, not in a call.
    fn longest_call(&self, _: Option<&Spanned<SimToml>>, _: &SimConfig) -> Option<LongestCall> {
        None
    }
}

impl BackendSettings for SimConfig {
    fn describe(&self) -> String {
        "sim".into()
    }

    fn build(&self, _: &mut Resources) -> Result<Arc<dyn Backend>, String> {
        Ok(Arc::new(SimBackend::new(self.clone())))
    }
}
