//! Routing: a [`Backend`] made of several, each operation carried out by the backend named for
//! it (hard power by the cloud API, soft off and sensors over SSH, ...). A route may be a chain:
//! the next backend is tried when one fails; for soft off, the next one also powers the machine
//! off hard when the graceful way has not brought it down by the deadline.

use crate::backend::{
    Backend, BackendError, BackendResult, BootOverride, Console, Inventory, MediaInsert, MediaSlot,
    PowerAction, PowerState, Requester, SensorReading,
};
use async_trait::async_trait;
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// An operation a route can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Power status (Get Chassis Status).
    PowerStatus,
    /// Power on.
    On,
    /// Hard power off.
    Off,
    /// Power cycle.
    Cycle,
    /// Hard reset.
    Reset,
    /// Soft off.
    Soft,
    /// Diagnostic interrupt.
    Diag,
    /// Boot device.
    Boot,
    /// Chassis identify.
    Identify,
    /// Sensors.
    Sensors,
    /// FRU and system GUID.
    Inventory,
    /// Serial console.
    Console,
    /// Commands relayed whole.
    Relay,
    /// Virtual media: insert, eject, and netbooting the iPXE endpoint.
    Media,
}

impl Operation {
    /// Every operation, in the order `check-config` prints them.
    pub const ALL: [Operation; 14] = [
        Operation::PowerStatus,
        Operation::On,
        Operation::Off,
        Operation::Cycle,
        Operation::Reset,
        Operation::Soft,
        Operation::Diag,
        Operation::Boot,
        Operation::Identify,
        Operation::Sensors,
        Operation::Inventory,
        Operation::Console,
        Operation::Relay,
        Operation::Media,
    ];

    /// The key in `[bmc.routes]`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::PowerStatus => "power_status",
            Operation::On => "on",
            Operation::Off => "off",
            Operation::Cycle => "cycle",
            Operation::Reset => "reset",
            Operation::Soft => "soft",
            Operation::Diag => "diag",
            Operation::Boot => "boot",
            Operation::Identify => "identify",
            Operation::Sensors => "sensors",
            Operation::Inventory => "inventory",
            Operation::Console => "console",
            Operation::Relay => "relay",
            Operation::Media => "media",
        }
    }

    fn of(action: PowerAction) -> Operation {
        match action {
            PowerAction::On => Operation::On,
            PowerAction::Off => Operation::Off,
            PowerAction::Cycle => Operation::Cycle,
            PowerAction::Reset => Operation::Reset,
            PowerAction::Soft => Operation::Soft,
            PowerAction::Diag => Operation::Diag,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which backends carry out each operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteTable {
    /// The backend for operations without a route of their own.
    pub default: String,
    /// Routes: a chain of backend names per operation.
    pub routes: BTreeMap<Operation, Vec<String>>,
    /// For a soft-off chain: how long the graceful way has to bring the machine down.
    pub soft_deadline: Duration,
}

impl RouteTable {
    /// The chain for `op`.
    pub fn chain(&self, op: Operation) -> Vec<&str> {
        match self.routes.get(&op) {
            Some(c) if !c.is_empty() => c.iter().map(String::as_str).collect(),
            _ => vec![self.default.as_str()],
        }
    }
}

/// Runs `$call` on each backend `$b` of the route of `$op` until one succeeds; the last error
/// otherwise.
macro_rules! first_ok {
    ($inner:expr, $op:expr, |$b:ident| $call:expr) => {{
        let chain = $inner.chain($op);
        let mut last = BackendError::NotSupported;
        for (i, (name, $b)) in chain.iter().enumerate() {
            match $call.await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    $inner.failed($op, name, &e, i + 1 < chain.len());
                    last = e;
                }
            }
        }
        Err(last)
    }};
}

struct Inner {
    bmc: String,
    table: RouteTable,
    backends: BTreeMap<String, Arc<dyn Backend>>,
    /// Bumped by every power action: a pending soft-off fallback gives up when it changes (the
    /// operator powered the machine on again, or asked for something else).
    power_generation: std::sync::atomic::AtomicU64,
}

/// A backend that routes each operation to the backends its table names.
pub struct Router(Arc<Inner>);

impl Router {
    /// A router over `backends` (by name); every name in `table` must be among them.
    pub fn new(
        bmc: &str,
        table: RouteTable,
        backends: BTreeMap<String, Arc<dyn Backend>>,
    ) -> Result<Router, String> {
        for op in Operation::ALL {
            for name in table.chain(op) {
                if !backends.contains_key(name) {
                    return Err(format!(
                        "route {op} names backend {name:?}, which is not configured"
                    ));
                }
            }
        }
        Ok(Router(Arc::new(Inner {
            bmc: bmc.to_string(),
            table,
            backends,
            power_generation: std::sync::atomic::AtomicU64::new(0),
        })))
    }
}

impl Inner {
    fn chain(&self, op: Operation) -> Vec<(&str, &Arc<dyn Backend>)> {
        self.table
            .chain(op)
            .into_iter()
            .map(|n| (n, &self.backends[n]))
            .collect()
    }

    /// The backend of virtual media: the first of its route (a medium lives in one place,
    /// so there is no falling back to another).
    fn media(&self) -> &Arc<dyn Backend> {
        self.chain(Operation::Media)[0].1
    }

    fn failed(&self, op: Operation, name: &str, e: &BackendError, more: bool) {
        if more && *e == BackendError::NotSupported {
            // A backend that cannot do it at all (declared absent): routing past it is the plan.
            tracing::debug!(operation = %op, backend = name, "not supported: trying the next of the route");
        } else if more {
            tracing::warn!(operation = %op, backend = name, error = ?e.to_string(), "backend failed: trying the next of the route");
        }
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        first_ok!(self, Operation::PowerStatus, |b| b.power_state())
    }
}

#[async_trait]
impl Backend for Router {
    fn kind(&self) -> &'static str {
        "routed"
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        self.0.power_state().await
    }

    fn offers(&self, action: PowerAction) -> bool {
        self.0
            .chain(Operation::of(action))
            .iter()
            .any(|(_, b)| b.offers(action))
    }

    async fn power(&self, action: PowerAction, who: &Requester) -> BackendResult<()> {
        use std::sync::atomic::Ordering;
        let generation = self.0.power_generation.fetch_add(1, Ordering::SeqCst) + 1;
        let op = Operation::of(action);
        let chain = self.0.chain(op);
        if op != Operation::Soft || chain.len() < 2 {
            return first_ok!(self.0, op, |b| b.power(action, who));
        }
        // Soft off with a fallback: the graceful way first; if it fails, or has not brought the
        // machine down by the deadline, the next backend powers it off hard. A backend that has
        // no soft off at all (not supported) hands the graceful way itself to the next.
        let mut graceful = 0;
        let mut result = chain[0].1.power(PowerAction::Soft, who).await;
        while result == Err(BackendError::NotSupported) && graceful + 1 < chain.len() {
            graceful += 1;
            result = chain[graceful].1.power(PowerAction::Soft, who).await;
        }
        let first = chain[graceful].0;
        match result {
            Ok(()) => {
                let inner = self.0.clone();
                let who = who.clone();
                let deadline = inner.table.soft_deadline;
                let first = first.to_string();
                tokio::spawn(async move {
                    let superseded =
                        |i: &Inner| i.power_generation.load(Ordering::SeqCst) != generation;
                    let until = tokio::time::Instant::now() + deadline;
                    while tokio::time::Instant::now() < until {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        if superseded(&inner) {
                            tracing::info!(bmc = %inner.bmc, "another power action came: the soft-off fallback stands down");
                            return;
                        }
                        if inner.power_state().await == Ok(PowerState::Off) {
                            tracing::info!(bmc = %inner.bmc, backend = %first, "soft off done by the graceful route");
                            return;
                        }
                    }
                    if superseded(&inner) {
                        return;
                    }
                    let chain = inner.chain(Operation::Soft);
                    for (name, b) in chain.iter().skip(graceful + 1) {
                        tracing::warn!(bmc = %inner.bmc, graceful = %first, fallback = name, ?deadline, %who, "still on after the soft-off deadline: powering off hard");
                        match b.power(PowerAction::Off, &who).await {
                            Ok(()) => return,
                            Err(e) => {
                                tracing::warn!(bmc = %inner.bmc, backend = name, error = ?e.to_string(), "hard power off failed")
                            }
                        }
                    }
                });
                Ok(())
            }
            Err(e) => {
                tracing::warn!(backend = first, error = ?e.to_string(), "soft off failed: powering off hard");
                let mut last = e;
                for (_, b) in chain.iter().skip(graceful + 1) {
                    match b.power(PowerAction::Off, who).await {
                        Ok(()) => return Ok(()),
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
        }
    }

    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        who: &Requester,
    ) -> BackendResult<()> {
        first_ok!(self.0, Operation::Boot, |b| b.set_boot_override(boot, who))
    }

    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        first_ok!(self.0, Operation::Boot, |b| b.boot_override())
    }

    async fn identify(&self, seconds: Option<u8>, who: &Requester) -> BackendResult<()> {
        first_ok!(self.0, Operation::Identify, |b| b.identify(seconds, who))
    }

    async fn sensors(&self) -> BackendResult<Vec<SensorReading>> {
        first_ok!(self.0, Operation::Sensors, |b| b.sensors())
    }

    async fn inventory(&self) -> BackendResult<Inventory> {
        first_ok!(self.0, Operation::Inventory, |b| b.inventory())
    }

    async fn console(&self, who: &Requester) -> BackendResult<Box<dyn Console>> {
        first_ok!(self.0, Operation::Console, |b| b.console(who))
    }

    fn boot_read_back(&self) -> bool {
        self.0.chain(Operation::Boot)[0].1.boot_read_back()
    }

    fn media_slots(&self) -> &'static [MediaSlot] {
        self.0.media().media_slots()
    }

    async fn insert_media(
        &self,
        slot: MediaSlot,
        media: &MediaInsert,
        ipxe_url: Option<&str>,
        who: &Requester,
    ) -> BackendResult<()> {
        self.0
            .media()
            .insert_media(slot, media, ipxe_url, who)
            .await
    }

    async fn eject_media(&self, slot: MediaSlot, who: &Requester) -> BackendResult<()> {
        self.0.media().eject_media(slot, who).await
    }

    fn boots_ipxe(&self) -> bool {
        self.0.media().boots_ipxe()
    }

    async fn boot_ipxe(&self, url: &str, who: &Requester) -> BackendResult<String> {
        self.0.media().boot_ipxe(url, who).await
    }

    async fn restore_boot(&self, note: &str, who: &Requester) -> BackendResult<()> {
        self.0.media().restore_boot(note, who).await
    }

    fn relays(&self, netfn: NetFn, cmd: u8) -> Option<Privilege> {
        let (_, b) = self.0.chain(Operation::Relay)[0];
        b.relays(netfn, cmd)
    }

    async fn relay(
        &self,
        netfn: NetFn,
        cmd: u8,
        data: &[u8],
        who: &Requester,
    ) -> BackendResult<(CompletionCode, Vec<u8>)> {
        let (_, b) = self.0.chain(Operation::Relay)[0];
        b.relay(netfn, cmd, data, who).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A backend that records what it is asked and cannot do what `lacks` names.
    struct Stub {
        lacks: Vec<&'static str>,
        calls: Arc<Mutex<Vec<String>>>,
    }

    #[async_trait]
    impl Backend for Stub {
        fn kind(&self) -> &'static str {
            "stub"
        }
        async fn power_state(&self) -> BackendResult<PowerState> {
            if self.lacks.contains(&"power_status") {
                return Err(BackendError::NotSupported);
            }
            self.calls.lock().unwrap().push("status".into());
            Ok(PowerState::On)
        }
        fn offers(&self, action: PowerAction) -> bool {
            !self.lacks.contains(&action.name())
        }
        async fn power(&self, action: PowerAction, _: &Requester) -> BackendResult<()> {
            if self.lacks.contains(&action.name()) {
                return Err(BackendError::NotSupported);
            }
            self.calls.lock().unwrap().push(action.name().into());
            Ok(())
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
    }

    fn who() -> Requester {
        Requester {
            user: "admin".into(),
            peer: "127.0.0.1:1".parse().unwrap(),
            bmc: "n".into(),
        }
    }

    #[tokio::test]
    async fn an_unsupported_operation_moves_on_to_the_next_backend() {
        let (a, b) = (
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(Mutex::new(Vec::new())),
        );
        let backends: BTreeMap<String, Arc<dyn Backend>> = BTreeMap::from([
            (
                "a".to_string(),
                Arc::new(Stub {
                    lacks: vec!["power_status", "soft"],
                    calls: a.clone(),
                }) as Arc<dyn Backend>,
            ),
            (
                "b".to_string(),
                Arc::new(Stub {
                    lacks: vec![],
                    calls: b.clone(),
                }) as Arc<dyn Backend>,
            ),
        ]);
        let chain = vec!["a".to_string(), "b".to_string()];
        let table = RouteTable {
            default: "a".into(),
            routes: BTreeMap::from([
                (Operation::PowerStatus, chain.clone()),
                (Operation::Soft, chain),
            ]),
            soft_deadline: Duration::from_secs(60),
        };
        let r = Router::new("n", table, backends).unwrap();
        assert_eq!(r.power_state().await, Ok(PowerState::On));
        // The first has no soft off at all: the next does the graceful off, not a hard one.
        r.power(PowerAction::Soft, &who()).await.unwrap();
        assert_eq!(*b.lock().unwrap(), ["status", "soft"]);
        assert!(a.lock().unwrap().is_empty());
        r.power(PowerAction::Off, &who()).await.unwrap();
        assert_eq!(
            *a.lock().unwrap(),
            ["off"],
            "off is not routed: the default"
        );
    }

    #[test]
    fn an_operation_is_offered_if_a_backend_of_its_route_offers_it() {
        let stub = |lacks: Vec<&'static str>| {
            Arc::new(Stub {
                lacks,
                calls: Arc::default(),
            }) as Arc<dyn Backend>
        };
        let backends: BTreeMap<String, Arc<dyn Backend>> = BTreeMap::from([
            ("a".to_string(), stub(vec!["soft", "diag"])),
            ("b".to_string(), stub(vec!["diag"])),
        ]);
        let table = RouteTable {
            default: "a".into(),
            routes: BTreeMap::from([(Operation::Soft, vec!["a".to_string(), "b".to_string()])]),
            soft_deadline: Duration::from_secs(60),
        };
        let r = Router::new("n", table, backends).unwrap();
        // Soft: b, second in its route, has one; diag: the default, a, has none.
        assert!(r.offers(PowerAction::Soft));
        assert!(r.offers(PowerAction::On));
        assert!(!r.offers(PowerAction::Diag));
    }
}
