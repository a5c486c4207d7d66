//! Each backend the factory builds is wrapped in [`Metered`], which counts its calls by
//! operation and outcome, with their latency, into its kind's block of
//! [`telemetry::calls::CallStats`] (relaxed atomic adds), and the bytes of its serial console.
//! Everything else passes through: the kind, whether boot options are read back, what is
//! relayed.

use async_trait::async_trait;
use ipmi_bmc::{
    Backend, BackendError, BackendResult, BootOverride, Console, Inventory, MediaInsert, MediaSlot,
    PowerAction, PowerState, Requester, SensorReading,
};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use std::sync::Arc;
use std::time::Instant;
use telemetry::calls::{CallStats, Operation, Outcome};

/// A backend whose calls are counted.
pub struct Metered {
    inner: Arc<dyn Backend>,
    stats: Arc<CallStats>,
}

/// `backend`, counted under its kind.
pub fn metered(backend: Arc<dyn Backend>) -> Arc<dyn Backend> {
    Arc::new(Metered {
        stats: telemetry::calls::for_backend(backend.kind()),
        inner: backend,
    })
}

fn outcome<T>(r: &BackendResult<T>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(BackendError::Busy(_)) => Outcome::Busy,
        Err(BackendError::Timeout(_)) => Outcome::Timeout,
        Err(BackendError::InvalidState(_)) => Outcome::InvalidState,
        Err(BackendError::NotSupported) => Outcome::NotSupported,
        Err(BackendError::Failed(_)) => Outcome::Failed,
        Err(BackendError::Completion(_)) => Outcome::Completion,
    }
}

impl Metered {
    /// Counts a call of `op` begun at `start` that returned `r`, and gives `r` back.
    fn count<T>(&self, op: Operation, start: Instant, r: BackendResult<T>) -> BackendResult<T> {
        self.stats.record(op, outcome(&r), start.elapsed());
        r
    }
}

#[async_trait]
impl Backend for Metered {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        let start = Instant::now();
        let r = self.inner.power_state().await;
        self.count(Operation::PowerState, start, r)
    }

    fn offers(&self, action: PowerAction) -> bool {
        self.inner.offers(action)
    }

    async fn power(&self, action: PowerAction, who: &Requester) -> BackendResult<()> {
        let start = Instant::now();
        let r = self.inner.power(action, who).await;
        self.count(Operation::Power, start, r)
    }

    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        who: &Requester,
    ) -> BackendResult<()> {
        let start = Instant::now();
        let r = self.inner.set_boot_override(boot, who).await;
        self.count(Operation::SetBoot, start, r)
    }

    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        let start = Instant::now();
        let r = self.inner.boot_override().await;
        self.count(Operation::GetBoot, start, r)
    }

    fn boot_read_back(&self) -> bool {
        self.inner.boot_read_back()
    }

    async fn identify(&self, seconds: Option<u8>, who: &Requester) -> BackendResult<()> {
        let start = Instant::now();
        let r = self.inner.identify(seconds, who).await;
        self.count(Operation::Identify, start, r)
    }

    async fn sensors(&self) -> BackendResult<Vec<SensorReading>> {
        let start = Instant::now();
        let r = self.inner.sensors().await;
        self.count(Operation::Sensors, start, r)
    }

    async fn inventory(&self) -> BackendResult<Inventory> {
        let start = Instant::now();
        let r = self.inner.inventory().await;
        self.count(Operation::Inventory, start, r)
    }

    async fn console(&self, who: &Requester) -> BackendResult<Box<dyn Console>> {
        let start = Instant::now();
        let r = self.inner.console(who).await;
        let r = self.count(Operation::Console, start, r);
        r.map(|inner| {
            Box::new(MeteredConsole {
                inner,
                stats: self.stats.clone(),
            }) as Box<dyn Console>
        })
    }

    async fn add_sel_entry(&self, record: [u8; 16], who: &Requester) -> BackendResult<u16> {
        let start = Instant::now();
        let r = self.inner.add_sel_entry(record, who).await;
        self.count(Operation::AddSelEntry, start, r)
    }

    fn media_slots(&self) -> &'static [MediaSlot] {
        self.inner.media_slots()
    }

    async fn insert_media(
        &self,
        slot: MediaSlot,
        media: &MediaInsert,
        ipxe_url: Option<&str>,
        who: &Requester,
    ) -> BackendResult<()> {
        let start = Instant::now();
        let r = self.inner.insert_media(slot, media, ipxe_url, who).await;
        self.count(Operation::Media, start, r)
    }

    async fn eject_media(&self, slot: MediaSlot, who: &Requester) -> BackendResult<()> {
        let start = Instant::now();
        let r = self.inner.eject_media(slot, who).await;
        self.count(Operation::Media, start, r)
    }

    fn boots_ipxe(&self) -> bool {
        self.inner.boots_ipxe()
    }

    async fn boot_ipxe(&self, url: &str, who: &Requester) -> BackendResult<String> {
        let start = Instant::now();
        let r = self.inner.boot_ipxe(url, who).await;
        self.count(Operation::Media, start, r)
    }

    async fn restore_boot(&self, note: &str, who: &Requester) -> BackendResult<()> {
        let start = Instant::now();
        let r = self.inner.restore_boot(note, who).await;
        self.count(Operation::Media, start, r)
    }

    fn relays(&self, netfn: NetFn, cmd: u8) -> Option<Privilege> {
        self.inner.relays(netfn, cmd)
    }

    async fn relay(
        &self,
        netfn: NetFn,
        cmd: u8,
        data: &[u8],
        who: &Requester,
    ) -> BackendResult<(CompletionCode, Vec<u8>)> {
        let start = Instant::now();
        let r = self.inner.relay(netfn, cmd, data, who).await;
        self.count(Operation::Relay, start, r)
    }
}

/// A console whose bytes are counted.
struct MeteredConsole {
    inner: Box<dyn Console>,
    stats: Arc<CallStats>,
}

#[async_trait]
impl Console for MeteredConsole {
    async fn read(&self, buf: &mut [u8]) -> BackendResult<usize> {
        let r = self.inner.read(buf).await;
        if let Ok(n) = r {
            self.stats.console_output(n);
        }
        r
    }

    async fn write(&self, data: &[u8]) -> BackendResult<()> {
        let r = self.inner.write(data).await;
        if r.is_ok() {
            self.stats.console_input(data.len());
        }
        r
    }

    async fn send_break(&self) -> BackendResult<()> {
        self.inner.send_break().await
    }

    fn park(&self, waker: &std::task::Waker) -> bool {
        self.inner.park(waker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Answers every call at once, busy for power actions.
    struct Stub;

    #[async_trait]
    impl Backend for Stub {
        fn kind(&self) -> &'static str {
            "metered-test"
        }
        async fn power_state(&self) -> BackendResult<PowerState> {
            Ok(PowerState::On)
        }
        async fn power(&self, _: PowerAction, _: &Requester) -> BackendResult<()> {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err(BackendError::Busy("rate limited".into()))
        }
        async fn set_boot_override(
            &self,
            _: Option<BootOverride>,
            _: &Requester,
        ) -> BackendResult<()> {
            Ok(())
        }
        async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
            Ok(None)
        }
        fn boot_read_back(&self) -> bool {
            true
        }
        fn relays(&self, _: NetFn, cmd: u8) -> Option<Privilege> {
            (cmd == 0x42).then_some(Privilege::Operator)
        }
    }

    #[tokio::test]
    async fn calls_pass_through_and_are_counted_by_operation_and_outcome() {
        let b = metered(Arc::new(Stub));
        let who = Requester {
            user: "admin".into(),
            peer: "127.0.0.1:1".parse().unwrap(),
            bmc: "node".into(),
        };
        assert_eq!(b.kind(), "metered-test");
        assert!(b.boot_read_back());
        assert_eq!(b.relays(NetFn::APP, 0x42), Some(Privilege::Operator));
        assert_eq!(b.power_state().await, Ok(PowerState::On));
        assert!(matches!(
            b.power(PowerAction::On, &who).await,
            Err(BackendError::Busy(_))
        ));
        assert_eq!(b.inventory().await, Err(BackendError::NotSupported));
        let text = telemetry::render();
        for line in [
            r#"ipmi_to_metal_backend_calls_total{backend="metered-test",operation="power_state",outcome="ok"} 1"#,
            r#"ipmi_to_metal_backend_calls_total{backend="metered-test",operation="power",outcome="busy"} 1"#,
            r#"ipmi_to_metal_backend_calls_total{backend="metered-test",operation="inventory",outcome="not_supported"} 1"#,
            r#"ipmi_to_metal_backend_call_duration_seconds_bucket{backend="metered-test",operation="power",le="0.01"} 0"#,
            r#"ipmi_to_metal_backend_call_duration_seconds_count{backend="metered-test",operation="power"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
