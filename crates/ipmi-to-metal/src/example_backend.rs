//! A tiny backend kind, written as a backend crate would write it and registered with one line
//! in [`crate::kinds::KINDS`] (for tests only): the proof that the README's "Adding a backend"
//! names every place. Its test configures it from TOML, serves it, and has a real IPMI client
//! power it on with Chassis Control.
//!
//! ```toml
//! [bmc.example]
//! on_at_start = false    # default true
//! delay_ms = 100         # every call takes this long; default 0
//! ```

use async_trait::async_trait;
use backend_config::{
    BackendSettings, BmcContext, ConfigError, Kind, LongestCall, Resources, Spanned,
};
use ipmi_bmc::{Backend, BackendResult, BootOverride, PowerAction, PowerState, Requester};
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `[bmc.example]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleToml {
    on_at_start: Option<bool>,
    delay_ms: Option<Spanned<u64>>,
}

/// The validated settings.
#[derive(Clone)]
pub struct ExampleSettings {
    on_at_start: bool,
    delay: Duration,
}

/// The example backend kind.
pub struct ExampleKind;

impl Kind for ExampleKind {
    const NAME: &'static str = "example";
    const NEEDS: Option<&'static str> = None;
    type Table = ExampleToml;
    type Settings = ExampleSettings;

    fn configure(
        &self,
        _: &BmcContext,
        table: Option<&Spanned<ExampleToml>>,
    ) -> Result<ExampleSettings, ConfigError> {
        let t = table.map(|t| t.get_ref());
        Ok(ExampleSettings {
            on_at_start: t.and_then(|t| t.on_at_start).unwrap_or(true),
            delay: Duration::from_millis(
                t.and_then(|t| t.delay_ms.as_ref())
                    .map_or(0, |ms| *ms.get_ref()),
            ),
        })
    }

    fn longest_call(
        &self,
        table: Option<&Spanned<ExampleToml>>,
        settings: &ExampleSettings,
    ) -> Option<LongestCall> {
        Some(LongestCall {
            time: settings.delay,
            setting: "delay_ms",
            at: table.and_then(|t| t.get_ref().delay_ms.as_ref().map(|ms| ms.span())),
        })
    }
}

impl BackendSettings for ExampleSettings {
    fn describe(&self) -> String {
        format!("example (on at start: {})", self.on_at_start)
    }

    fn build(&self, _: &mut Resources) -> Result<Arc<dyn Backend>, String> {
        Ok(Arc::new(Example {
            delay: self.delay,
            on: Mutex::new(self.on_at_start),
            boot: Mutex::new(None),
        }))
    }
}

/// The example machine: a power switch behind a slow line.
struct Example {
    delay: Duration,
    on: Mutex<bool>,
    boot: Mutex<Option<BootOverride>>,
}

#[async_trait]
impl Backend for Example {
    fn kind(&self) -> &'static str {
        "example"
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        tokio::time::sleep(self.delay).await;
        Ok(if *self.on.lock().unwrap() {
            PowerState::On
        } else {
            PowerState::Off
        })
    }

    async fn power(&self, action: PowerAction, _: &Requester) -> BackendResult<()> {
        tokio::time::sleep(self.delay).await;
        *self.on.lock().unwrap() = matches!(
            action,
            PowerAction::On | PowerAction::Cycle | PowerAction::Reset
        );
        Ok(())
    }

    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        _: &Requester,
    ) -> BackendResult<()> {
        *self.boot.lock().unwrap() = boot;
        Ok(())
    }

    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        Ok(*self.boot.lock().unwrap())
    }
}

mod tests;
